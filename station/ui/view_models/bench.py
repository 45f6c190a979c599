"""The bench's flow: login -> task list/claim -> pick -> pack -> done, and where scans go.

One scan source (the bridge) feeds `handle_scan`; this view-model hands the scan to whichever
step is on screen, so a scan can never count in a screen the operator is not looking at.
Sessions are built by factories from the composition root (tolerances, box types, supervisor
badges and bin confirmation are bench configuration, not screen logic).
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

from PySide6.QtCore import QObject, Signal, Slot

from shared.contract.orders import TaskOut
from station.devices.scanner import RawScan
from station.sync.client import ServerGateway
from station.ui.background import Background
from station.ui.signals import emit
from station.ui.view_models.login import LoginViewModel, Operator
from station.ui.view_models.pack import PackViewModel
from station.ui.view_models.pick import PickViewModel
from station.ui.view_models.status import StatusViewModel
from station.ui.view_models.tasks import TaskListViewModel
from station.ui.view_models.work import JournalAppend, VerdictKind, WorkViewModel
from station.work.pack import PackSession
from station.work.pick import PickSession
from station.work.scan import BadgeScan, read_text

PickFactory = Callable[[TaskOut, Operator], PickSession]
PackFactory = Callable[[TaskOut, Operator], PackSession]


class Screen(StrEnum):
    LOGIN = "login"
    TASKS = "tasks"
    PICK = "pick"
    PACK = "pack"
    DONE = "done"


class BenchViewModel(QObject):
    screen_changed = Signal(str)  # Screen value
    scan_seen = Signal()  # any scan arrived (the overlay clears on it)
    verdict = Signal(str, str)  # VerdictKind value, words: every screen's answer to a scan
    work_started = Signal(object)  # the new PickViewModel / PackViewModel
    operator_changed = Signal(object)  # Operator | None

    def __init__(
        self,
        *,
        gateway: ServerGateway,
        background: Background,
        journal_append: JournalAppend,
        make_pick: PickFactory,
        make_pack: PackFactory,
        status: StatusViewModel | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._gateway = gateway
        self._journal_append = journal_append
        self._make_pick, self._make_pack = make_pick, make_pack
        self._status = status
        self.login = LoginViewModel(gateway=gateway, background=background, parent=self)
        self.tasks = TaskListViewModel(gateway=gateway, background=background, parent=self)
        self.work: WorkViewModel | None = None
        self.operator: Operator | None = None
        self.task: TaskOut | None = None
        self._screen = Screen.LOGIN
        self.login.signed_in.connect(self._signed_in)
        self.login.failed.connect(self._refused)
        self.tasks.failed.connect(self._refused)
        self.tasks.claimed.connect(self._claimed)

    @property
    def screen(self) -> Screen:
        return self._screen

    @Slot(object)
    def handle_scan(self, scan: RawScan) -> None:
        emit(self.scan_seen)
        screen = self._screen
        if screen is Screen.LOGIN:
            self.login.handle_scan(scan)
        elif screen is Screen.TASKS:
            if isinstance(read_text(scan.text, symbology_id=scan.symbology_id), BadgeScan):
                self.login.handle_scan(scan)  # another operator takes over the bench
            else:
                self.tasks.handle_scan(scan)
        elif screen is Screen.DONE:
            self._to_tasks()
            self.tasks.handle_scan(scan)  # the next order number claims straight away
        elif self.work is not None:
            self.work.handle_scan(scan)

    @Slot()
    def enter(self) -> None:
        if self._screen is Screen.TASKS:
            self.tasks.claim_first()
        elif self._screen is Screen.PACK and isinstance(self.work, PackViewModel):
            self.work.close_box()
        elif self._screen is Screen.DONE:
            self._to_tasks()

    @Slot()
    def escape(self) -> None:
        if self._screen is Screen.TASKS:
            self.sign_out()
        elif self.work is not None and self._screen in (Screen.PICK, Screen.PACK):
            self.work.cancel()

    @Slot()
    def sign_out(self) -> None:
        self._gateway.logout_local()  # forgets a token in memory; no I/O
        self.operator = None
        emit(self.operator_changed, None)
        if self._status is not None:
            self._status.set_operator("")
        self._show(Screen.LOGIN)

    @Slot(object)
    def on_order_changed(self, change: object) -> None:
        """The office cancelled or edited an order. If it is the one on the bench, the work
        stops at once with words a picker can act on; otherwise the task list refreshes."""
        order_id = getattr(change, "order_id", None)
        if self.task is not None and order_id == self.task.order_id and self._screen in (
            Screen.PICK, Screen.PACK,
        ):  # fmt: skip
            what = getattr(change, "change", "changed")
            number = self.task.number
            if self.work is not None:
                self.work.cancel()
            self.task = None
            if self._status is not None:
                self._status.set_order("")
            self._show(Screen.TASKS)
            emit(self.verdict, VerdictKind.REJECTED.value,
                 f"STOP: order {number} was {what} by the office. Put the items back "
                 "in the tote and give it to your supervisor.")  # fmt: skip
            self.tasks.refresh()
        elif self._screen is Screen.TASKS:
            self.tasks.refresh()

    # -- flow -----------------------------------------------------------------------------
    def _signed_in(self, operator: Operator) -> None:
        self.operator = operator
        emit(self.operator_changed, operator)
        if self._status is not None:
            self._status.set_operator(operator.name)
        emit(self.verdict, VerdictKind.ACCEPTED.value, f"Hello {operator.name}")
        if self._screen in (Screen.LOGIN, Screen.TASKS):
            self._to_tasks()

    def _refused(self, words: str) -> None:
        emit(self.verdict, VerdictKind.REJECTED.value, words)

    def _claimed(self, task: TaskOut) -> None:
        assert self.operator is not None
        self.task = task
        if self._status is not None:
            self._status.set_order(task.number)
        if task.state in ("picked", "packing"):
            # Resumed after a restart or handed over from a pick bench: straight to packing.
            self._picked()
            return
        vm = PickViewModel(
            session=self._make_pick(task, self.operator),
            journal_append=self._journal_append,
            parent=self,
        )
        vm.completed.connect(self._picked)
        self._start(vm, Screen.PICK)

    def _picked(self) -> None:
        assert self.operator is not None and self.task is not None
        vm = PackViewModel(
            session=self._make_pack(self.task, self.operator),
            journal_append=self._journal_append,
            parent=self,
        )
        vm.completed.connect(lambda: self._show(Screen.DONE))
        self._start(vm, Screen.PACK)

    def _start(self, vm: WorkViewModel, screen: Screen) -> None:
        old, self.work = self.work, vm
        if old is not None:
            old.verdict.disconnect(self.verdict)
            old.deleteLater()
        vm.verdict.connect(self.verdict)
        emit(self.work_started, vm)
        self._show(screen)
        vm.refresh()

    def _to_tasks(self) -> None:
        if self._status is not None:
            self._status.set_order("")
        self._show(Screen.TASKS)
        self.tasks.refresh()

    def _show(self, screen: Screen) -> None:
        if screen is not self._screen:
            self._screen = screen
            emit(self.screen_changed, screen.value)
