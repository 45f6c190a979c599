"""The returns desk, one parcel and one unit at a time (floor.md, Returns clerks):

    parcel (RMA / order number / tracking number) -> looked up on the server
    unit scan -> expected, or flagged (not on the order / more than authorised)
    condition card -> quarantine bin -> the unit is sent to the server -> next unit

Pure: the session decides what each scan means; the view-model does the I/O it asks for
(`lookup_code`, `to_send`) and reports back (`opened`, `lookup_failed`, `sent`, `send_failed`).
A flagged unit is never silently accepted: the desk says so loudly and the server records it.
A unit is on the books only once the server confirms it; until then it stays in the clerk's
hand with one idempotency key, so a retry after a timeout can never count it twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum

from shared.contract.returns import (
    Condition,
    ReturnUnitIn,
    ReturnUnitOut,
    RmaLineOut,
    RmaOut,
)
from shared.labels.returns import CONDITION_WORDS
from station.work.returns_scan import ConditionScan, DeskScan, RmaScan, parcel_code, read_desk
from station.work.scan import (
    BadgeScan,
    BinScan,
    ItemScan,
    OrderScan,
    ScanContext,
    TrackingScan,
    UnknownScan,
    normalise_alias,
)


class Step(StrEnum):
    PARCEL = "parcel"  # scan the RMA, order number or tracking number
    LOOKING_UP = "looking_up"
    UNIT = "unit"  # scan the next unit
    CONDITION = "condition"  # scan a condition card
    BIN = "bin"  # put it in a quarantine bin and scan the bin
    SENDING = "sending"  # the server is recording the unit
    RETRY = "retry"  # the server did not answer: scan the same bin again (or Enter)


class Tone(StrEnum):
    """The colour of an answer (the same words as the bench's VerdictKind)."""

    ACCEPTED = "accepted"
    REJECTED = "rejected"
    NEEDS = "needs"


@dataclass(frozen=True, kw_only=True)
class Answer:
    tone: Tone
    words: str


FLAG_WORDS = {
    "not_on_order": "NOT ON THIS ORDER",
    "not_authorised": "MORE THAN AUTHORISED",
    "unknown_item": "NOT IN THE CATALOG",
}


@dataclass(frozen=True, kw_only=True)
class PendingUnit:
    key: str  # minted when the unit was scanned; kept across retries
    code: str  # GTIN-14 or the alias, as the server resolves it
    lot: str
    serial: str
    expiry: date | None
    sku: str | None  # what the desk expects it to be (None: not on this RMA)
    flag: str | None  # the desk's own view; the server's answer is the one recorded
    condition: Condition | None = None
    bin: str | None = None

    def receipt(self) -> ReturnUnitIn:
        assert self.condition is not None and self.bin is not None
        return ReturnUnitIn(key=self.key, barcode=self.code, lot=self.lot, serial=self.serial,
                            expiry=self.expiry, condition=self.condition, bin=self.bin)  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class LineCount:
    line_no: int
    sku: str
    name: str
    authorised: int
    received: int


def _new_key() -> str:
    return str(uuid.uuid4())


class ReturnsSession:
    def __init__(self, *, new_key: Callable[[], str] = _new_key) -> None:
        self._new_key = new_key
        self.step = Step.PARCEL
        self.rma: RmaOut | None = None
        self.lookup_code: str | None = None
        self.pending: PendingUnit | None = None
        self.recorded: list[ReturnUnitOut] = []  # units this desk recorded in this parcel
        self._received: dict[int, int] = {}
        self._codes: dict[str, tuple[int, int]] = {}  # scan key -> (line no, units)
        self._context = ScanContext()

    # -- what the screen shows ---------------------------------------------------------
    @property
    def to_send(self) -> ReturnUnitIn | None:
        if self.step is Step.SENDING and self.pending is not None:
            return self.pending.receipt()
        return None

    @property
    def flagged(self) -> int:
        return sum(1 for u in self.recorded if u.flag is not None)

    def lines(self) -> tuple[LineCount, ...]:
        if self.rma is None:
            return ()
        return tuple(
            LineCount(line_no=x.line_no, sku=x.sku, name=x.name, authorised=x.qty,
                      received=self._received.get(x.line_no, 0))
            for x in self.rma.lines
        )  # fmt: skip

    def instruction(self) -> str:
        p = self.pending
        if self.step is Step.PARCEL:
            return "Scan the RMA, the order number or the tracking number on the parcel"
        if self.step is Step.LOOKING_UP:
            return f"Looking up {self.lookup_code}..."
        if self.step is Step.UNIT:
            return "Scan the next unit (Escape closes the parcel)"
        assert p is not None
        what = p.sku or "the unit"
        if self.step is Step.CONDITION:
            return f"Scan the condition card for {what}"
        if self.step is Step.BIN:
            return f"Put {what} in a quarantine bin and scan the bin"
        if self.step is Step.SENDING:
            return f"Recording {what} in {p.bin}..."
        return f"Not recorded yet: scan bin {p.bin} again (or press Enter) to retry"

    # -- scans -----------------------------------------------------------------------------
    def scan_text(self, text: str, *, symbology_id: str | None = None) -> Answer:
        return self.apply(read_desk(text, symbology_id=symbology_id, context=self._context))

    def apply(self, scan: DeskScan) -> Answer:
        if isinstance(scan, BadgeScan):
            return _no("A badge: sign in from the login screen")
        if self.step is Step.PARCEL:
            return self._parcel(scan)
        if self.step is Step.LOOKING_UP:
            return _no(f"Wait: looking up {self.lookup_code}")
        if self.step is Step.SENDING:
            return _no("Wait: the unit is being recorded")
        if self.step is Step.UNIT:
            return self._unit(scan)
        if self.step is Step.CONDITION:
            return self._condition(scan)
        if self.step is Step.BIN:
            return self._bin(scan)
        return self._retry_scan(scan)

    def _parcel(self, scan: DeskScan) -> Answer:
        code = parcel_code(scan)
        if code is None:
            return _no("Scan the parcel first: its RMA, order number or tracking number")
        self.step, self.lookup_code = Step.LOOKING_UP, code
        return Answer(tone=Tone.NEEDS, words=f"Looking up {code}...")

    def _unit(self, scan: DeskScan) -> Answer:
        if isinstance(scan, RmaScan | OrderScan | TrackingScan):
            return _no("Another parcel? Press Escape to close this one first")
        if isinstance(scan, ConditionScan | BinScan):
            return _no("Scan the unit first, then its condition card and the bin")
        if isinstance(scan, UnknownScan):
            return _no(f"Unknown barcode ({scan.reason}): scan the product barcode")
        if not isinstance(scan, ItemScan):
            return _no("That is not a product: scan the unit")
        expected = self._codes.get(scan.code)
        if (expected is not None and expected[1] > 1) or (scan.count or 1) > 1:
            return _no("That is a case barcode: scan each unit on its own")
        lot, serial = scan.lot or "", scan.serial or ""
        if expected is None:
            self._hold(scan, lot, serial, sku=None, flag="not_on_order")
            return _no("NOT ON THIS ORDER: it will be flagged for the supervisor. "
                       "Scan its condition card")  # fmt: skip
        line_no = expected[0]
        line = self._line(line_no)
        if self._received.get(line_no, 0) >= line.qty:
            self._hold(scan, lot, serial, sku=line.sku, flag="not_authorised")
            return _no(f"MORE {line.sku} THAN AUTHORISED ({line.qty}): it will be flagged. "
                       "Scan its condition card")  # fmt: skip
        self._hold(scan, lot, serial, sku=line.sku, flag=None)
        return Answer(tone=Tone.ACCEPTED, words=f"{line.sku}: scan its condition card")

    def _condition(self, scan: DeskScan) -> Answer:
        if not isinstance(scan, ConditionScan):
            return _no("Scan a condition card for the unit in your hand")
        assert self.pending is not None
        self.pending = replace(self.pending, condition=scan.condition)
        self.step = Step.BIN
        return Answer(tone=Tone.ACCEPTED,
                      words=f"{CONDITION_WORDS[scan.condition]}: put it in a quarantine bin "
                      "and scan the bin")  # fmt: skip

    def _bin(self, scan: DeskScan) -> Answer:
        assert self.pending is not None
        if isinstance(scan, ConditionScan):  # the clerk changed their mind about the condition
            return self._condition(scan)
        if not isinstance(scan, BinScan):
            return Answer(
                tone=Tone.NEEDS, words="Put the unit in a quarantine bin and scan the bin"
            )
        self.pending = replace(self.pending, bin=scan.location)
        self.step = Step.SENDING
        return Answer(tone=Tone.NEEDS, words=f"Recording the unit in {scan.location}...")

    def _retry_scan(self, scan: DeskScan) -> Answer:
        assert self.pending is not None
        if isinstance(scan, BinScan) and scan.location == self.pending.bin:
            return self.retry()
        if isinstance(scan, BinScan):
            # The first attempt may have landed: the unit must go where it was sent.
            return _no(f"Not recorded yet: put the unit in {self.pending.bin} and scan that bin")
        return Answer(tone=Tone.NEEDS, words=self.instruction())

    def _hold(self, scan: ItemScan, lot: str, serial: str, *, sku: str | None,
              flag: str | None) -> None:  # fmt: skip
        self.pending = PendingUnit(key=self._new_key(), code=scan.code, lot=lot, serial=serial,
                                   expiry=scan.expiry, sku=sku, flag=flag)  # fmt: skip
        self.step = Step.CONDITION

    def _line(self, line_no: int) -> RmaLineOut:
        assert self.rma is not None
        return next(x for x in self.rma.lines if x.line_no == line_no)

    # -- keys ------------------------------------------------------------------------------
    def retry(self) -> Answer:
        if self.step is not Step.RETRY or self.pending is None:
            return Answer(tone=Tone.NEEDS, words=self.instruction())
        self.step = Step.SENDING
        return Answer(tone=Tone.NEEDS, words=f"Recording the unit in {self.pending.bin} again...")

    def escape(self) -> Answer | None:
        """Drop what is in progress; None when there is nothing to drop (the bench may then sign
        the clerk out)."""
        if self.step in (Step.CONDITION, Step.BIN):
            self.pending, self.step = None, Step.UNIT
            return Answer(tone=Tone.NEEDS, words="Unit not recorded: put it back on the desk")
        if self.step is Step.RETRY:
            return _no("The unit may be recorded already: scan its bin again to retry")
        if self.step is Step.SENDING:
            return _no("Wait: the unit is being recorded")
        if self.step is Step.LOOKING_UP:
            self.step, self.lookup_code = Step.PARCEL, None
            return Answer(tone=Tone.NEEDS, words="Look-up cancelled: scan the parcel")
        if self.step is Step.UNIT:
            assert self.rma is not None
            words = f"Parcel {self.rma.number} closed: {len(self.recorded)} unit(s) recorded"
            self._reset()
            return Answer(tone=Tone.NEEDS, words=words)
        return None

    # -- what the server said ------------------------------------------------------------------
    def opened(self, rma: RmaOut, *, code: str) -> Answer | None:
        if self.step is not Step.LOOKING_UP or code != self.lookup_code:
            return None  # a late answer to a look-up the clerk already cancelled
        self.rma, self.step, self.lookup_code = rma, Step.UNIT, None
        self.recorded = []
        self._received = {x.line_no: x.received for x in rma.lines}
        self._codes = {
            normalise_alias(b.value): (x.line_no, b.units) for x in rma.lines for b in x.barcodes
        }
        aliases = {b.value for x in rma.lines for b in x.barcodes if not b.value.isdigit()}
        self._context = ScanContext(aliases=frozenset(aliases))
        left = sum(x.qty - x.received for x in rma.lines)
        return Answer(tone=Tone.ACCEPTED, words=f"{rma.number} (order {rma.order_number}): "
                      f"{left} unit(s) expected. Scan each unit")  # fmt: skip

    def lookup_failed(self, words: str, *, code: str) -> Answer | None:
        if self.step is not Step.LOOKING_UP or code != self.lookup_code:
            return None
        self.step, self.lookup_code = Step.PARCEL, None
        return _no(words)

    def sent(self, unit: ReturnUnitOut, *, key: str) -> Answer | None:
        if self.pending is None or key != self.pending.key or self.step is not Step.SENDING:
            return None
        self.recorded.append(unit)
        if unit.line_no is not None:
            self._received[unit.line_no] = self._received.get(unit.line_no, 0) + 1
        self.pending, self.step = None, Step.UNIT
        if unit.flag is not None:
            return Answer(tone=Tone.NEEDS, words=f"FLAGGED ({FLAG_WORDS[unit.flag]}): recorded "
                          f"in {unit.location}. Tell the supervisor; next unit")  # fmt: skip
        return Answer(tone=Tone.ACCEPTED, words=f"{unit.sku} recorded in {unit.location}")

    def send_failed(self, words: str, *, key: str, retry: bool) -> Answer | None:
        """`retry`: the server could not be reached (the same request goes again); else it
        refused: the clerk scans another bin (with a new key: nothing was recorded)."""
        if self.pending is None or key != self.pending.key or self.step is not Step.SENDING:
            return None
        if retry:
            self.step = Step.RETRY
            return _no(f"{words}. Keep the unit: scan bin {self.pending.bin} again to retry")
        self.pending = replace(self.pending, key=self._new_key(), bin=None)
        self.step = Step.BIN
        return _no(f"{words}. Scan a quarantine bin (Escape: put the unit aside)")

    def _reset(self) -> None:
        self.step, self.rma, self.lookup_code, self.pending = Step.PARCEL, None, None, None
        self.recorded, self._received, self._codes = [], {}, {}
        self._context = ScanContext()


def _no(words: str) -> Answer:
    return Answer(tone=Tone.REJECTED, words=words)
