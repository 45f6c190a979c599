"""Packing one order: tote/order, units into boxes, box type, weight, close.

Closing a box is the one step no barcode triggers yet (station.work has no close-box card):
the bench closes it on Enter, with the last stable scale reading when a scale is wired.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Protocol

from PySide6.QtCore import QObject, Slot

from station.devices.scanner import RawScan
from station.ui.view_models.work import JournalAppend, Progress, WorkViewModel, progress_of
from station.work.events import Event
from station.work.pack import PackSession
from station.work.verdict import Verdict


class Reading(Protocol):
    """Shape of station.devices.scale.WeightReading."""

    @property
    def grams(self) -> Decimal: ...

    @property
    def stable(self) -> bool: ...


class PackViewModel(WorkViewModel):
    def __init__(
        self,
        *,
        session: PackSession,
        journal_append: JournalAppend,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(journal_append=journal_append, parent=parent)
        self.session = session
        self._weight_g: int | None = None

    @property
    def weight_g(self) -> int | None:
        return self._weight_g

    def _scan(self, scan: RawScan) -> Verdict:
        return self.session.scan_text(scan.text, symbology_id=scan.symbology_id)

    def _drain(self) -> list[Event]:
        return self.session.drain_events()

    def _is_complete(self) -> bool:
        return self.session.complete

    def progress(self) -> Progress:
        s = self.session
        return progress_of(s.task.number, s.progress(), boxes=len(s.boxes))

    def next_instruction(self) -> str:
        s = self.session
        if s.pending is not None:
            return self._pending_words() or "Supervisor: scan your badge"
        if not s.started:
            return f"Scan the tote or order number {s.task.number}"
        if s.complete:
            return f"Order {s.task.number} packed"
        box = s.current_box
        box_no = box.no if box is not None else len(s.boxes) + 1
        open_lines = [p for p in s.progress() if p.remaining > 0]
        if open_lines:
            line = open_lines[0]
            return f"Scan {line.remaining} x {line.name} ({line.sku}) into box {box_no}"
        if box is not None and box.box_type is None:
            return f"Scan the box-type card for box {box_no}"
        if box is not None and box.weight_failed and not box.weight_overridden:
            return f"Box {box_no} weight is off: check the contents, weigh again"
        return f"Weigh box {box_no} and press Enter to close it"

    @Slot(object)
    def set_weight(self, reading: Reading) -> None:
        # Only a settled reading may close a box; a moving one clears the last value.
        self._weight_g = int(reading.grams.to_integral_value()) if reading.stable else None

    @Slot()
    def close_box(self) -> None:
        self._run(lambda: self.session.close_box(measured_g=self._weight_g))

    @Slot()
    def request_override(self) -> None:
        open_lines = [p for p in self.session.progress() if p.remaining > 0]
        if open_lines:
            line_no = open_lines[0].line_no
            self._run(lambda: self.session.request_override(line_no=line_no))
        else:
            self._run(self.session.request_weight_override)

    @Slot()
    def cancel(self) -> None:
        self.session.cancel()
        self._forget_needs()
        self.refresh()
