"""The dispatch door's screen: which pickup is open, the one thing to scan next, the count on
the truck, what still waits, what needs a person, and the custody exceptions. Renders
DispatchViewModel's DoorView and decides nothing.

F6 reprint, F7 void, F8 refresh work while this screen has the focus (it takes it when shown),
like the approvals screen's keys, so they never shadow the window's keys (F5 is the pack
screen's label reprint there). The buttons do the same for a touch screen and never take focus."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut, QShowEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QListWidget, QPushButton, QVBoxLayout, QWidget

from station.ui.view_models.dispatch import DispatchViewModel, DoorView
from station.ui.widgets.theme import HUGE, LARGE, MEDIUM, RED, big

ACTIONS = {"reprint": "request_reprint", "void": "request_void", "refresh": "refresh"}
KEYS = {"reprint": Qt.Key.Key_F6, "void": Qt.Key.Key_F7, "refresh": Qt.Key.Key_F8}


def _label(text: str, points: int, *, bold: bool = True) -> QLabel:
    label = QLabel(text)
    label.setFont(big(points, bold=bold))
    label.setWordWrap(True)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    return label


def _list() -> QListWidget:
    view = QListWidget()
    view.setFont(big(MEDIUM, bold=False))
    view.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    return view


class DispatchScreen(QWidget):
    def __init__(self, *, vm: DispatchViewModel) -> None:
        super().__init__()
        self._vm = vm
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.heading = _label("DISPATCH", LARGE)
        self.instruction = _label("", HUGE)
        self.instruction.setObjectName("instruction")
        self.count = _label("", LARGE)
        self.note = _label("", MEDIUM, bold=False)
        self.waiting = _list()
        self.attention = _list()
        self.attention.setStyleSheet(f"QListWidget {{ color: {RED}; }}")
        self.exceptions = _list()
        self.buttons = {
            "reprint": QPushButton("Reprint label (F6)"),
            "void": QPushButton("Void label (F7)"),
            "refresh": QPushButton("Refresh (F8)"),
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
        lists = QHBoxLayout()
        left, right = QVBoxLayout(), QVBoxLayout()
        left.addWidget(_label("Labelled, not handed over", MEDIUM))
        left.addWidget(self.waiting, 1)
        right.addWidget(_label("Needs attention", MEDIUM))
        right.addWidget(self.attention, 1)
        right.addWidget(_label("Custody exceptions", MEDIUM))
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
