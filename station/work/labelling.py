"""The last step at the packing bench: scan each printed carrier label onto its carton.

The order is not labelled until every live package's label has been scanned back and matched
(shared.tracking: the same rule the server applies). A wrong label, another order's label, one
already scanned or something that is no label at all is refused loudly and counts nothing; each
match is a `PackageLabelled` fact the bench journals for the server.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from shared.tracking import tracking_matches
from station.work.events import Clock, Event, Head, head
from station.work.scan import (
    ORDER_NUMBER,
    TRACKING_SHAPES,
    ItemScan,
    OrderScan,
    ScanContext,
    TrackingScan,
    UnknownScan,
    read_text,
)
from station.work.verdict import Accepted, Reason, Rejected, Verdict

# The bench's own carton label (shared.labels.carton.carton_id: order number "-" box number).
_CARTON_ID = re.compile(ORDER_NUMBER.pattern + r"-[0-9]{1,4}")


@dataclass(frozen=True, kw_only=True)
class LabelPackage:
    """One parcel of the shipment the server bought: its label is what gets scanned."""

    package_id: int
    package_no: int
    tracking_number: str
    carrier: str = ""


@dataclass(frozen=True, kw_only=True)
class PackageLabelled(Event):
    package_id: int
    package_no: int
    tracking_number: str
    scanned: str  # the barcode as read: the server checks it again


@dataclass(frozen=True, kw_only=True)
class LabelScanRejected(Event):
    reason: Reason
    words: str
    raw: str


@dataclass(frozen=True, kw_only=True)
class PackageProgress:
    package: LabelPackage
    scanned: bool


class LabellingSession:
    def __init__(
        self,
        *,
        order_id: int,
        order_number: str,
        packages: Sequence[LabelPackage],
        clock: Clock,
        already_labelled: Collection[int] = (),  # package ids the server has as labelled
    ) -> None:
        if not packages:
            raise ValueError(f"order {order_number} has no package to label")
        self.order_id = order_id
        self.order_number = order_number
        self.packages = tuple(sorted(packages, key=lambda p: p.package_no))
        self._clock = clock
        self._scanned: set[int] = {p.package_id for p in packages} & set(already_labelled)
        self._events: list[Event] = []
        self._context = ScanContext(tracking_numbers=frozenset(p.tracking_number for p in packages))

    @property
    def total(self) -> int:
        return len(self.packages)

    @property
    def done(self) -> int:
        return len(self._scanned)

    @property
    def complete(self) -> bool:
        return self.done == self.total

    @property
    def next(self) -> LabelPackage | None:
        """The package whose label the bench asks for now (the lowest number not yet scanned)."""
        return next((p for p in self.packages if p.package_id not in self._scanned), None)

    def progress(self) -> tuple[PackageProgress, ...]:
        return tuple(
            PackageProgress(package=p, scanned=p.package_id in self._scanned) for p in self.packages
        )

    def drain_events(self) -> list[Event]:
        events, self._events = self._events, []
        return events

    def scan_text(self, text: str, *, symbology_id: str | None = None) -> Verdict:
        # Any of the unscanned labels may come first: cartons do not queue up in order.
        match = next(
            (p for p in self.packages
             if tracking_matches(scanned=text, tracking_number=p.tracking_number)),
            None,
        )  # fmt: skip
        if match is None:
            return self._not_a_match(text, symbology_id)
        if match.package_id in self._scanned:
            return self._reject(
                text,
                Reason.ALREADY_COMPLETE,
                f"Package {match.package_no} is already scanned: {self._ask()}",
            )
        self._scanned.add(match.package_id)
        self._events.append(
            PackageLabelled(
                **self._head(),
                package_id=match.package_id,
                package_no=match.package_no,
                tracking_number=match.tracking_number,
                scanned=text,
            )
        )
        if self.complete:
            return Accepted(message=f"All {self.total} label(s) scanned: order done")
        return Accepted(
            message=f"Package {match.package_no} labelled: {self._ask()}",
            remaining=self.total - self.done,
        )

    def _not_a_match(self, text: str, symbology_id: str | None) -> Rejected:
        t = text.strip().replace("\x1d", "")
        if len(t) >= 6 and any(
            p.tracking_number.startswith(t) or p.tracking_number.endswith(t) for p in self.packages
        ):
            # Part of one of ours: a creased or half-covered label read short. Never a match.
            return self._reject(
                text, Reason.UNKNOWN_BARCODE, "The label did not read completely: scan it again"
            )
        if _CARTON_ID.fullmatch(t):
            words = f"That is the carton label, not the shipping label: {self._ask()}"
            return self._reject(text, Reason.UNEXPECTED_SCAN, words)
        scan = read_text(text, symbology_id=symbology_id, context=self._context)
        if isinstance(scan, UnknownScan):
            return self._reject(text, Reason.UNKNOWN_BARCODE, f"Unknown barcode: {scan.reason}")
        if isinstance(scan, TrackingScan) or _looks_like_tracking(text):
            return self._reject(
                text,
                Reason.WRONG_ORDER,
                f"That label is not for order {self.order_number}: take it off. {self._ask()}",
            )
        if isinstance(scan, ItemScan | OrderScan):
            words = f"That is not the shipping label: {self._ask()}"
        else:
            words = f"Not used now: {self._ask()}"
        return self._reject(text, Reason.UNEXPECTED_SCAN, words)

    def _ask(self) -> str:
        p = self.next
        if p is None:
            return "every label is scanned"
        return f"scan the label of package {p.package_no} of {self.total}"

    def _head(self) -> Head:
        return head(self._clock, order_id=self.order_id, order_number=self.order_number)

    def _reject(self, raw: str, reason: Reason, words: str) -> Rejected:
        self._events.append(LabelScanRejected(**self._head(), reason=reason, words=words, raw=raw))
        return Rejected(reason=reason, words=words)


def _looks_like_tracking(text: str) -> bool:
    # Another parcel's label: a known carrier shape, or USPS IMpb (AI 420 routing + number).
    t = text.strip().replace("\x1d", "")
    return any(s.fullmatch(t) for s in TRACKING_SHAPES) or (t.startswith("420") and len(t) > 20)
