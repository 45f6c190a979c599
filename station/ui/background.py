"""Run a blocking call (a gateway request) on a thread pool; its outcome comes back as a Signal.

The one sanctioned way off the GUI thread and back (Picard's run_task/to_main, Anki's
run_on_main). The work callable must not touch any widget or QObject: it runs on a pool thread.
The callbacks run on the GUI thread, delivered by a queued connection to this object.

Default pool: one thread, so gateway calls run in the order they were asked for (a claim never
overtakes the login it depends on), like Anki's single-worker collection executor.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal, Slot

from station.ui.signals import emit

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class _Callbacks(Generic[T]):
    on_result: Callable[[T], None]
    on_error: Callable[[BaseException], None]


class _Job(QRunnable):
    def __init__(self, *, job_id: int, work: Callable[[], object], runner: Background) -> None:
        super().__init__()
        self._job_id, self._work, self._runner = job_id, work, runner

    def run(self) -> None:  # pool thread
        try:
            result = self._work()
        except BaseException as exc:  # delivered to on_error, never lost in the pool
            emit(self._runner._finished, self._job_id, None, exc)
        else:
            emit(self._runner._finished, self._job_id, result, None)


class Background(QObject):
    busy_changed = Signal(bool)

    _finished = Signal(int, object, object)  # job id, result, error (pool thread -> GUI)

    def __init__(self, *, pool: QThreadPool | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        if pool is None:
            pool = QThreadPool(self)
            pool.setMaxThreadCount(1)
        self._pool = pool
        self._ids = itertools.count(1)
        self._pending: dict[int, _Callbacks[Any]] = {}
        self._finished.connect(self._deliver, Qt.ConnectionType.QueuedConnection)

    @property
    def busy(self) -> bool:
        return bool(self._pending)

    def submit(
        self,
        work: Callable[[], T],
        *,
        on_result: Callable[[T], None],
        on_error: Callable[[BaseException], None],
    ) -> None:
        job_id = next(self._ids)
        was_busy = self.busy
        self._pending[job_id] = _Callbacks(on_result=on_result, on_error=on_error)
        if not was_busy:
            emit(self.busy_changed, True)
        self._pool.start(_Job(job_id=job_id, work=work, runner=self))

    def wait_idle(self, *, timeout_ms: int = 10_000) -> bool:
        """Shutdown helper: waits for running calls (their results are still delivered later)."""
        return self._pool.waitForDone(timeout_ms)

    @Slot(int, object, object)
    def _deliver(self, job_id: int, result: object, error: object) -> None:
        callbacks = self._pending.pop(job_id, None)
        if callbacks is None:
            return
        try:
            if isinstance(error, BaseException):
                callbacks.on_error(error)
            else:
                callbacks.on_result(result)
        finally:
            if not self._pending:
                emit(self.busy_changed, False)
