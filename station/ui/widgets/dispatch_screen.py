"""The dispatch door's screen: which pickup is open, the one thing to scan next, the count on
the truck, what still waits, what needs a person, and the custody exceptions. Renders
DispatchViewModel's DoorView and decides nothing.

F6 reprint, F7 void, F8 refresh work while this screen has the focus (it takes it when shown),
like the approvals screen's keys, so they never shadow the window's keys (F5 is the pack
screen's label reprint there). The buttons do the same for a touch screen and never take focus."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QHBoxLayout, QListWidget, QPushButton, QVBoxLayout, QWidget

from station.ui.view_models.dispatch import DispatchViewModel, DoorView
from station.ui.widgets.key_buttons import key_button_row
from station.ui.widgets.theme import HUGE, LARGE, MEDIUM, RED, big_label, big_list

ACTIONS = {"reprint": "request_reprint", "void": "request_void", "refresh": "refresh"}
KEYS = {"reprint": Qt.Key.Key_F6, "void": Qt.Key.Key_F7, "refresh": Qt.Key.Key_F8}


class DispatchScreen(QWidget):
    def __init__(self, *, vm: DispatchViewModel) -> None:
        super().__init__()
        self._vm = vm
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.heading = big_label("DISPATCH", LARGE)
        self.instruction = big_label("", HUGE)
        self.instruction.setObjectName("instruction")
        self.count = big_label("", LARGE)
        self.note = big_label("", MEDIUM, bold=False)
        self.waiting = big_list()
        self.attention = big_list()
        self.attention.setStyleSheet(f"QListWidget {{ color: {RED}; }}")
        self.exceptions = big_list()
        self.buttons = {
            "reprint": QPushButton("Reprint label (F6)"),
            "void": QPushButton("Void label (F7)"),
            "refresh": QPushButton("Refresh (F8)"),
        }
        row = key_button_row(self, self.buttons, KEYS, self.request)
        lists = QHBoxLayout()
        left, right = QVBoxLayout(), QVBoxLayout()
        left.addWidget(big_label("Labelled, not handed over", MEDIUM))
        left.addWidget(self.waiting, 1)
        right.addWidget(big_label("Needs attention", MEDIUM))
        right.addWidget(self.attention, 1)
        right.addWidget(big_label("Custody exceptions", MEDIUM))
        right.addWidget(self.exceptions, 1)
        lists.addLayout(left, 1)
        lists.addLayout(right, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.instruction, 2)
        layout.addWidget(self.count)
        layout.addWidget(self.note)
        layout.addLayout(lists, 3)
        layout.addLayout(row)
        vm.changed.connect(self.show_view)
        self.show_view(vm.view)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.setFocus()  # F6-F8 work while the door's screen has the focus

    def request(self, name: str) -> None:
        """Reprint / void / refresh, from a button or its F-key."""
        getattr(self._vm, ACTIONS[name])()

    def show_view(self, view: DoorView) -> None:
        self.heading.setText(view.heading)
        self.instruction.setText(view.instruction)
        self.count.setText(view.count)
        self.note.setText(view.note)
        _fill(self.waiting, view.waiting, empty="Nothing waiting")
        _fill(self.attention, view.attention, empty="")
        _fill(self.exceptions, view.exceptions, empty="No custody exceptions")
        self.buttons["reprint"].setEnabled(self._vm.session.can_print)


def _fill(view: QListWidget, rows: tuple[str, ...], *, empty: str) -> None:
    texts = list(rows) or ([empty] if empty else [])
    if [view.item(i).text() for i in range(view.count())] != texts:
        view.clear()
        view.addItems(texts)
