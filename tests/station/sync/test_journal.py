"""The journal: durable append with the key first, ordered pending, marks, counts, reopen."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from station.sync.journal import Journal
from tests.station.sync.events_factory import mis_scan


def test_append_pending_mark_sent_and_counts(tmp_path: Path) -> None:
    j = Journal(path=tmp_path / "journal.sqlite3")
    events = [mis_scan(i) for i in range(5)]
    seqs = [j.append(e) for e in events]
    assert seqs == sorted(seqs)
    assert [p.event for p in j.pending()] == events
    assert [p.event.key for p in j.pending(limit=2)] == [e.key for e in events[:2]]
    j.mark_sent([events[0].key, events[2].key])
    j.mark_rejected(events[1].key, detail="order 7 was cancelled")
    assert [p.event.key for p in j.pending()] == [events[3].key, events[4].key]
    counts = j.counts()
    assert (counts.queued, counts.rejected, counts.sent) == (2, 1, 2)
    [rej] = j.rejected()
    assert rej.key == events[1].key and "cancelled" in rej.detail
    j.mark_sent([events[1].key])  # a rejected event is not turned into a sent one later
    assert j.counts().rejected == 1


def test_a_key_is_journaled_once(tmp_path: Path) -> None:
    j = Journal(path=tmp_path / "journal.sqlite3")
    e = mis_scan(1)
    j.append(e)
    with pytest.raises(sqlite3.IntegrityError):
        j.append(e)
    assert j.counts().queued == 1


def test_reopened_journal_keeps_order_and_state(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    j = Journal(path=path)
    events = [mis_scan(i) for i in range(3)]
    for e in events:
        j.append(e)
    j.mark_sent([events[0].key])
    j.close()
    again = Journal(path=path)
    assert [p.event for p in again.pending()] == events[1:]
    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_prune_keeps_pending_and_recent_sent(tmp_path: Path) -> None:
    j = Journal(path=tmp_path / "journal.sqlite3")
    events = [mis_scan(i) for i in range(6)]
    for e in events:
        j.append(e)
    j.mark_sent([e.key for e in events[:4]])
    assert j.prune_sent(keep=1) == 3
    assert (j.counts().sent, j.counts().queued) == (1, 2)
