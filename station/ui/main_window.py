"""The bench window: stacked screens, verdict overlay, status bar, optional demo scanner.

Wiring only: every decision is in BenchViewModel / StatusViewModel; this file binds their
Signals to widgets and sounds, and keys to their slots.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QMainWindow, QStackedWidget, QVBoxLayout, QWidget

from station.ui.sounds import SoundPlayer
from station.ui.view_models.bench import BenchViewModel, Screen
from station.ui.view_models.labelling import LabelViewModel
from station.ui.view_models.pack import PackViewModel
from station.ui.view_models.status import StatusViewModel
from station.ui.view_models.work import VerdictKind, WorkViewModel
from station.ui.widgets.approvals_screen import ApprovalsScreen
from station.ui.widgets.dashboard import DashboardScreen
from station.ui.widgets.dispatch_screen import DispatchScreen
from station.ui.widgets.returns_screen import ReturnsScreen
from station.ui.widgets.screens import DoneScreen, LoginScreen, TaskListScreen, WorkScreen
from station.ui.widgets.status_bar import StatusBarWidget
from station.ui.widgets.verdict_overlay import VerdictOverlay
from station.ui.widgets.virtual_scanner import DemoBarcode, VirtualScannerDock


class MainWindow(QMainWindow):
    def __init__(
        self,
        *,
        bench: BenchViewModel,
        status: StatusViewModel,
        sounds: SoundPlayer,
        demo_barcodes: Sequence[DemoBarcode] = (),
        demo_write: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__()
        self.setWindowTitle("packline bench")
        self.bench, self._sounds = bench, sounds
        self.login_screen = LoginScreen(vm=bench.login)
        self.task_screen = TaskListScreen(vm=bench.tasks)
        self.pick_screen = WorkScreen(title="PICK")
        self.pack_screen = WorkScreen(title="PACK")
        self.done_screen = DoneScreen()
        self.screens: dict[Screen, QWidget] = {
            Screen.LOGIN: self.login_screen,
            Screen.TASKS: self.task_screen,
            Screen.PICK: self.pick_screen,
            Screen.PACK: self.pack_screen,
            Screen.DONE: self.done_screen,
        }
        self.approvals_screen: ApprovalsScreen | None = None
        if bench.approvals is not None:
            self.approvals_screen = ApprovalsScreen(vm=bench.approvals)
            self.screens[Screen.APPROVALS] = self.approvals_screen
        self.dispatch_screen: DispatchScreen | None = None
        if bench.dispatch is not None:  # a dispatch door (F6-F8 live on its screen)
            self.dispatch_screen = DispatchScreen(vm=bench.dispatch)
            self.screens[Screen.DISPATCH] = self.dispatch_screen
        self.returns_screen: ReturnsScreen | None = None
        if bench.returns is not None:  # a returns desk (F6-F8 live on its screen)
            self.returns_screen = ReturnsScreen(vm=bench.returns)
            self.screens[Screen.RETURNS] = self.returns_screen
        self.dashboard_screen: DashboardScreen | None = None
        if bench.dashboard is not None:  # supervisors (F10, or straight after their sign-in)
            self.dashboard_screen = DashboardScreen(vm=bench.dashboard)
            self.screens[Screen.DASHBOARD] = self.dashboard_screen
        self.stack = QStackedWidget()
        for screen in self.screens.values():
            self.stack.addWidget(screen)
        self.status_bar = StatusBarWidget()
        self.status_bar.show_status(status.snapshot)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addWidget(self.stack, 1)
        layout.addWidget(self.status_bar)
        self.setCentralWidget(central)
        self.overlay = VerdictOverlay(central)
        self.demo_dock: VirtualScannerDock | None = None
        if demo_write is not None:
            self.demo_dock = VirtualScannerDock(barcodes=demo_barcodes, write=demo_write)
            self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.demo_dock)

        status.changed.connect(self.status_bar.show_status)
        bench.screen_changed.connect(self._show)
        bench.scan_seen.connect(self.overlay.clear)
        bench.verdict.connect(self._verdict)
        bench.work_started.connect(self._bind_work)
        self._keys()
        self._show(bench.screen.value)

    def _keys(self) -> None:
        bindings = {
            Qt.Key.Key_Return: self.bench.enter,
            Qt.Key.Key_Enter: self.bench.enter,
            Qt.Key.Key_Escape: self.bench.escape,
            Qt.Key.Key_F2: lambda: self._work_request("request_short"),
            Qt.Key.Key_F3: lambda: self._work_request("request_override"),
            # F9: supervisors open the four-eyes approvals (F7/F8 and arrows live on it).
            Qt.Key.Key_F9: self.bench.open_approvals,
            # F10: supervisors open the dashboard (Escape goes back to the orders).
            Qt.Key.Key_F10: self.bench.open_dashboard,
            # F5: the shipping label the pack screen asks for, printed again (F4: last label).
            Qt.Key.Key_F5: lambda: self._work_request("reprint_label"),
        }
        for key, slot in bindings.items():
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
            shortcut.activated.connect(slot)

    def _work_request(self, name: str) -> None:
        screen = self.stack.currentWidget()
        if isinstance(screen, WorkScreen):
            screen.request(name)

    def _show(self, name: str) -> None:
        self.stack.setCurrentWidget(self.screens[Screen(name)])
        if self.approvals_screen is not None and name == Screen.APPROVALS.value:
            self.approvals_screen.setFocus()  # its keys work while it has the focus

    def _bind_work(self, vm: WorkViewModel) -> None:
        packing = isinstance(vm, PackViewModel | LabelViewModel)
        screen = self.pack_screen if packing else self.pick_screen
        screen.bind(vm)
        if isinstance(vm, LabelViewModel) and self.demo_dock is not None:
            dock = self.demo_dock
            vm.labels_printed.connect(lambda labels: dock.set_extra([
                DemoBarcode(label=f"Printed label {n}: {number}", text=number)
                for n, number in labels]))  # fmt: skip

    def _verdict(self, kind: str, words: str) -> None:
        self.overlay.show_verdict(kind, words)
        if kind == VerdictKind.ACCEPTED.value:
            self._sounds.good()
        else:
            self._sounds.error()
