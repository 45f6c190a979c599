"""The returns desk's durable outbox: a unit's receipt is written here before it is sent, and
leaves only when the server has answered for it. A station restart (or a power cut) while the
server is unreachable, or after a send whose answer was lost, therefore loses nothing: the receipt
is sent again with its own idempotency key and the server lands it exactly once (a receipt that
had landed is answered with the unit it recorded, never counted as a second unit).

A small SQLite file in the station's data dir, beside the journal (station/sync/journal.py) and
with its durability: WAL with synchronous=FULL, so a receipt is on disk once `put` returns. A
connection per call: the GUI thread writes and the pool thread replays, and a few receipts a
minute make the cost of opening one irrelevant.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from shared.contract.returns import ReturnUnitIn, ReturnUnitOut
from station.sync.client import ServerRefused, ServerUnavailable
from station.sync.returns_client import ReturnsGateway

_SCHEMA = """
CREATE TABLE IF NOT EXISTS return_receipt (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    key        TEXT NOT NULL UNIQUE,
    rma_id     INTEGER NOT NULL,
    rma_number TEXT NOT NULL,
    body       TEXT NOT NULL,
    state      TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'refused')),
    detail     TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class OutboxReceipt:
    key: str
    rma_id: int
    rma_number: str
    unit: ReturnUnitIn


@dataclass(slots=True)
class ReplayReport:
    recorded: list[tuple[OutboxReceipt, ReturnUnitOut]] = field(default_factory=list)
    refused: list[tuple[OutboxReceipt, str]] = field(default_factory=list)
    unreachable: str | None = None  # why the rest still waits


class OutboxUnavailable(Exception):
    """The outbox file cannot be written (disk full, read-only, damaged): the receipt is not
    durable, and the desk must say so."""


class ReturnsOutbox:
    def __init__(self, *, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        with self._connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        # isolation_level=None: each statement commits by itself, and a commit is a real one.
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=10)
        except sqlite3.Error as exc:
            raise OutboxUnavailable(f"{self.path}: {exc}") from exc
        try:
            conn.execute("PRAGMA synchronous=FULL")  # fsync the WAL at every commit
            yield conn
        except sqlite3.Error as exc:
            raise OutboxUnavailable(f"{self.path}: {exc}") from exc
        finally:
            conn.close()

    def put(self, *, rma_id: int, rma_number: str, unit: ReturnUnitIn) -> None:
        """Durably keep a receipt before it is sent; the same key again is the same receipt."""
        with self._connect() as conn:
            conn.execute(
                "INSERT INTO return_receipt (key, rma_id, rma_number, body, created_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING",
                (unit.key, rma_id, rma_number, unit.model_dump_json(), _now()),
            )

    def done(self, key: str) -> None:
        """The server answered for it (recorded, or refused so nothing was recorded)."""
        with self._connect() as conn:
            conn.execute("DELETE FROM return_receipt WHERE key = ?", (key,))

    def refused(self, key: str, *, detail: str) -> None:
        """Kept, with the server's words, for a person to act on; never sent again by itself."""
        with self._connect() as conn:
            conn.execute(
                "UPDATE return_receipt SET state = 'refused', detail = ? WHERE key = ?",
                (detail, key),
            )

    def pending(self) -> list[OutboxReceipt]:
        return self._rows("pending")

    def refusals(self) -> list[tuple[OutboxReceipt, str]]:
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT key, rma_id, rma_number, body, detail FROM return_receipt "
                "WHERE state = 'refused' ORDER BY seq"
            ).fetchall()
        return [(_receipt(k, r, n, b), str(d)) for k, r, n, b, d in rows]

    def _rows(self, state: str) -> list[OutboxReceipt]:
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT key, rma_id, rma_number, body FROM return_receipt WHERE state = ? "
                "ORDER BY seq",
                (state,),
            ).fetchall()
        return [_receipt(k, r, n, b) for k, r, n, b in rows]


def replay(
    outbox: ReturnsOutbox, client: ReturnsGateway, *, skip: Collection[str] = ()
) -> ReplayReport:
    """Send every waiting receipt again, oldest first, each with its own key (blocking: run it
    off the GUI thread). `skip`: keys the desk is sending itself right now. Stops at the first
    sign that the server cannot be reached; what is left waits for the next replay."""
    report = ReplayReport()
    for receipt in outbox.pending():
        if receipt.key in skip:
            continue
        try:
            unit = client.receive(rma_id=receipt.rma_id, unit=receipt.unit)
        except ServerRefused as exc:
            if exc.status in (401, 403):  # nobody (or the wrong person) signed in: not the receipt
                report.unreachable = f"not allowed now: {exc.detail}"
                break
            outbox.refused(receipt.key, detail=exc.detail)
            report.refused.append((receipt, exc.detail))
            continue
        except ServerUnavailable as exc:
            report.unreachable = str(exc)
            break
        outbox.done(receipt.key)
        report.recorded.append((receipt, unit))
    return report


def _receipt(key: str, rma_id: int, rma_number: str, body: str) -> OutboxReceipt:
    return OutboxReceipt(
        str(key), int(rma_id), str(rma_number), ReturnUnitIn.model_validate_json(body)
    )


def _now() -> str:
    return datetime.now(UTC).isoformat()
