"""The approvals screen: what waits for a second person, in words, and the one decision in hand.

Renders ApprovalsViewModel; decides nothing. F7 / F8 and Up / Down work while this screen has
the focus (it takes it when shown), so they never shadow keys of other screens; the buttons do
the same for a mouse or a touch screen. The reason box takes focus only at the reason step.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from station.ui.view_models.approvals import MAX_REASON, ApprovalLine, ApprovalsViewModel, Step
from station.ui.widgets.theme import LARGE, MEDIUM, big


def _label(text: str, points: int, *, bold: bool = True) -> QLabel:
    label = QLabel(text)
    label.setFont(big(points, bold=bold))
    label.setWordWrap(True)
    return label


class ApprovalsScreen(QWidget):
    def __init__(self, *, vm: ApprovalsViewModel) -> None:
        super().__init__()
        self._vm = vm
        self._lines: tuple[ApprovalLine, ...] = ()
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.heading = _label("APPROVALS", LARGE)
        self.instruction = _label("", LARGE)
        self.instruction.setObjectName("instruction")
        self.list = QListWidget()
        self.list.setFont(big(MEDIUM, bold=False))
        self.list.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys belong to the screen
        self.details = _label("", MEDIUM, bold=False)
        self.details.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.reason = QLineEdit()
        self.reason.setFont(big(MEDIUM, bold=False))
        self.reason.setMaxLength(MAX_REASON)
        self.reason.setPlaceholderText("or type the reason here and press Enter")
        self.reason.setEnabled(False)
        self.note = _label("", MEDIUM, bold=False)
        self.approve_button = QPushButton("Approve (F7)")
        self.refuse_button = QPushButton("Refuse (F8)")
        buttons = QHBoxLayout()
        for button in (self.approve_button, self.refuse_button):
            button.setFont(big(MEDIUM))
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            buttons.addWidget(button)
        body = QHBoxLayout()
        body.addWidget(self.list, 3)
        body.addWidget(self.details, 2)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.instruction)
        layout.addLayout(body, 1)
        layout.addWidget(self.reason)
        layout.addLayout(buttons)
        layout.addWidget(self.note)

        for key, slot in (
            (Qt.Key.Key_F7, vm.approve),
            (Qt.Key.Key_F8, vm.refuse),
            (Qt.Key.Key_Up, vm.select_previous),
            (Qt.Key.Key_Down, vm.select_next),
        ):
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)
        self.approve_button.clicked.connect(vm.approve)
        self.refuse_button.clicked.connect(vm.refuse)
        self.list.currentRowChanged.connect(vm.select)
        self.reason.textChanged.connect(vm.type_reason)
        self.reason.returnPressed.connect(vm.enter)
        vm.items_changed.connect(self.show_lines)
        vm.selection_changed.connect(self.show_selection)
        vm.instruction.connect(self.instruction.setText)
        vm.step_changed.connect(self.show_step)
        vm.busy_changed.connect(lambda busy: self.note.setText("Asking the server..." if busy
                                                               else ""))  # fmt: skip

    def show_lines(self, lines: tuple[ApprovalLine, ...]) -> None:
        self._lines = lines
        self.list.blockSignals(True)  # rebuilding is not the supervisor choosing a row
        self.list.clear()
        for x in lines:
            self.list.addItem(f"#{x.id}  {x.words}\n      asked by {x.asked_by}: {x.reason}")
        if not lines:
            self.list.addItem("Nothing is waiting for approval")
        self.list.blockSignals(False)

    def show_selection(self, row: int) -> None:
        self.list.blockSignals(True)
        self.list.setCurrentRow(row)
        self.list.blockSignals(False)
        self.details.setText("\n".join(self._lines[row].details) if 0 <= row < len(self._lines)
                             else "")  # fmt: skip

    def show_step(self, step: str) -> None:
        at_reason = step == Step.REASON.value
        self.reason.setEnabled(at_reason)
        if at_reason:
            self.reason.clear()
            self.reason.setFocus()
        elif self.reason.hasFocus():
            self.setFocus()  # F7/F8 and the arrows work again
        choosing = step == Step.CHOOSE.value
        self.approve_button.setEnabled(choosing)
        self.refuse_button.setEnabled(choosing)
