"""Triage at the returns desk: the one thing to scan next and the units waiting for a decision
(bin, item, condition, flag; the one in hand marked). Renders TriageViewModel and decides nothing;
it never takes the focus, so the desk's keys stay on the desk's screen."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QListWidget, QVBoxLayout, QWidget

from station.ui.view_models.triage import TriageProgress, TriageViewModel
from station.ui.widgets.theme import HUGE, LARGE, MEDIUM, big, big_label

HAND = "\u25b6"


class TriagePanel(QWidget):
    def __init__(self, *, vm: TriageViewModel) -> None:
        super().__init__()
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.instruction = big_label("", HUGE)
        self.instruction.setObjectName("triage_instruction")
        self.count = big_label("", LARGE)
        self.units = QListWidget()
        self.units.setFont(big(MEDIUM, bold=False))
        self.units.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.instruction, 2)
        layout.addWidget(self.count)
        layout.addWidget(self.units, 1)
        vm.instruction.connect(self.instruction.setText)
        vm.progress_changed.connect(self.show_progress)
        self.instruction.setText(vm.session.instruction())
        self.show_progress(vm.progress())

    def show_progress(self, progress: TriageProgress) -> None:
        where = f" ({len(progress.rows)} in {progress.bin_filter})" if progress.bin_filter else ""
        self.count.setText(
            f"{progress.waiting} waiting for triage{where}   {progress.decided} decided here"
        )
        texts = [
            f"{HAND if r.chosen else '  '} {r.location}  {r.what}  {r.condition}"
            + (f"  FLAGGED: {r.flag}" if r.flag else "")
            + f"   #{r.unit_id}"
            for r in progress.rows
        ]
        if [self.units.item(i).text() for i in range(self.units.count())] != texts:
            self.units.clear()
            self.units.addItems(texts)
