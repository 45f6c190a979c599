"""10,000 station events journaled at a bench and replayed to a local server (SQLite).

Figures: journal append rate (each append is an fsync'd commit), replay wall time through the
real HTTP path to uvicorn in its own process, and duplicates (must be 0: each event lands once).
A second replay of the same journal measures the answer "duplicate" and proves nothing doubles.

    .venv/bin/python bench/journal.py [--events 10000] [--batch 500]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from bench._support import scratch_sqlite, server_process, services_for  # noqa: E402
from server.db.engine import open_database  # noqa: E402
from server.db.station_event_tables import station_event  # noqa: E402
from server.domain.actor import SYSTEM  # noqa: E402
from shared.contract.events import EventResult, ScanRejected, StationEvent, new_event  # noqa: E402
from station.sync.client import HttpGateway  # noqa: E402
from station.sync.journal import Journal  # noqa: E402
from station.sync.pusher import Pusher  # noqa: E402


class CountingGateway(HttpGateway):
    def __init__(self, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.statuses: Counter[str] = Counter()

    def post_events(self, *, events: Sequence[StationEvent]) -> list[EventResult]:
        out = super().post_events(events=events)
        self.statuses.update(r.status for r in out)
        return out


def drain(journal: Journal, gw: CountingGateway, batch: int) -> float:
    pusher = Pusher(journal=journal, gateway=gw, batch_size=batch)
    t0 = time.perf_counter()
    while True:
        step = pusher.push_once()
        if step == "offline":
            raise RuntimeError(f"server unavailable during the replay: {pusher._last_error}")
        if step == "idle":
            return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=10_000)
    ap.add_argument("--batch", type=int, default=500)
    args = ap.parse_args()
    with scratch_sqlite() as url:
        db = open_database(url, pool_size=1)
        station_event.create(db.writer, checkfirst=True)  # until its migration lands
        svc = services_for(url)
        svc.identity.create_operator(name="Bench", badge="BENCH-1", roles={"picker"}, actor=SYSTEM)
        code = svc.identity.issue_enrolment_code(station_name="bench", kind="bench", actor=SYSTEM)
        token, _ = svc.identity.enrol(code=code)
        svc.close()
        with tempfile.TemporaryDirectory(prefix="bench_journal_") as d, server_process(url) as base:
            journal = Journal(path=Path(d) / "journal.sqlite3")
            at = datetime.now(UTC)
            t0 = time.perf_counter()
            for i in range(args.events):
                journal.append(new_event(kind="scan_rejected", at=at,
                                         payload=ScanRejected(reason_code="wrong_item",
                                                              barcode=f"{i:013d}")))  # fmt: skip
            t_journal = time.perf_counter() - t0
            gw = CountingGateway(base_url=base, station_token=token, timeout_s=120)
            t_replay = drain(journal, gw, args.batch)
            first = dict(gw.statuses)
            with db.reader.connect() as conn:
                rows = conn.execute(select(func.count()).select_from(station_event)).scalar_one()
                keys = conn.execute(
                    select(func.count(func.distinct(station_event.c.key)))
                ).scalar_one()
            # Replay everything again, as after a journal restored from a backup.
            journal._conn.execute("UPDATE outgoing_event SET state = 'pending'")
            gw.statuses.clear()
            t_again = drain(journal, gw, args.batch)
            second = dict(gw.statuses)
            with db.reader.connect() as conn:
                rows_after = conn.execute(
                    select(func.count()).select_from(station_event)
                ).scalar_one()
            gw.close()
        db.dispose()
    n = args.events
    total = t_journal + t_replay
    print(f"events                         {n}  (batch {args.batch}, SQLite server, fsync'd)")
    print(f"journal append                 {t_journal:7.2f} s  {n / t_journal:8.0f} events/s")
    print(f"replay to server (first)       {t_replay:7.2f} s  {n / t_replay:8.0f} events/s")
    print(f"journal + replay wall time     {total:7.2f} s  (target <= 20 s)")
    print(f"first replay results           {first}")
    print(f"server rows / distinct keys    {rows} / {keys}")
    print(f"duplicates applied             {rows - keys + (rows - n)}  (must be 0)")
    print(f"second replay (all duplicates) {t_again:7.2f} s  results {second}")
    print(f"server rows after second       {rows_after}  (unchanged: {rows_after == rows})")


if __name__ == "__main__":
    main()
