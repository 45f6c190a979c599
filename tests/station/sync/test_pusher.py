"""The pusher against the in-memory server: order, back-off while offline, rejections kept."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

from shared.contract.events import EventResult, StationEvent
from station.sync.client import ServerRefused
from station.sync.fake_gateway import FakeGateway
from station.sync.journal import Journal
from station.sync.pusher import Backoff, Pusher, SyncState
from tests.station.sync.events_factory import mis_scan
from tests.station.sync.server_support import wait_for


class States:
    def __init__(self) -> None:
        self.seen: list[SyncState] = []
        self.lock = threading.Lock()

    def __call__(self, s: SyncState) -> None:
        with self.lock:
            self.seen.append(s)

    def last(self) -> SyncState | None:
        with self.lock:
            return self.seen[-1] if self.seen else None


def fast_pusher(j: Journal, gw: object, states: States, batch: int = 3) -> Pusher:
    return Pusher(journal=j, gateway=gw, on_state=states, batch_size=batch, idle_s=0.05,  # type: ignore[arg-type]
                  backoff=Backoff(initial_s=0.01, max_s=0.05))  # fmt: skip


def test_offline_queues_then_replays_in_order(tmp_path: Path) -> None:
    j = Journal(path=tmp_path / "j.sqlite3")
    gw = FakeGateway()
    gw.online = False
    states = States()
    p = fast_pusher(j, gw, states)
    p.start()
    events = [mis_scan(i) for i in range(10)]
    for e in events:
        j.append(e)
        p.wake()
    wait_for(lambda: (s := states.last()) and not s.online and s.queued == 10, what="offline")
    assert gw.applied == []
    gw.online = True
    wait_for(lambda: (s := states.last()) and s.online and s.queued == 0, what="drained")
    p.stop()
    assert [e.key for e in gw.applied] == [e.key for e in events]
    assert any(not s.online for s in states.seen) and states.seen[-1].online


def test_rejected_event_stays_visible_and_is_not_retried(tmp_path: Path) -> None:
    j = Journal(path=tmp_path / "j.sqlite3")
    gw = FakeGateway()
    gw.cancelled.add(7)
    bad = mis_scan(1).model_copy(update={"order_id": 7})
    good = mis_scan(2)
    j.append(bad)
    j.append(good)
    states = States()
    p = fast_pusher(j, gw, states)
    p.start()
    wait_for(lambda: (s := states.last()) and s.queued == 0 and s.rejected == 1, what="outcome")
    p.stop()
    assert [e.key for e in gw.applied] == [good.key]
    assert "cancelled" in j.rejected()[0].detail


class RefusesOne(FakeGateway):
    """A server that refuses a whole batch (422) when it contains one event it cannot parse."""

    def __init__(self, poison: str) -> None:
        super().__init__()
        self.poison = poison
        self.calls: list[int] = []

    def post_events(self, *, events: Sequence[StationEvent]) -> list[EventResult]:
        self.calls.append(len(events))
        if any(e.key == self.poison for e in events):
            raise ServerRefused(status=422, detail="unknown event kind")
        return super().post_events(events=events)


def test_a_refused_batch_is_split_so_only_the_bad_event_is_set_aside(tmp_path: Path) -> None:
    j = Journal(path=tmp_path / "j.sqlite3")
    events = [mis_scan(i) for i in range(5)]
    gw = RefusesOne(poison=events[1].key)
    for e in events:
        j.append(e)
    p = fast_pusher(j, gw, States(), batch=5)
    for _ in range(10):
        p.push_once()
    assert [e.key for e in gw.applied] == [e.key for i, e in enumerate(events) if i != 1]
    assert j.counts().queued == 0 and j.rejected()[0].key == events[1].key
    assert "unknown event kind" in j.rejected()[0].detail
    assert gw.calls[0] == 5 and 1 in gw.calls


def test_unauthorised_is_waited_out_not_dropped(tmp_path: Path) -> None:
    class Unauthorised(FakeGateway):
        def post_events(self, *, events: Sequence[StationEvent]) -> list[EventResult]:
            raise ServerRefused(status=401, detail="station token revoked")

    j = Journal(path=tmp_path / "j.sqlite3")
    j.append(mis_scan(1))
    states = States()
    p = fast_pusher(j, Unauthorised(), states)
    assert p.push_once() == "offline"
    assert j.counts().queued == 1 and j.counts().rejected == 0
    last = states.last()
    assert last is not None and not last.online and "revoked" in (last.last_error or "")
