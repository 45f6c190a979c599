"""Packing one order: tote/order scan, each unit into the current box, box type, weigh, close.

Units are verified exactly as in picking (LineBook). Complete only when every unit is in a
closed box. A box weight outside tolerance blocks closing; a supervisor can accept it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from shared.contract.orders import TaskOut
from station.work.boxes import DEFAULT_BOX_TYPES, Box, BoxType, ScaleTolerance, check_weight
from station.work.events import (
    BoxClosed,
    BoxContent,
    BoxSummary,
    BoxTypeChosen,
    Clock,
    Event,
    OverrideGranted,
    PackCompleted,
    PackRejected,
    PackStarted,
    UnitPacked,
    WeightChecked,
    now_aware,
)
from station.work.lines import LineBook, LineProgress, progress
from station.work.scan import (
    BoxTypeScan,
    ItemScan,
    OrderScan,
    ScanContext,
    StationScan,
    ToteScan,
    UnknownScan,
)
from station.work.session import WorkSession
from station.work.supervisor import NO_SUPERVISORS, Grant, OverrideFlow, SupervisorCheck
from station.work.verdict import Accepted, Action, Needs, Reason, Rejected, Verdict


class PackSession(WorkSession):
    stage = "pack"

    def __init__(
        self,
        task: TaskOut,
        *,
        clock: Clock,
        scale_tolerance: ScaleTolerance,
        box_types: Mapping[str, BoxType] = DEFAULT_BOX_TYPES,
        supervisors: SupervisorCheck = NO_SUPERVISORS,
        operator_badge: str | None = None,
        tote: str | None = None,  # the tote this order was picked into, when the bench knows
        require_weight: bool = False,
    ) -> None:
        self.task = task
        self._clock = clock
        self._tolerance = scale_tolerance
        self._box_types = dict(box_types)
        self._operator = operator_badge
        self._tote = tote
        self._require_weight = require_weight
        self._book = LineBook(task, by_bin=False)
        self._context = self._book.context()
        self._override = OverrideFlow(check=supervisors, operator_badge=operator_badge)
        self._started = False
        self.boxes: list[Box] = []
        self._events: list[Event] = []
        self._completed = False
        # The PackCompleted fact, kept after it is drained: the label step waits until the
        # server has it (its key) before asking for the label.
        self.completion: PackCompleted | None = None

    @property
    def started(self) -> bool:
        return self._started

    @property
    def complete(self) -> bool:
        return self._book.complete and all(b.closed for b in self.boxes)

    @property
    def remaining(self) -> int:
        return self._book.remaining

    @property
    def current_box(self) -> Box | None:
        return self.boxes[-1] if self.boxes and not self.boxes[-1].closed else None

    @property
    def context(self) -> ScanContext:
        return self._context

    @property
    def pending(self) -> Action | None:
        return Action.SCAN_SUPERVISOR_BADGE if self._override.active else None

    def progress(self) -> tuple[LineProgress, ...]:
        return progress(self._book)

    def expected_weight_g(self, box: Box) -> int:
        items = sum(self._book.lines[n].line.weight_g * u for n, u in box.contents.items())
        return items + (box.box_type.tare_g if box.box_type else 0)

    def apply(self, scan: StationScan) -> Verdict:
        if self._override.active:
            return self._override_step(scan)
        if isinstance(scan, UnknownScan):
            return self._reject(scan.raw, Reason.UNKNOWN_BARCODE, f"Unknown barcode: {scan.reason}")
        if isinstance(scan, ToteScan | OrderScan):
            return self._start(scan)
        if not self._started:
            return self._reject(scan.raw, Reason.NOT_STARTED, "Scan the tote or order number first")
        if isinstance(scan, ItemScan):
            return self._item(scan)
        if isinstance(scan, BoxTypeScan):
            return self._box_type(scan)
        return self._reject(scan.raw, Reason.UNEXPECTED_SCAN, "Not used while packing")

    def close_box(self, *, measured_g: int | None = None) -> Verdict:
        box = self.current_box
        if box is None or box.units == 0:
            return self._reject("", Reason.BOX_EMPTY, "No units in this box yet")
        if box.box_type is None:
            return Needs(action=Action.SCAN_BOX_TYPE, words="Scan the box-type card first")
        expected = self.expected_weight_g(box)
        if measured_g is None and self._require_weight and not box.weight_overridden:
            return Needs(action=Action.WEIGH_BOX, words="Put the box on the scale")
        if measured_g is not None and not box.weight_overridden:
            if measured_g <= 0:
                return self._reject("", Reason.NO_WEIGHT, "The scale reads zero: weigh the box")
            check = check_weight(
                expected_g=expected, measured_g=measured_g, tolerance=self._tolerance
            )
            self._events.append(
                WeightChecked(
                    **self._head(),
                    box_no=box.no,
                    expected_g=expected,
                    measured_g=measured_g,
                    allowed_g=check.allowed_g,
                    within=check.within,
                )
            )
            if not check.within:
                box.weight_failed = True
                return self._reject("", Reason.WEIGHT_OUT_OF_TOLERANCE, check.words())
        box.closed, box.expected_g, box.measured_g = True, expected, measured_g
        self._events.append(
            BoxClosed(
                **self._head(),
                box_no=box.no,
                box_type=box.box_type.code,
                tare_g=box.box_type.tare_g,
                contents=tuple(
                    BoxContent(line_no=n, sku=self._book.lines[n].line.sku, units=u)
                    for n, u in sorted(box.contents.items())
                ),
                expected_g=expected,
                measured_g=measured_g,
                weight_overridden=box.weight_overridden,
            )
        )
        if self.complete and not self._completed:
            self._completed = True
            units = sum(b.units for b in self.boxes)
            summary = tuple(
                BoxSummary(
                    box_no=b.no,
                    box_type=b.box_type.code if b.box_type else "",
                    units=b.units,
                    expected_g=b.expected_g,
                    measured_g=b.measured_g,
                    weight_overridden=b.weight_overridden,
                )
                for b in self.boxes
            )
            self.completion = PackCompleted(**self._head(), boxes=summary, units=units)
            self._events.append(self.completion)
            return Accepted(message=f"Order packed in {len(self.boxes)} box(es)")
        return Accepted(
            message=f"Box {box.no} closed: start the next box", remaining=self.remaining
        )

    def request_override(self, *, line_no: int, units: int | None = None) -> Verdict:
        state = self._override_line(line_no)
        if not self._started or state.remaining <= 0:
            words = "Nothing open to override" if self._started else "Scan the tote or order first"
            return Rejected(reason=Reason.NOTHING_TO_OVERRIDE, words=words, line=line_no)
        count = self._override_units(state, units)
        what = f"Pack {count} x {state.line.sku} without scanning"
        return self._override.begin(line_no=line_no, units=count, what=what)

    def request_weight_override(self) -> Verdict:
        box = self.current_box
        if box is None or not box.weight_failed:
            return Rejected(reason=Reason.NOTHING_TO_OVERRIDE, words="No failed weight to accept")
        return self._override.begin(
            line_no=None, units=0, what=f"Accept the weight of box {box.no}"
        )

    def cancel(self) -> None:
        self._override.cancel()

    def _open_box(self) -> Box:
        box = self.current_box
        if box is None:
            box = Box(no=len(self.boxes) + 1)
            self.boxes.append(box)
        return box

    def _start(self, scan: ToteScan | OrderScan) -> Verdict:
        if isinstance(scan, OrderScan):
            ours, value = scan.number == self.task.number, scan.number
        else:
            ours, value = self._tote is not None and scan.tote == self._tote, scan.tote
        if not ours:
            words = f"{value} is not order {self.task.number}: put it aside"
            if isinstance(scan, ToteScan) and self._tote is None:
                words = "This bench does not know that tote: scan the order number"
            return self._reject(scan.raw, Reason.WRONG_ORDER, words)
        if self._started:
            return Accepted(message=f"Already packing {self.task.number}", remaining=self.remaining)
        self._started = True
        via: Literal["tote", "order"] = "order" if isinstance(scan, OrderScan) else "tote"
        self._events.append(PackStarted(**self._head(), via=via, value=value))
        return Accepted(message=f"Packing {self.task.number}", remaining=self.remaining)

    def _item(self, scan: ItemScan) -> Verdict:
        now = now_aware(self._clock)
        result = self._book.check(scan, now=now, today=now.date(), location=None)
        if isinstance(result, Rejected):
            return self._reject(scan.raw, result.reason, result.words, line=result.line)
        if isinstance(result, Needs):
            return result
        self._book.commit(result)
        box = self._open_box()
        box.contents[result.line_no] = box.contents.get(result.line_no, 0) + result.units
        self._events.append(
            UnitPacked(
                **self._head(),
                box_no=box.no,
                line_no=result.line_no,
                sku=result.sku,
                barcode=result.code,
                units=result.units,
                lot=result.lot,
                serial=result.serial,
                expiry=result.expiry,
            )
        )
        remaining = self._book.lines[result.line_no].remaining
        message = f"{result.units} x {result.sku} into box {box.no}"
        return Accepted(
            message=message, line=result.line_no, counted=result.units, remaining=remaining
        )

    def _box_type(self, scan: BoxTypeScan) -> Verdict:
        box_type = self._box_types.get(scan.box_type)
        if box_type is None:
            return self._reject(
                scan.raw, Reason.UNKNOWN_BOX_TYPE, f"Unknown box type {scan.box_type}"
            )
        if self.current_box is None and self._book.complete:
            return self._reject(scan.raw, Reason.ALREADY_COMPLETE, "Everything is packed")
        box = self._open_box()
        box.box_type = box_type
        self._events.append(
            BoxTypeChosen(
                **self._head(), box_no=box.no, box_type=box_type.code, tare_g=box_type.tare_g
            )
        )
        return Accepted(message=f"Box {box.no}: {box_type.name}", remaining=self.remaining)

    def _granted(self, grant: Grant) -> Verdict:
        box = self._open_box()
        sku: str | None = None
        if grant.line_no is None:
            box.weight_overridden = True
            message = f"Weight of box {box.no} accepted by supervisor: close the box"
        else:
            sku = self._book.lines[grant.line_no].line.sku
            self._book.override(line_no=grant.line_no, units=grant.units)
            box.contents[grant.line_no] = box.contents.get(grant.line_no, 0) + grant.units
            message = f"Override: {grant.units} x {sku} into box {box.no}"
        self._events.append(
            OverrideGranted(
                **self._head(),
                stage="pack",
                line_no=grant.line_no,
                sku=sku,
                units=grant.units,
                box_no=box.no,
                supervisor_badge=grant.supervisor_badge,
                operator_badge=self._operator,
                reason_code=grant.reason_code,
            )
        )
        return Accepted(message=message, line=grant.line_no, remaining=self.remaining)

    def _reject(self, raw: str, reason: Reason, words: str, *, line: int | None = None) -> Rejected:
        box = self.current_box
        self._events.append(
            PackRejected(
                **self._head(),
                reason=reason,
                words=words,
                raw=raw,
                line_no=line,
                box_no=box.no if box else None,
            )
        )
        return Rejected(reason=reason, words=words, line=line)
