"""The four screens. Each lays out big type and renders what its view-model says; none of
them decides anything or reaches a device. Every input is a scan; Enter/Escape are secondary
(bound in the main window), the two buttons have F-key shortcuts and never take focus."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from station.ui.view_models.login import LoginViewModel
from station.ui.view_models.tasks import TaskListViewModel, TaskSummary
from station.ui.view_models.work import Progress, WorkViewModel
from station.ui.widgets.theme import HUGE, LARGE, MEDIUM, big, big_label, big_list
from station.work.lines import LineProgress


class LoginScreen(QWidget):
    def __init__(self, *, vm: LoginViewModel) -> None:
        super().__init__()
        self.instruction = big_label("Scan your badge", HUGE)
        self.note = big_label("", MEDIUM)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(self.instruction)
        layout.addWidget(self.note)
        layout.addStretch(1)
        vm.busy_changed.connect(lambda busy: self.note.setText("Checking badge..." if busy else ""))


class TaskListScreen(QWidget):
    def __init__(self, *, vm: TaskListViewModel) -> None:
        super().__init__()
        self.instruction = big_label("Scan an order number (Enter takes the first)", LARGE)
        self.note = big_label("", MEDIUM)
        self.list = big_list()
        layout = QVBoxLayout(self)
        layout.addWidget(self.instruction)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.note)
        vm.tasks_changed.connect(self.show_tasks)
        vm.busy_changed.connect(
            lambda busy: self.note.setText("Asking the server..." if busy else "")
        )
        vm.failed.connect(self.note.setText)

    def show_tasks(self, tasks: tuple[TaskSummary, ...]) -> None:
        self.list.clear()
        for t in tasks:
            ship = f"  ship by {t.ship_by}" if t.ship_by else ""
            self.list.addItem(f"{t.number}   {t.lines} lines, {t.units} units{ship}")
        if not tasks:
            self.list.addItem("No orders waiting")


class WorkScreen(QWidget):
    """Pick and pack look the same: order, one instruction, done/expected, the lines."""

    def __init__(self, *, title: str) -> None:
        super().__init__()
        self._title = title
        self.heading = big_label(title, LARGE)
        self.instruction = big_label("", HUGE)
        self.instruction.setObjectName("instruction")
        self.count = big_label("", LARGE)
        self.lines = big_list()
        self.short_button = QPushButton("Short (F2)")
        self.override_button = QPushButton("Supervisor override (F3)")
        self.reprint_button = QPushButton("Print the label again (F5)")
        buttons = QHBoxLayout()
        for button in (self.short_button, self.override_button, self.reprint_button):
            button.setFont(big(MEDIUM))
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.instruction, 2)
        layout.addWidget(self.count)
        layout.addWidget(self.lines, 1)
        layout.addLayout(buttons)
        self._vm: WorkViewModel | None = None
        self.short_button.clicked.connect(lambda: self.request("request_short"))
        self.override_button.clicked.connect(lambda: self.request("request_override"))
        self.reprint_button.clicked.connect(lambda: self.request("reprint_label"))
        self.reprint_button.setVisible(False)

    def request(self, name: str) -> None:
        """Short / override on the line the instruction names (the view-model picks it)."""
        action = getattr(self._vm, name, None)
        if action is not None:
            action()

    def bind(self, vm: WorkViewModel) -> None:
        # The old view-model is deleted by its owner; its connections go with it.
        self._vm = vm
        vm.instruction.connect(self.instruction.setText)
        vm.progress_changed.connect(self.show_progress)
        self.short_button.setVisible(hasattr(vm, "request_short"))
        self.override_button.setVisible(hasattr(vm, "request_override"))
        self.reprint_button.setVisible(hasattr(vm, "reprint_label"))

    def show_progress(self, progress: Progress) -> None:
        self.heading.setText(f"{self._title}  {progress.order_number}")
        boxes = f"   box {progress.boxes}" if progress.boxes else ""
        self.count.setText(f"{progress.done} / {progress.expected}{boxes}")
        texts = [_line_text(p) for p in progress.lines]
        if self.lines.count() != len(texts):
            self.lines.clear()
            self.lines.addItems(texts)
            return
        # A 500-line order changes one row per scan: touch only that row, not the whole list.
        for row, text in enumerate(texts):
            item = self.lines.item(row)
            if item.text() != text:
                item.setText(text)
                self.lines.scrollToItem(item)


def _line_text(p: LineProgress) -> str:
    mark = "\u2713" if p.remaining <= 0 else "  "
    short = f"  short {p.short}" if p.short else ""
    return f"{mark} {p.sku}  {p.name}   {p.ordered - p.remaining}/{p.ordered}{short}"


class DoneScreen(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.instruction = big_label(
            "Order done. Scan the next order number (or press Enter)", HUGE
        )
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(self.instruction)
        layout.addStretch(1)
