"""Location kinds: real bins and the ledger's virtual places (domain.md, Ledger)."""

from __future__ import annotations

from enum import StrEnum


class LocationKind(StrEnum):
    BIN = "bin"
    RECEIVING = "receiving"
    QUARANTINE = "quarantine"
    DAMAGED = "damaged"
    SHIPPED = "shipped"
    ADJUSTMENT_LOSS = "adjustment_loss"
    ADJUSTMENT_GAIN = "adjustment_gain"
    VENDOR = "vendor"


# Places whose stock is counted on the shelf (a stock_level row); the others are the outside world
# that movements come from or go to, and have no counter.
HOLDING_KINDS: frozenset[LocationKind] = frozenset(
    {LocationKind.BIN, LocationKind.RECEIVING, LocationKind.QUARANTINE, LocationKind.DAMAGED}
)
# Only bins are available to sell; quarantine and damaged never are.
SELLABLE_KINDS: frozenset[LocationKind] = frozenset({LocationKind.BIN})
# Every warehouse gets one of each virtual location, with these codes.
VIRTUAL_KINDS: tuple[LocationKind, ...] = (
    LocationKind.RECEIVING,
    LocationKind.QUARANTINE,
    LocationKind.DAMAGED,
    LocationKind.SHIPPED,
    LocationKind.ADJUSTMENT_LOSS,
    LocationKind.ADJUSTMENT_GAIN,
    LocationKind.VENDOR,
)


def virtual_code(kind: LocationKind) -> str:
    return kind.value.upper().replace("_", "-")
