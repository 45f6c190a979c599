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
from station.sync.approvals_client import ApprovalsClient
from station.sync.client import ServerGateway
from station.ui.background import Background
from station.ui.signals import emit
from station.ui.view_models.approvals import ApprovalsViewModel, Step
from station.ui.view_models.dashboard import DashboardViewModel
from station.ui.view_models.dispatch import DispatchViewModel
from station.ui.view_models.labelling import LabelViewModel
from station.ui.view_models.login import LoginViewModel, Operator
from station.ui.view_models.pack import PackViewModel
from station.ui.view_models.pick import PickViewModel
from station.ui.view_models.returns import ReturnsDeskViewModel
from station.ui.view_models.status import StatusViewModel
from station.ui.view_models.tasks import TaskListViewModel
from station.ui.view_models.work import JournalAppend, VerdictKind, WorkViewModel
from station.work.pack import PackSession
from station.work.pick import PickSession
from station.work.scan import BadgeScan, read_text

PickFactory = Callable[[TaskOut, Operator], PickSession]
PackFactory = Callable[[TaskOut, Operator], PackSession]
# The label step after packing: (task, key of the journaled PackCompleted) -> its view-model.
LabelFactory = Callable[[TaskOut, str | None], LabelViewModel]


class Screen(StrEnum):
    LOGIN = "login"
    TASKS = "tasks"
    PICK = "pick"
    PACK = "pack"
    DONE = "done"
    APPROVALS = "approvals"  # supervisors: four-eyes requests waiting for a decision
    DISPATCH = "dispatch"  # a dispatch door: pickups, handover scans, reprint and void
    RETURNS = "returns"  # a returns desk: parcels, units into quarantine bins
    DASHBOARD = "dashboard"  # supervisors: live figures and the exception queue


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
        make_labelling: LabelFactory | None = None,
        approvals: ApprovalsClient | None = None,
        dispatch: DispatchViewModel | None = None,
        returns: ReturnsDeskViewModel | None = None,
        dashboard: DashboardViewModel | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._gateway = gateway
        self._journal_append = journal_append
        self._make_pick, self._make_pack = make_pick, make_pack
        self._make_labelling = make_labelling  # None: a bench that prints no shipping labels
        self._status = status
        self.login = LoginViewModel(gateway=gateway, background=background, parent=self)
        self.tasks = TaskListViewModel(gateway=gateway, background=background, parent=self)
        self.approvals: ApprovalsViewModel | None = None
        if approvals is not None:  # None: a bench without the approvals screen
            self.approvals = ApprovalsViewModel(
                client=approvals, background=background, parent=self
            )
            self.approvals.verdict.connect(self.verdict)
            self.operator_changed.connect(self.approvals.set_operator)
        # A dispatch door (station mode "dispatch") goes from sign-in to the door, not to tasks.
        self.dispatch = dispatch
        if dispatch is not None:
            dispatch.setParent(self)
            dispatch.verdict.connect(self.verdict)
        # A returns desk (station mode "returns") goes from sign-in to the desk.
        self.returns = returns
        if returns is not None:
            returns.setParent(self)
            returns.verdict.connect(self.verdict)
        # The supervisors' dashboard (None: a station without it): opens when a supervisor signs
        # in, and by F10 between orders.
        self.dashboard = dashboard
        if dashboard is not None:
            dashboard.setParent(self)
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
        elif screen is Screen.APPROVALS and self.approvals is not None:
            self.approvals.handle_scan(scan)
        elif screen is Screen.DISPATCH and self.dispatch is not None:
            if isinstance(read_text(scan.text, symbology_id=scan.symbology_id), BadgeScan):
                self.login.handle_scan(scan)  # another loader takes over the door
            else:
                self.dispatch.handle_scan(scan)
        elif screen is Screen.RETURNS and self.returns is not None:
            if isinstance(read_text(scan.text, symbology_id=scan.symbology_id), BadgeScan):
                self.login.handle_scan(scan)  # another clerk takes over the desk
            else:
                self.returns.handle_scan(scan)
        elif screen is Screen.DASHBOARD:
            if isinstance(read_text(scan.text, symbology_id=scan.symbology_id), BadgeScan):
                self.login.handle_scan(scan)  # someone else takes over the station
            else:
                emit(self.verdict, VerdictKind.REJECTED.value,
                     "This is the dashboard: press Escape for the orders, then scan")  # fmt: skip
        elif self.work is not None:
            self.work.handle_scan(scan)

    @Slot()
    def enter(self) -> None:
        if self._screen is Screen.TASKS:
            self.tasks.claim_first()
        elif self._screen is Screen.PACK and isinstance(self.work, PackViewModel):
            self.work.close_box()
        elif self._screen is Screen.PACK and isinstance(self.work, LabelViewModel):
            self.work.retry()
        elif self._screen is Screen.DONE:
            self._to_tasks()
        elif self._screen is Screen.APPROVALS and self.approvals is not None:
            self.approvals.enter()
        elif self._screen is Screen.RETURNS and self.returns is not None:
            self.returns.enter()  # send a unit again after the server did not answer

    @Slot()
    def open_dashboard(self) -> None:
        """Supervisors, between orders: the live figures and the exception queue."""
        if self.dashboard is None or self._screen is Screen.DASHBOARD:
            return
        if self._screen not in (Screen.TASKS, Screen.DONE):
            emit(self.verdict, VerdictKind.REJECTED.value,
                 "Finish or cancel the order first, then open the dashboard")  # fmt: skip
            return
        if not _supervises(self.operator):
            emit(self.verdict, VerdictKind.REJECTED.value,
                 "The dashboard is for supervisors: sign in with a supervisor badge")  # fmt: skip
            return
        self._show(Screen.DASHBOARD)

    @Slot()
    def open_approvals(self) -> None:
        """Supervisors, between orders: the requests waiting for a second person."""
        if self.approvals is None or self._screen is Screen.APPROVALS:
            return
        # (A supervisor's sign-in lands on the dashboard: F9 from there is between orders too.)
        if self._screen not in (Screen.TASKS, Screen.DONE, Screen.DASHBOARD):
            emit(self.verdict, VerdictKind.REJECTED.value,
                 "Finish or cancel the order first, then open the approvals")  # fmt: skip
            return
        roles = set(self.operator.roles) if self.operator is not None else set()
        if not roles & {"supervisor", "admin"}:
            emit(self.verdict, VerdictKind.REJECTED.value,
                 "Approvals are for supervisors: sign in with a supervisor badge")  # fmt: skip
            return
        self.approvals.set_operator(self.operator)
        self.approvals.cancel()
        self._show(Screen.APPROVALS)
        self.approvals.refresh()

    @Slot()
    def escape(self) -> None:
        if self._screen is Screen.DASHBOARD:
            self._to_tasks()
            return
        if self._screen is Screen.APPROVALS and self.approvals is not None:
            if self.approvals.step is Step.CHOOSE:
                self._to_tasks()
            else:
                self.approvals.cancel()
            return
        if self._screen is Screen.RETURNS and self.returns is not None:
            if not self.returns.escape():  # nothing in hand: Escape signs out, as on tasks
                self.sign_out()
            return
        if self._screen is Screen.DISPATCH and self.dispatch is not None:
            if not self.dispatch.cancel():  # nothing armed: Escape signs out, as on tasks
                self.sign_out()
            return
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
            if isinstance(self.work, LabelViewModel):
                self.work.stop()
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
        elif self._screen is Screen.DISPATCH and self.dispatch is not None:
            self.dispatch.refresh_soon()  # a carton labelled or handed over somewhere

    # -- flow -----------------------------------------------------------------------------
    def _signed_in(self, operator: Operator) -> None:
        self.operator = operator
        emit(self.operator_changed, operator)
        if self._status is not None:
            self._status.set_operator(operator.name)
        emit(self.verdict, VerdictKind.ACCEPTED.value, f"Hello {operator.name}")
        if self.returns is not None:
            if self._screen is not Screen.RETURNS:
                self.returns.reset()  # a new clerk starts with an empty desk
                self._show(Screen.RETURNS)
            return
        if self.dispatch is not None:
            if self._screen is not Screen.DISPATCH:
                self._show(Screen.DISPATCH)
            self.dispatch.enter()
            return
        dashboard_screens = (Screen.LOGIN, Screen.TASKS, Screen.DASHBOARD)
        if (
            self.dashboard is not None
            and self._screen in dashboard_screens
            and _supervises(operator)
        ):
            self._show(Screen.DASHBOARD)  # a supervisor starts on the figures
            return
        if self._screen in (Screen.LOGIN, Screen.TASKS, Screen.DASHBOARD):
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
        if task.state == "packed":
            # Packed, never labelled (a restart, or set aside after a refused purchase).
            self._label(pack_key=None)
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
        vm.completed.connect(lambda: self._packed(vm))
        self._start(vm, Screen.PACK)

    def _packed(self, vm: PackViewModel) -> None:
        """Packed: the same screen goes on to the label (bought, printed, scanned back)."""
        done = vm.session.completion
        self._label(pack_key=str(done.key) if done is not None else None)

    def _label(self, *, pack_key: str | None) -> None:
        if self._make_labelling is None or self.task is None:
            self._show(Screen.DONE)
            return
        labels = self._make_labelling(self.task, pack_key)
        labels.setParent(self)
        labels.completed.connect(lambda: self._show(Screen.DONE))
        labels.set_aside.connect(self._set_aside)
        self._start(labels, Screen.PACK)
        labels.begin()

    def _set_aside(self, words: str) -> None:
        self.task = None
        self._to_tasks()
        emit(self.verdict, VerdictKind.REJECTED.value, words)

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
            if self.dashboard is not None and self._screen is Screen.DASHBOARD:
                self.dashboard.deactivate()
            self._screen = screen
            if self.dashboard is not None and screen is Screen.DASHBOARD:
                self.dashboard.activate()
            emit(self.screen_changed, screen.value)


def _supervises(operator: Operator | None) -> bool:
    return operator is not None and bool({"supervisor", "admin"} & set(operator.roles))
