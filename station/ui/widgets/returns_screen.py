"""The returns desk's screen: receiving (the parcel, the one thing to scan next, units received
against authorised, the lines) or triage (TriagePanel), what is still waiting to be recorded from
before a restart, and the keys to print cards and quarantine bin labels and to switch to triage.
Renders ReturnsDeskViewModel and decides nothing.

F6 / F7 / F8 work while this screen has the focus (it takes it when shown), like the dispatch
door's keys, so they never shadow the window's keys. The buttons never take the focus."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QListWidget,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from station.ui.view_models.returns import DeskProgress, Mode, ReturnsDeskViewModel
from station.ui.widgets.key_buttons import key_button_row
from station.ui.widgets.theme import AMBER, HUGE, LARGE, MEDIUM, RED, big, big_label
from station.ui.widgets.triage_panel import TriagePanel

ACTIONS = {"cards": "print_cards", "bins": "print_bin_labels", "triage": "toggle_triage"}
KEYS = {"cards": Qt.Key.Key_F6, "bins": Qt.Key.Key_F7, "triage": Qt.Key.Key_F8}
BUTTONS = {
    Mode.RECEIVING: {"cards": "Print condition cards (F6)", "triage": "Triage (F8)"},
    Mode.TRIAGE: {"cards": "Print decision cards (F6)", "triage": "Receive parcels (F8)"},
}
TICK = "\u2713"


class ReturnsScreen(QWidget):
    def __init__(self, *, vm: ReturnsDeskViewModel) -> None:
        super().__init__()
        self._vm = vm
        self._title = ""
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.heading = big_label("RETURNS", LARGE)
        self.instruction = big_label("", HUGE)
        self.instruction.setObjectName("instruction")
        self.count = big_label("", LARGE)
        self.flagged = big_label("", MEDIUM)
        self.flagged.setStyleSheet(f"color: {RED};")
        self.lines = QListWidget()
        self.lines.setFont(big(MEDIUM, bold=False))
        self.lines.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        receiving = QWidget()
        column = QVBoxLayout(receiving)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.instruction, 2)
        column.addWidget(self.count)
        column.addWidget(self.flagged)
        column.addWidget(self.lines, 1)
        self.triage = TriagePanel(vm=vm.triage)
        self.panels = QStackedWidget()
        self.panels.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.panels.addWidget(receiving)
        self.panels.addWidget(self.triage)
        self._panel = {Mode.RECEIVING: receiving, Mode.TRIAGE: self.triage}
        self.backlog = big_label("", MEDIUM)
        self.backlog.setStyleSheet(f"color: {AMBER};")
        self.buttons = {
            "cards": QPushButton(),
            "bins": QPushButton("Print quarantine bin labels (F7)"),
            "triage": QPushButton(),
        }
        row = key_button_row(self, self.buttons, KEYS, self.request)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.panels, 1)
        layout.addWidget(self.backlog)
        layout.addLayout(row)
        vm.instruction.connect(self.instruction.setText)
        vm.progress_changed.connect(self.show_progress)
        vm.mode_changed.connect(self.show_mode)
        vm.backlog_changed.connect(self.show_backlog)
        self.instruction.setText(vm.session.instruction())
        self.show_progress(vm.progress())
        self.show_mode(vm.mode.value)
        self.show_backlog(vm.backlog)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.setFocus()  # F6 - F8 work while the desk's screen has the focus

    def request(self, name: str) -> None:
        getattr(self._vm, ACTIONS[name])()

    def show_mode(self, value: str) -> None:
        mode = Mode(value)
        self.panels.setCurrentWidget(self._panel[mode])
        for name, text in BUTTONS[mode].items():
            self.buttons[name].setText(text)
        self._heading()

    def show_backlog(self, n: int) -> None:
        self.backlog.setText(
            f"{n} unit(s) scanned before are not recorded yet: they are sent again by themselves"
            if n
            else ""
        )

    def show_progress(self, progress: DeskProgress) -> None:
        self._title = progress.title
        self._heading()
        self.count.setText(
            f"{progress.received} / {progress.authorised} received" if progress.title else ""
        )
        self.flagged.setText(f"{progress.flagged} flagged" if progress.flagged else "")
        texts = [
            f"{TICK if x.received >= x.authorised else '  '} {x.sku}  {x.name}   "
            f"{x.received}/{x.authorised}"
            for x in progress.lines
        ]
        if [self.lines.item(i).text() for i in range(self.lines.count())] != texts:
            self.lines.clear()
            self.lines.addItems(texts)

    def _heading(self) -> None:
        if self._vm.mode is Mode.TRIAGE:
            self.heading.setText("RETURNS  TRIAGE")
        else:
            self.heading.setText(f"RETURNS  {self._title}".rstrip())
