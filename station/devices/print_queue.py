"""Label print queue: one worker thread, jobs persisted in SQLite, held (never dropped) while the
printer cannot print, retried with back-off, reprintable by id.

Why SQLite rather than a spool directory: a job's state change (pending -> printed) is one
atomic, durable transaction (WAL + synchronous=FULL survives a power cut), order is a primary
key instead of file-name conventions, and the printed history needed for reprint lives in the
same file. The store is station-local; nothing here talks to the server.

Delivery is at-least-once: a job whose bytes left for the printer just before a power cut is
still `pending` after restart and prints again. A duplicate label is voided at dispatch; a lost
label stops a shipment, so this side of the trade-off is the right one.

Thread affinity: `on_event` runs on the worker thread (QUEUED events on the submitting thread).
The station's Qt bridge re-emits each event as a Signal (queued connection), so widgets never
run on either of them.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from station.devices.printer import LabelPrinter, PrinterError, PrinterState

log = logging.getLogger(__name__)


class JobState(StrEnum):
    PENDING = "pending"
    PRINTED = "printed"


class QueueEventKind(StrEnum):
    QUEUED = "queued"
    PRINTED = "printed"
    HELD = "held"
    PRINTER_STATE = "printer_state"


@dataclass(frozen=True, kw_only=True)
class PrintJob:
    id: int
    zpl: bytes
    title: str
    state: JobState
    attempts: int
    created_at: float
    printed_at: float | None
    last_error: str
    reprint_of: int | None


@dataclass(frozen=True, kw_only=True)
class QueueEvent:
    kind: QueueEventKind
    printer_state: PrinterState
    pending: int
    job_id: int | None = None
    message: str = ""


@dataclass(frozen=True, kw_only=True)
class Backoff:
    initial: float = 1.0
    maximum: float = 30.0
    factor: float = 2.0


class UnknownJob(LookupError):
    pass


_SCHEMA = """
CREATE TABLE IF NOT EXISTS print_job (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    zpl         BLOB    NOT NULL,
    title       TEXT    NOT NULL DEFAULT '',
    state       TEXT    NOT NULL CHECK (state IN ('pending', 'printed')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    created_at  REAL    NOT NULL,
    printed_at  REAL,
    last_error  TEXT    NOT NULL DEFAULT '',
    reprint_of  INTEGER REFERENCES print_job(id)
);
CREATE INDEX IF NOT EXISTS print_job_pending ON print_job(state, id);
"""

_COLUMNS = "id, zpl, title, state, attempts, created_at, printed_at, last_error, reprint_of"


def _row_to_job(row: tuple[object, ...]) -> PrintJob:
    id_, zpl, title, state, attempts, created, printed, error, reprint_of = row
    assert isinstance(id_, int) and isinstance(zpl, bytes) and isinstance(attempts, int)
    assert isinstance(created, float) and isinstance(title, str) and isinstance(error, str)
    assert printed is None or isinstance(printed, float)
    assert reprint_of is None or isinstance(reprint_of, int)
    return PrintJob(
        id=id_,
        zpl=zpl,
        title=title,
        state=JobState(str(state)),
        attempts=attempts,
        created_at=created,
        printed_at=printed,
        last_error=error,
        reprint_of=reprint_of,
    )


class PrintQueue:
    def __init__(
        self,
        *,
        printer: LabelPrinter,
        store: Path,
        on_event: Callable[[QueueEvent], None],
        backoff: Backoff = Backoff(),
        idle_poll: float | None = None,
    ) -> None:
        self._printer = printer
        self._on_event = on_event
        self._backoff = backoff
        self._idle_poll = idle_poll
        # One connection shared by the caller's thread (submit/reprint) and the worker; the lock
        # serialises them, which sqlite3's check_same_thread would otherwise forbid.
        self._db_lock = threading.Lock()
        self._db = sqlite3.connect(store, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._state = PrinterState.READY
        self._held: tuple[int, PrinterState] | None = None

    # -- caller side (any thread) ------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("print queue already started")
        self._thread = threading.Thread(target=self._run, name="print-queue", daemon=True)
        self._thread.start()

    def stop(self, *, timeout: float = 10.0) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise RuntimeError("print queue thread did not stop (printer call stuck?)")
            self._thread = None
        with self._db_lock:
            self._db.close()

    def submit(self, zpl: bytes, *, title: str = "") -> int:
        job_id = self._insert(zpl=zpl, title=title, reprint_of=None)
        self._wake.set()
        return job_id

    def reprint(self, job_id: int) -> int:
        original = self.job(job_id)
        new_id = self._insert(
            zpl=original.zpl, title=original.title, reprint_of=original.reprint_of or job_id
        )
        self._wake.set()
        return new_id

    def retry_now(self) -> None:
        """Skips the back-off wait (the operator says the paper is loaded)."""
        self._wake.set()

    def job(self, job_id: int) -> PrintJob:
        with self._db_lock:
            row = self._db.execute(
                f"SELECT {_COLUMNS} FROM print_job WHERE id = ?", (job_id,)
            ).fetchone()
        if row is None:
            raise UnknownJob(f"no print job {job_id}")
        return _row_to_job(row)

    def jobs(self, *, state: JobState | None = None, limit: int = 50) -> list[PrintJob]:
        where, args = ("WHERE state = ?", (state.value, limit)) if state else ("", (limit,))
        with self._db_lock:
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM print_job {where} ORDER BY id DESC LIMIT ?", args
            ).fetchall()
        return [_row_to_job(r) for r in rows]

    def pending_count(self) -> int:
        with self._db_lock:
            (n,) = self._db.execute(
                "SELECT COUNT(*) FROM print_job WHERE state = 'pending'"
            ).fetchone()
        return int(n)

    def _insert(self, *, zpl: bytes, title: str, reprint_of: int | None) -> int:
        with self._db_lock:
            self._db.execute("BEGIN IMMEDIATE")
            cur = self._db.execute(
                "INSERT INTO print_job (zpl, title, state, created_at, reprint_of)"
                " VALUES (?, ?, 'pending', ?, ?)",
                (zpl, title, time.time(), reprint_of),
            )
            self._db.execute("COMMIT")
        job_id = cur.lastrowid
        assert job_id is not None
        self._emit(QueueEventKind.QUEUED, job_id=job_id, message=title)
        return job_id

    # -- worker thread -----------------------------------------------------------------------

    def _emit(self, kind: QueueEventKind, *, job_id: int | None = None, message: str = "") -> None:
        event = QueueEvent(
            kind=kind,
            printer_state=self._state,
            pending=self.pending_count(),
            job_id=job_id,
            message=message,
        )
        try:
            self._on_event(event)
        except Exception:  # a broken listener must not stop printing
            log.exception("print queue listener failed on %s", event)

    def _set_state(self, state: PrinterState, message: str) -> None:
        if state is not self._state:
            self._state = state
            self._emit(QueueEventKind.PRINTER_STATE, message=message)

    def _next_pending(self) -> PrintJob | None:
        with self._db_lock:
            row = self._db.execute(
                f"SELECT {_COLUMNS} FROM print_job WHERE state = 'pending' ORDER BY id LIMIT 1"
            ).fetchone()
        return None if row is None else _row_to_job(row)

    def _record(self, job_id: int, *, printed: bool, error: str) -> None:
        with self._db_lock:
            self._db.execute("BEGIN IMMEDIATE")
            if printed:
                self._db.execute(
                    "UPDATE print_job SET state = 'printed', printed_at = ?,"
                    " attempts = attempts + 1, last_error = ? WHERE id = ?",
                    (time.time(), error, job_id),
                )
            else:
                self._db.execute(
                    "UPDATE print_job SET attempts = attempts + 1, last_error = ? WHERE id = ?",
                    (error, job_id),
                )
            self._db.execute("COMMIT")

    def _run(self) -> None:
        delay = self._backoff.initial
        while not self._stopping.is_set():
            job = self._next_pending()
            if job is None:
                self._idle()
                continue
            try:
                self._printer.send(job.zpl)
            except PrinterError as exc:
                if exc.delivered:
                    # In the printer's (or CUPS's) hands: it prints when the fault clears.
                    self._record(job.id, printed=True, error=exc.detail)
                    self._held = None
                    self._set_state(exc.state, exc.detail)
                    self._emit(QueueEventKind.PRINTED, job_id=job.id, message=exc.detail)
                    continue
                self._hold(job, state=exc.state, message=exc.detail)
            except Exception as exc:  # a driver bug holds the job instead of killing the thread
                log.exception("printer driver failed on job %s", job.id)
                self._hold(job, state=PrinterState.FAULT, message=f"printer driver error: {exc}")
            else:
                self._record(job.id, printed=True, error="")
                self._held = None
                delay = self._backoff.initial
                self._set_state(PrinterState.READY, "")
                self._emit(QueueEventKind.PRINTED, job_id=job.id, message=job.title)
                continue
            self._wake.wait(delay)
            self._wake.clear()
            delay = min(delay * self._backoff.factor, self._backoff.maximum)

    def _hold(self, job: PrintJob, *, state: PrinterState, message: str) -> None:
        self._record(job.id, printed=False, error=message)
        self._set_state(state, message)
        if self._held != (job.id, state):
            self._held = (job.id, state)
            self._emit(QueueEventKind.HELD, job_id=job.id, message=message)

    def _idle(self) -> None:
        self._wake.wait(self._idle_poll)
        self._wake.clear()
        if self._idle_poll is None or self._stopping.is_set() or self._next_pending():
            return
        try:
            status = self._printer.status()
        except PrinterError as exc:
            self._set_state(exc.state, exc.detail)
        else:
            self._set_state(status.state, status.detail)
