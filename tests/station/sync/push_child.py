"""Child process for the kill -9 test: journal N events, then push them to a real server.

After the server has answered batch number --hold-after (so the server applied it) and before the
journal marks it sent, it prints HELD and sleeps: the parent kills it exactly there, the worst
moment for double counting.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from shared.contract.events import EventResult, StationEvent
from station.sync.client import HttpGateway
from station.sync.journal import Journal
from station.sync.pusher import Pusher
from tests.station.sync.events_factory import mis_scan


class HoldingGateway(HttpGateway):
    def __init__(self, *, hold_after: int, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.hold_after = hold_after
        self.batches = 0

    def post_events(self, *, events: Sequence[StationEvent]) -> list[EventResult]:
        results = super().post_events(events=events)
        self.batches += 1
        print(f"POSTED {self.batches} {len(events)}", flush=True)
        if self.batches == self.hold_after:
            print("HELD", flush=True)
            time.sleep(120)
        return results


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--journal", type=Path, required=True)
    ap.add_argument("--url", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--events", type=int, required=True)
    ap.add_argument("--batch", type=int, required=True)
    ap.add_argument("--hold-after", type=int, required=True)
    args = ap.parse_args()
    journal = Journal(path=args.journal)
    for i in range(args.events):
        journal.append(mis_scan(i))
    print("JOURNALED", flush=True)
    gw = HoldingGateway(hold_after=args.hold_after, base_url=args.url, station_token=args.token)
    pusher = Pusher(journal=journal, gateway=gw, batch_size=args.batch)
    while pusher.push_once() == "sent":
        pass
    print("DONE", flush=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
