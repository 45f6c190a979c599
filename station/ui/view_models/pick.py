"""Picking one order: scans in, verdicts out, one instruction at a time."""

from __future__ import annotations

from PySide6.QtCore import QObject, Slot

from station.devices.scanner import RawScan
from station.ui.view_models.work import JournalAppend, Progress, WorkViewModel, progress_of
from station.work.events import Event
from station.work.lines import LineProgress
from station.work.pick import PickSession
from station.work.verdict import Verdict


class PickViewModel(WorkViewModel):
    def __init__(
        self,
        *,
        session: PickSession,
        journal_append: JournalAppend,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(journal_append=journal_append, parent=parent)
        self.session = session
        self._lines = {line.line_no: line for line in session.task.lines}

    def _scan(self, scan: RawScan) -> Verdict:
        return self.session.scan_text(scan.text, symbology_id=scan.symbology_id)

    def _drain(self) -> list[Event]:
        return self.session.drain_events()

    def _is_complete(self) -> bool:
        return self.session.complete

    def progress(self) -> Progress:
        return progress_of(self.session.task.number, self.session.progress())

    def open_line(self) -> LineProgress | None:
        """The line the instruction points at: one in the confirmed bin first, else the first."""
        open_lines = [p for p in self.session.progress() if p.remaining > 0]
        here = self.session.current_bin
        for p in open_lines:
            if here is not None and any(k.location == here for k in self._lines[p.line_no].picks):
                return p
        return open_lines[0] if open_lines else None

    def next_instruction(self) -> str:
        needs = self._pending_words()
        if needs is not None:
            return needs  # a bin to confirm, a reason card, a supervisor badge
        if self.session.pending is not None:
            return "Finish the request: scan the card asked for"
        if self.session.complete:
            return f"Order {self.session.task.number} picked"
        line = self.open_line()
        assert line is not None  # not complete, so a line is open
        where = ", ".join(self._locations(line.line_no)[:2])
        tail = f" from {where}" if where else ""
        return f"Scan {line.remaining} x {line.name} ({line.sku}){tail}"

    @Slot()
    def request_short(self) -> None:
        line = self.open_line()
        if line is not None:
            self._run(lambda: self.session.request_short(line_no=line.line_no))

    @Slot()
    def request_override(self) -> None:
        line = self.open_line()
        if line is not None:
            self._run(lambda: self.session.request_override(line_no=line.line_no))

    @Slot()
    def cancel(self) -> None:
        self.session.cancel()
        self._forget_needs()
        self.refresh()

    def _locations(self, line_no: int) -> list[str]:
        picks = self._lines[line_no].picks
        return [f"{p.location} (lot {p.lot})" if p.lot else p.location for p in picks]
