"""The print queue: held not lost, retried, persisted across restarts, reprint by id."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from station.devices.fake_printer import FakePrinter
from station.devices.print_queue import (
    Backoff,
    JobState,
    PrintQueue,
    QueueEvent,
    QueueEventKind,
    UnknownJob,
)
from station.devices.printer import PaperOut, PrinterState, PrinterStatus
from station.devices.tcp_printer import TcpPrinter
from tests.fakes.printer_emulator import PrinterEmulator

FAST = Backoff(initial=0.02, maximum=0.1)
WAIT = 10.0


def label(n: int) -> bytes:
    return b"^XA^FO20,20^A0N,30,30^FDjob %d^FS^XZ" % n


def wait_until(condition: Callable[[], bool], *, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


class Events:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.seen: list[QueueEvent] = []

    def __call__(self, event: QueueEvent) -> None:
        with self._cond:
            self.seen.append(event)
            self._cond.notify_all()

    def wait_for(self, match: Callable[[QueueEvent], bool], *, timeout: float = WAIT) -> QueueEvent:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for event in self.seen:
                    if match(event):
                        return event
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no matching event; saw {self.seen}")
                self._cond.wait(remaining)

    def printed(self, job_id: int) -> QueueEvent:
        return self.wait_for(lambda e: e.kind is QueueEventKind.PRINTED and e.job_id == job_id)

    def held(self, job_id: int, state: PrinterState) -> QueueEvent:
        return self.wait_for(
            lambda e: (
                e.kind is QueueEventKind.HELD and e.job_id == job_id and e.printer_state is state
            )
        )


@pytest.fixture
def events() -> Events:
    return Events()


@pytest.fixture
def make_queue(tmp_path: Path, events: Events) -> Iterator[Callable[..., PrintQueue]]:
    started: list[PrintQueue] = []

    def make(printer: object, **kwargs: object) -> PrintQueue:
        queue = PrintQueue(
            printer=printer,  # type: ignore[arg-type]
            store=tmp_path / "print-jobs.sqlite3",
            on_event=events,
            backoff=FAST,
            **kwargs,  # type: ignore[arg-type]
        )
        queue.start()
        started.append(queue)
        return queue

    yield make
    for queue in started:
        with contextlib.suppress(Exception):  # already stopped by the test
            queue.stop()


@pytest.mark.parametrize(
    "fault",
    [PrinterState.PAPER_OUT, PrinterState.HEAD_OPEN, PrinterState.PAUSED, PrinterState.OFFLINE],
)
def test_fake_printer_fault_holds_the_job_until_cleared(
    make_queue: Callable[..., PrintQueue], events: Events, fault: PrinterState
) -> None:
    printer = FakePrinter()
    printer.set_fault(fault)
    queue = make_queue(printer)
    job_id = queue.submit(label(1), title="order 1")
    held = events.held(job_id, fault)
    assert held.pending == 1
    # Still held after several retries, never dropped.
    wait_until(lambda: printer.status_queries >= 3)
    job = queue.job(job_id)
    assert job.state is JobState.PENDING and job.attempts >= 1 and job.last_error
    assert printer.labels == []

    printer.set_fault(PrinterState.READY)
    queue.retry_now()
    events.printed(job_id)
    assert printer.labels == [label(1)]
    assert queue.job(job_id).state is JobState.PRINTED
    assert queue.pending_count() == 0
    events.wait_for(
        lambda e: e.kind is QueueEventKind.PRINTER_STATE and e.printer_state is PrinterState.READY
    )


@pytest.mark.parametrize(
    "fault",
    [{"paper_out": True}, {"head_open": True}, {"paused": True}, {"silent": True}],
    ids=["paper_out", "head_open", "paused", "silent"],
)
def test_tcp_printer_fault_holds_the_job_and_prints_it_once_when_cleared(
    make_queue: Callable[..., PrintQueue], events: Events, fault: dict[str, bool]
) -> None:
    with PrinterEmulator() as emulator:
        emulator.set_fault(**fault)
        queue = make_queue(TcpPrinter(host="127.0.0.1", port=emulator.port, timeout=0.5))
        first = queue.submit(label(1))
        second = queue.submit(label(2))
        expected = (
            PrinterState.OFFLINE if fault.get("silent") else next(PrinterState(k) for k in fault)
        )
        events.held(first, expected)
        assert emulator.labels == []

        emulator.set_fault()
        queue.retry_now()
        events.printed(second)
        # In order, each exactly once.
        assert emulator.wait_for_labels(2) == [label(1), label(2)]
        assert queue.job(first).state is JobState.PRINTED


def test_refused_connections_hold_the_job(
    make_queue: Callable[..., PrintQueue], events: Events
) -> None:
    with PrinterEmulator() as emulator:
        emulator.refuse_connections(True)
        queue = make_queue(TcpPrinter(host="127.0.0.1", port=emulator.port, timeout=0.5))
        job_id = queue.submit(label(7))
        events.held(job_id, PrinterState.OFFLINE)
        emulator.refuse_connections(False)
        queue.retry_now()
        events.printed(job_id)
        assert emulator.wait_for_labels(1) == [label(7)]


def test_pending_jobs_survive_a_restart(
    make_queue: Callable[..., PrintQueue], events: Events
) -> None:
    off = FakePrinter()
    off.set_fault(PrinterState.OFFLINE)
    queue = make_queue(off)
    ids = [queue.submit(label(n)) for n in (1, 2, 3)]
    events.held(ids[0], PrinterState.OFFLINE)
    queue.stop()

    printer = FakePrinter()
    restarted = make_queue(printer)
    events.printed(ids[-1])
    assert printer.labels == [label(1), label(2), label(3)]
    assert [j.id for j in restarted.jobs(state=JobState.PRINTED)] == ids[::-1]


def test_reprint_by_id_prints_the_same_bytes_again(
    make_queue: Callable[..., PrintQueue], events: Events
) -> None:
    printer = FakePrinter()
    queue = make_queue(printer)
    original = queue.submit(label(5), title="order 5")
    events.printed(original)
    again = queue.reprint(original)
    events.printed(again)
    assert again != original
    assert printer.labels == [label(5), label(5)]
    reprinted = queue.job(again)
    assert reprinted.reprint_of == original and reprinted.title == "order 5"
    # A reprint of a reprint still points at the original job.
    assert queue.job(queue.reprint(again)).reprint_of == original
    with pytest.raises(UnknownJob):
        queue.reprint(9999)


class _FaultAfterDelivery:
    """Takes the job, then reports paper out: the label sits in the printer's buffer."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def status(self) -> PrinterStatus:
        return PrinterStatus(paper_out=bool(self.sent))

    def send(self, zpl: bytes) -> None:
        self.sent.append(zpl)
        raise PaperOut("ran out after the job", delivered=True)


def test_fault_after_delivery_is_reported_but_never_resent(
    make_queue: Callable[..., PrintQueue], events: Events
) -> None:
    printer = _FaultAfterDelivery()
    queue = make_queue(printer)
    job_id = queue.submit(label(9))
    printed = events.printed(job_id)
    assert printed.printer_state is PrinterState.PAPER_OUT
    assert queue.job(job_id).state is JobState.PRINTED
    assert queue.job(job_id).last_error == "ran out after the job"
    queue.stop()
    assert printer.sent == [label(9)]


def test_idle_poll_reports_a_printer_that_goes_offline(
    make_queue: Callable[..., PrintQueue], events: Events
) -> None:
    printer = FakePrinter()
    make_queue(printer, idle_poll=0.02)
    printer.set_fault(PrinterState.HEAD_OPEN)
    events.wait_for(
        lambda e: (
            e.kind is QueueEventKind.PRINTER_STATE and e.printer_state is PrinterState.HEAD_OPEN
        )
    )


def test_a_failing_listener_does_not_stop_printing(tmp_path: Path) -> None:
    printer = FakePrinter()
    done = threading.Event()

    def listener(event: QueueEvent) -> None:
        if event.kind is QueueEventKind.PRINTED:
            done.set()
        raise RuntimeError("listener bug")

    queue = PrintQueue(printer=printer, store=tmp_path / "q.sqlite3", on_event=listener)
    queue.start()
    try:
        queue.submit(label(1))
        queue.submit(label(2))
        assert done.wait(WAIT)
        wait_until(lambda: queue.pending_count() == 0)
        assert printer.labels == [label(1), label(2)]
    finally:
        queue.stop()
