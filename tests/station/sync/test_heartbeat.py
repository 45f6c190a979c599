"""The heartbeat's report is the status bar's snapshot in words the server accepts, and a beat
that cannot be delivered is dropped without an exception."""

from __future__ import annotations

from dataclasses import dataclass

from station.sync.dashboard_client import FakeDashboardClient
from station.sync.heartbeat import Heartbeat, health_report


@dataclass(frozen=True)
class Indicator:
    light: str
    words: str


@dataclass(frozen=True)
class Snapshot:
    scanner: Indicator
    printer: Indicator
    queued: int
    rejected: int


def test_the_report_carries_lights_words_and_counts() -> None:
    snap = Snapshot(
        scanner=Indicator("warn", "Scanner unplugged - reconnecting"),
        printer=Indicator("bad", "Printer: head open\x00\r\n" + "x" * 300),  # garbage from a device
        queued=4,
        rejected=1,
    )
    got = health_report(snap)
    assert (got.scanner, got.printer, got.queued, got.rejected) == ("warn", "bad", 4, 1)
    assert got.scanner_words == "Scanner unplugged - reconnecting"
    assert got.printer_words.startswith("Printer: head open") and len(got.printer_words) == 200
    assert "\x00" not in got.printer_words
    odd = health_report(Snapshot(Indicator("purple", ""), Indicator("ok", ""), -1, 0))
    assert (odd.scanner, odd.queued) == ("unknown", 0)


def test_a_beat_the_server_cannot_take_is_dropped_and_the_next_one_goes() -> None:
    client = FakeDashboardClient()
    snap = Snapshot(Indicator("ok", "Scanner connected"), Indicator("ok", "Printer ready"), 0, 0)
    beat = Heartbeat(send=client.heartbeat, report=lambda: health_report(snap))
    client.online = False
    assert not beat.beat() and client.heartbeats == []
    client.online = True
    assert beat.beat() and len(client.heartbeats) == 1 and beat.sent == 1
