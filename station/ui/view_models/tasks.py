"""The task list: released orders from the server, claimed by scanning the order number.

Both calls go through the gateway, so both run off the GUI thread. Offline, the list keeps
what it last showed and says so; claiming needs the server (two benches must not pick the
same order).
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal, Slot

from shared.contract.orders import TaskOut
from station.devices.scanner import RawScan
from station.sync.client import ServerGateway
from station.ui.background import Background
from station.ui.signals import emit
from station.ui.words import gateway_failure
from station.work.scan import OrderScan, read_text


@dataclass(frozen=True, kw_only=True)
class TaskSummary:
    order_id: int
    number: str
    lines: int
    units: int
    ship_by: str | None


def summarise(task: TaskOut) -> TaskSummary:
    return TaskSummary(
        order_id=task.order_id,
        number=task.number,
        lines=len(task.lines),
        units=sum(line.qty for line in task.lines),
        ship_by=task.ship_by,
    )


class TaskListViewModel(QObject):
    busy_changed = Signal(bool)
    tasks_changed = Signal(object)  # tuple[TaskSummary, ...]
    claimed = Signal(object)  # TaskOut, as the server handed it over
    failed = Signal(str)  # operator words

    def __init__(
        self, *, gateway: ServerGateway, background: Background, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._gateway = gateway
        self._background = background
        self._tasks: tuple[TaskSummary, ...] = ()
        self._inflight = 0
        self._claiming = False
        self._loading = False
        # An order label scanned while the list is still loading (right after badging in):
        # answered when the list arrives instead of refused.
        self._waiting_number: str | None = None

    @property
    def tasks(self) -> tuple[TaskSummary, ...]:
        return self._tasks

    @Slot()
    def refresh(self) -> None:
        gateway = self._gateway
        self._started()
        self._loading = True
        self._background.submit(
            lambda: [summarise(t) for t in gateway.tasks()],
            on_result=self._listed,
            on_error=self._list_failed,
        )

    def _list_failed(self, exc: BaseException) -> None:
        self._loading = False
        self._waiting_number = None
        self._fail(gateway_failure(exc, doing="load the orders"))

    @Slot(object)
    def handle_scan(self, scan: RawScan) -> None:
        meaning = read_text(scan.text, symbology_id=scan.symbology_id)
        if not isinstance(meaning, OrderScan):
            emit(self.failed, "Scan an order number from the list")
            return
        self._claim_number(meaning.number)

    def _claim_number(self, number: str) -> None:
        found = next((t for t in self._tasks if t.number == number), None)
        if found is None and self._loading:
            self._waiting_number = number
            return
        if found is None:
            emit(self.failed, f"{number} is not in the list: scan one that is")
            return
        self.claim(order_id=found.order_id)

    @Slot()
    def claim_first(self) -> None:
        if self._tasks:
            self.claim(order_id=self._tasks[0].order_id)
        else:
            emit(self.failed, "No orders waiting")

    def claim(self, *, order_id: int) -> None:
        if self._claiming:
            return  # one claim at a time; the scan that started it is being answered
        gateway = self._gateway
        self._claiming = True
        self._started()
        self._background.submit(
            lambda: gateway.claim(order_id=order_id),
            on_result=self._claimed,
            on_error=self._claim_failed,
        )

    def _listed(self, tasks: list[TaskSummary]) -> None:
        self._ended()
        self._loading = False
        self._tasks = tuple(tasks)
        emit(self.tasks_changed, self._tasks)
        waiting, self._waiting_number = self._waiting_number, None
        if waiting is not None:
            self._claim_number(waiting)

    def _claimed(self, task: TaskOut) -> None:
        self._claiming = False
        self._ended()
        self._tasks = tuple(t for t in self._tasks if t.order_id != task.order_id)
        emit(self.tasks_changed, self._tasks)
        emit(self.claimed, task)

    def _claim_failed(self, exc: BaseException) -> None:
        self._claiming = False
        self._fail(gateway_failure(exc, doing="take this order"))
        self.refresh()  # someone else may have taken it: show what is really left

    def _fail(self, words: str) -> None:
        self._ended()
        emit(self.failed, words)

    def _started(self) -> None:
        self._inflight += 1
        if self._inflight == 1:
            emit(self.busy_changed, True)

    def _ended(self) -> None:
        self._inflight -= 1
        if self._inflight == 0:
            emit(self.busy_changed, False)
