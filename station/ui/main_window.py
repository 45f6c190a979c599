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
from station.ui.view_models.pack import PackViewModel
from station.ui.view_models.status import StatusViewModel
from station.ui.view_models.work import VerdictKind, WorkViewModel
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

    def _bind_work(self, vm: WorkViewModel) -> None:
        screen = self.pack_screen if isinstance(vm, PackViewModel) else self.pick_screen
        screen.bind(vm)

    def _verdict(self, kind: str, words: str) -> None:
        self.overlay.show_verdict(kind, words)
        if kind == VerdictKind.ACCEPTED.value:
            self._sounds.good()
        else:
            self._sounds.error()
