"""The returns desk's screen: the parcel, the one thing to scan next, units received against
authorised, the lines, and the keys to print condition cards and quarantine bin labels. Renders
ReturnsDeskViewModel and decides nothing.

F6 / F7 work while this screen has the focus (it takes it when shown), like the dispatch door's
keys, so they never shadow the window's keys. The buttons never take the focus."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut, QShowEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QListWidget, QPushButton, QVBoxLayout, QWidget

from station.ui.view_models.returns import DeskProgress, ReturnsDeskViewModel
from station.ui.widgets.theme import HUGE, LARGE, MEDIUM, RED, big

ACTIONS = {"cards": "print_condition_cards", "bins": "print_bin_labels"}
KEYS = {"cards": Qt.Key.Key_F6, "bins": Qt.Key.Key_F7}
TICK = "\u2713"


def _label(text: str, points: int) -> QLabel:
    label = QLabel(text)
    label.setFont(big(points))
    label.setWordWrap(True)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    return label


class ReturnsScreen(QWidget):
    def __init__(self, *, vm: ReturnsDeskViewModel) -> None:
        super().__init__()
        self._vm = vm
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.heading = _label("RETURNS", LARGE)
        self.instruction = _label("", HUGE)
        self.instruction.setObjectName("instruction")
        self.count = _label("", LARGE)
        self.flagged = _label("", MEDIUM)
        self.flagged.setStyleSheet(f"color: {RED};")
        self.lines = QListWidget()
        self.lines.setFont(big(MEDIUM, bold=False))
        self.lines.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.buttons = {
            "cards": QPushButton("Print condition cards (F6)"),
            "bins": QPushButton("Print quarantine bin labels (F7)"),
        }
        row = QHBoxLayout()
        for name, button in self.buttons.items():
            button.setFont(big(MEDIUM))
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.clicked.connect(lambda _=False, n=name: self.request(n))
            row.addWidget(button)
            shortcut = QShortcut(QKeySequence(KEYS[name]), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(lambda n=name: self.request(n))
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.instruction, 2)
        layout.addWidget(self.count)
        layout.addWidget(self.flagged)
        layout.addWidget(self.lines, 1)
        layout.addLayout(row)
        vm.instruction.connect(self.instruction.setText)
        vm.progress_changed.connect(self.show_progress)
        self.instruction.setText(vm.session.instruction())
        self.show_progress(vm.progress())

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.setFocus()  # F6 / F7 work while the desk's screen has the focus

    def request(self, name: str) -> None:
        getattr(self._vm, ACTIONS[name])()

    def show_progress(self, progress: DeskProgress) -> None:
        self.heading.setText(f"RETURNS  {progress.title}".rstrip())
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
