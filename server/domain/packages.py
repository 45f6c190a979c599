"""A package's life after its label is bought: one tracking number, one state machine.

    bought ──▶ labelled ──▶ handed_over ──▶ in_transit ──▶ delivered
       │          │              │
       ▼          ▼              ▼ (only with a second person's approval: the carrier has it)
     voided     voided         voided

`labelled` needs the printed label's barcode scanned onto the carton (it must match);
`handed_over` needs the dispatch scan; `in_transit` needs a carrier custody event (only that is
"shipped"); `delivered` needs the carrier's delivery event. A carrier event may skip steps the
floor did not record (a driver who scans a parcel nobody handed over still has it).
"""

from __future__ import annotations

from enum import StrEnum

from server.domain.errors import InvalidTransition

# The scan rule lives in shared/ so the bench applies the very same one; re-exported here.
from shared.tracking import tracking_matches as tracking_matches


class PackageState(StrEnum):
    BOUGHT = "bought"
    LABELLED = "labelled"
    HANDED_OVER = "handed_over"
    IN_TRANSIT = "in_transit"
    DELIVERED = "delivered"
    VOIDED = "voided"


P = PackageState

_EDGES: dict[PackageState, frozenset[PackageState]] = {
    P.BOUGHT: frozenset({P.LABELLED, P.VOIDED, P.IN_TRANSIT, P.DELIVERED}),
    P.LABELLED: frozenset({P.HANDED_OVER, P.VOIDED, P.IN_TRANSIT, P.DELIVERED}),
    P.HANDED_OVER: frozenset({P.IN_TRANSIT, P.DELIVERED, P.VOIDED}),
    P.IN_TRANSIT: frozenset({P.DELIVERED}),
    P.DELIVERED: frozenset(),
    P.VOIDED: frozenset(),
}

# Labels that may still be printed (and reprinted): the parcel has not left the building.
PRINTABLE: frozenset[PackageState] = frozenset({P.BOUGHT, P.LABELLED, P.HANDED_OVER})
# A void of these needs no second person; after handover the carrier may already hold the parcel.
FREELY_VOIDABLE: frozenset[PackageState] = frozenset({P.BOUGHT, P.LABELLED})
# Packages that count toward a shipment being complete (a voided one is replaced or dropped).
LIVE: frozenset[PackageState] = frozenset(set(P) - {P.VOIDED})


def check_package_transition(*, current: PackageState, target: PackageState) -> None:
    if target not in _EDGES[current]:
        raise InvalidTransition(
            f"a package that is {current.value.replace('_', ' ')} cannot become "
            f"{target.value.replace('_', ' ')}",
            current=current.value,
            target=target.value,
        )
