"""Picking one order at the bench: every unit scanned, nothing counted that failed a rule.

There is no "complete" call: the session is complete when every line is scanned, shorted
(with a reason card) or overridden (supervisor badge + reason card).
"""

from __future__ import annotations

from shared.contract.orders import TaskOut
from station.work.events import (
    BinConfirmed,
    Clock,
    Event,
    LineResult,
    OverrideGranted,
    PickCompleted,
    PickRejected,
    ScannedUnit,
    ShortPick,
    UnitPicked,
    now_aware,
)
from station.work.lines import LineBook, LineProgress, Match, progress
from station.work.scan import (
    BadgeScan,
    BinScan,
    ItemScan,
    ReasonScan,
    ScanContext,
    StationScan,
    UnknownScan,
)
from station.work.session import WorkSession
from station.work.supervisor import (
    NO_SUPERVISORS,
    Grant,
    OverrideFlow,
    SupervisorCheck,
)
from station.work.verdict import Accepted, Action, Needs, Reason, Rejected, Verdict


class PickSession(WorkSession):
    stage = "pick"

    def __init__(
        self,
        task: TaskOut,
        *,
        clock: Clock,
        supervisors: SupervisorCheck = NO_SUPERVISORS,
        operator_badge: str | None = None,
        confirm_bin: bool = False,
    ) -> None:
        self.task = task
        self._clock = clock
        self._operator = operator_badge
        self._book = LineBook(task, by_bin=confirm_bin)
        self._context = self._book.context()
        self._override = OverrideFlow(check=supervisors, operator_badge=operator_badge)
        self._short_line: int | None = None
        self._bin: str | None = None
        self._events: list[Event] = []
        self._completed = False

    # -- what the screen shows -------------------------------------------------------
    @property
    def complete(self) -> bool:
        return self._book.complete

    @property
    def remaining(self) -> int:
        return self._book.remaining

    @property
    def current_bin(self) -> str | None:
        return self._bin

    @property
    def context(self) -> ScanContext:
        return self._context

    @property
    def pending(self) -> Action | None:
        if self._short_line is not None:
            return Action.SCAN_REASON_CARD
        if self._override.active:
            return Action.SCAN_SUPERVISOR_BADGE
        return None

    def progress(self) -> tuple[LineProgress, ...]:
        return progress(self._book)

    # -- operations ------------------------------------------------------------------
    def apply(self, scan: StationScan) -> Verdict:
        if self._short_line is not None:
            return self._short_reason(scan)
        if self._override.active:
            return self._override_step(scan)
        if isinstance(scan, ItemScan):
            return self._item(scan)
        if isinstance(scan, UnknownScan):
            return self._reject(scan.raw, Reason.UNKNOWN_BARCODE, f"Unknown barcode: {scan.reason}")
        if self.complete:
            return self._reject(scan.raw, Reason.ALREADY_COMPLETE, "This order is already picked")
        if isinstance(scan, BinScan):
            return self._bin_scan(scan)
        if isinstance(scan, ReasonScan):
            words = "Reason card: first choose Short or Override on the screen"
        elif isinstance(scan, BadgeScan):
            words = "Badge scanned: nothing here needs a supervisor"
        else:
            words = "That barcode is not used while picking: scan the items"
        return self._reject(scan.raw, Reason.UNEXPECTED_SCAN, words)

    def request_short(self, *, line_no: int) -> Verdict:
        state = self._book.lines.get(line_no)
        if state is None:
            raise ValueError(f"no line {line_no} on order {self.task.number}")
        if state.remaining <= 0:
            return Rejected(reason=Reason.ALREADY_COMPLETE, words="That line is done", line=line_no)
        self._override.cancel()
        self._short_line = line_no
        return Needs(
            action=Action.SCAN_REASON_CARD,
            words=f"{state.remaining} x {state.line.sku} missing: scan the reason card",
        )

    def request_override(self, *, line_no: int, units: int | None = None) -> Verdict:
        state = self._override_line(line_no)
        if state.remaining <= 0:
            return Rejected(
                reason=Reason.NOTHING_TO_OVERRIDE, words="That line is done", line=line_no
            )
        count = self._override_units(state, units)
        self._short_line = None
        what = f"Accept {count} x {state.line.sku} without scanning"
        return self._override.begin(line_no=line_no, units=count, what=what)

    def cancel(self) -> None:
        self._short_line = None
        self._override.cancel()

    # -- internals -------------------------------------------------------------------
    def _item(self, scan: ItemScan) -> Verdict:
        now = now_aware(self._clock)
        result = self._book.check(scan, now=now, today=now.date(), location=self._bin)
        if isinstance(result, Rejected):
            return self._reject(scan.raw, result.reason, result.words, line=result.line)
        if isinstance(result, Needs):
            return result
        self._book.commit(result)
        self._emit_unit(result)
        state = self._book.lines[result.line_no]
        message = f"{result.units} x {result.sku}" + (" (case)" if result.units > 1 else "")
        self._maybe_completed()
        return Accepted(
            message=message, line=result.line_no, counted=result.units, remaining=state.remaining
        )

    def _emit_unit(self, match: Match) -> None:
        self._events.append(
            UnitPicked(
                **self._head(),
                line_no=match.line_no,
                sku=match.sku,
                barcode=match.code,
                units=match.units,
                lot=match.lot,
                serial=match.serial,
                expiry=match.expiry,
                location=self._bin,
            )
        )

    def _bin_scan(self, scan: BinScan) -> Verdict:
        lines = self._book.lines_at(scan.location)
        if not lines:
            words = f"Nothing to pick from {scan.location} for this order"
            return self._reject(scan.raw, Reason.WRONG_BIN, words)
        self._bin = scan.location
        self._events.append(
            BinConfirmed(
                **self._head(),
                location=scan.location,
            )
        )
        open_here = [self._book.lines[n] for n in lines if self._book.lines[n].remaining > 0]
        wanted = ", ".join(f"{s.remaining} x {s.line.sku}" for s in open_here) or "nothing left"
        return Accepted(message=f"Bin {scan.location}: pick {wanted}", remaining=self.remaining)

    def _short_reason(self, scan: StationScan) -> Verdict:
        line_no = self._short_line
        assert line_no is not None
        if not isinstance(scan, ReasonScan):
            return Needs(action=Action.SCAN_REASON_CARD, words="Scan a reason card for the short")
        state = self._book.lines[line_no]
        picked = state.scanned + state.overridden
        short = self._book.mark_short(line_no=line_no)
        self._short_line = None
        self._events.append(
            ShortPick(
                **self._head(),
                line_no=line_no,
                sku=state.line.sku,
                ordered=state.line.qty,
                picked=picked,
                short=short,
                reason_code=scan.code,
            )
        )
        self._maybe_completed()
        return Accepted(
            message=f"Short {short} x {state.line.sku} ({scan.code})", line=line_no, remaining=0
        )

    def _granted(self, grant: Grant) -> Verdict:
        assert grant.line_no is not None
        state = self._book.lines[grant.line_no]
        self._book.override(line_no=grant.line_no, units=grant.units)
        self._events.append(
            OverrideGranted(
                **self._head(),
                stage="pick",
                line_no=grant.line_no,
                sku=state.line.sku,
                units=grant.units,
                box_no=None,
                supervisor_badge=grant.supervisor_badge,
                operator_badge=self._operator,
                reason_code=grant.reason_code,
            )
        )
        self._maybe_completed()
        return Accepted(
            message=f"Override: {grant.units} x {state.line.sku} ({grant.reason_code})",
            line=grant.line_no,
            remaining=state.remaining,
        )

    def _reject(self, raw: str, reason: Reason, words: str, *, line: int | None = None) -> Rejected:
        self._events.append(
            PickRejected(
                **self._head(),
                reason=reason,
                words=words,
                raw=raw,
                line_no=line,
            )
        )
        return Rejected(reason=reason, words=words, line=line)

    def _maybe_completed(self) -> None:
        if self._completed or not self._book.complete:
            return
        self._completed = True
        self._events.append(
            PickCompleted(
                **self._head(),
                lines=tuple(
                    LineResult(
                        line_no=p.line_no,
                        sku=p.sku,
                        ordered=p.ordered,
                        scanned=p.scanned,
                        overridden=p.overridden,
                        short=p.short,
                        scans=tuple(
                            ScannedUnit(
                                barcode=m.code,
                                units=m.units,
                                lot=m.lot,
                                serial=m.serial,
                                expiry=m.expiry,
                            )
                            for m in self._book.lines[p.line_no].scans
                        ),
                    )
                    for p in self.progress()
                ),
            )
        )
