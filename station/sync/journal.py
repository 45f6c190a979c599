"""The bench's outgoing event journal: a local SQLite file every event is written to first.

An event is durable once `append` returns: WAL mode with synchronous=FULL syncs the log to disk at
every commit, so neither `kill -9` nor a power cut loses it. Events keep their order (a rowid
sequence) and their idempotency key; after a crash between "server applied" and `mark_sent`, the
replay is answered "duplicate" by the server, so nothing is counted twice.

One connection shared by the work thread (append) and the pusher thread (pending/mark_sent),
serialised by a lock: SQLite connections are not safe to use from two threads at once.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from shared.contract.events import StationEvent

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outgoing_event (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    key        TEXT NOT NULL UNIQUE,
    kind       TEXT NOT NULL,
    order_id   INTEGER,
    body       TEXT NOT NULL,
    state      TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'rejected')),
    detail     TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    sent_at    TEXT
);
CREATE INDEX IF NOT EXISTS ix_outgoing_event_state ON outgoing_event (state, seq);
"""


@dataclass(frozen=True, slots=True)
class JournalCounts:
    queued: int
    rejected: int
    sent: int


@dataclass(frozen=True, slots=True)
class JournaledEvent:
    seq: int
    event: StationEvent


@dataclass(frozen=True, slots=True)
class RejectedEvent:
    seq: int
    key: str
    kind: str
    order_id: int | None
    detail: str


class Journal:
    def __init__(self, *, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, so a commit is a real commit.
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")  # fsync the WAL at every commit
        self._conn.execute("PRAGMA busy_timeout=10000")
        self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def append(self, event: StationEvent) -> int:
        """Durably record an event before anything else happens to it; returns its sequence."""
        with self._lock:
            cur = self._conn.execute(
                "INSERT INTO outgoing_event (key, kind, order_id, body, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (event.key, event.kind, event.order_id, event.model_dump_json(), _now()),
            )
            assert cur.lastrowid is not None
            return int(cur.lastrowid)

    def pending(self, *, limit: int = 500) -> list[JournaledEvent]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT seq, body FROM outgoing_event WHERE state = 'pending' ORDER BY seq LIMIT ?",
                (limit,),
            ).fetchall()
        return [JournaledEvent(int(s), StationEvent.model_validate_json(b)) for s, b in rows]

    def mark_sent(self, keys: list[str]) -> None:
        self._mark(keys, state="sent", detail="")

    def mark_rejected(self, key: str, *, detail: str) -> None:
        self._mark([key], state="rejected", detail=detail)

    def _mark(self, keys: list[str], *, state: str, detail: str) -> None:
        if not keys:
            return
        now = _now()
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany(
                    "UPDATE outgoing_event SET state = ?, detail = ?, sent_at = ? "
                    "WHERE key = ? AND state = 'pending'",
                    [(state, detail, now, k) for k in keys],
                )
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def counts(self) -> JournalCounts:
        with self._lock:
            got = dict(
                self._conn.execute(
                    "SELECT state, COUNT(*) FROM outgoing_event GROUP BY state"
                ).fetchall()
            )
        return JournalCounts(
            queued=int(got.get("pending", 0)),
            rejected=int(got.get("rejected", 0)),
            sent=int(got.get("sent", 0)),
        )

    def rejected(self, *, limit: int = 100) -> list[RejectedEvent]:
        """Refused events, newest first: shown to the supervisor, never retried automatically."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT seq, key, kind, order_id, detail FROM outgoing_event "
                "WHERE state = 'rejected' ORDER BY seq DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [RejectedEvent(int(a), str(b), str(c), d, str(e)) for a, b, c, d, e in rows]

    def prune_sent(self, *, keep: int = 10_000) -> int:
        """Drop the oldest delivered events beyond `keep` (the file must not grow forever)."""
        with self._lock:
            cur = self._conn.execute(
                "DELETE FROM outgoing_event WHERE state = 'sent' AND seq NOT IN "
                "(SELECT seq FROM outgoing_event WHERE state = 'sent' ORDER BY seq DESC LIMIT ?)",
                (keep,),
            )
            return int(cur.rowcount)


def _now() -> str:
    return datetime.now(UTC).isoformat()
