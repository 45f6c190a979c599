"""Tells the server every few seconds how this station is: scanner, printer, queued events.

Runs on its own thread (a slow or dead server must never stall the GUI); a missed beat is only
logged, because silence is itself the message: the dashboard shows the station offline once
beats stop arriving.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Protocol

from shared.contract.dashboard import HeartbeatIn, Light
from station.sync.client import ServerRefused, ServerUnavailable

log = logging.getLogger(__name__)

LIGHTS: frozenset[str] = frozenset({"ok", "warn", "bad", "unknown"})


class IndicatorLike(Protocol):
    @property
    def light(self) -> str: ...

    @property
    def words(self) -> str: ...


class StatusLike(Protocol):
    """Shape of station.ui.view_models.status.StatusSnapshot."""

    @property
    def scanner(self) -> IndicatorLike: ...

    @property
    def printer(self) -> IndicatorLike: ...

    @property
    def queued(self) -> int: ...

    @property
    def rejected(self) -> int: ...


def _light(value: str) -> Light:
    return value if value in LIGHTS else "unknown"  # type: ignore[return-value]


def _words(text: str) -> str:
    return "".join(ch for ch in text if ch.isprintable())[:200]


def health_report(status: StatusLike) -> HeartbeatIn:
    return HeartbeatIn(
        scanner=_light(str(status.scanner.light)),
        scanner_words=_words(status.scanner.words),
        printer=_light(str(status.printer.light)),
        printer_words=_words(status.printer.words),
        queued=max(0, status.queued),
        rejected=max(0, status.rejected),
    )


class Heartbeat:
    def __init__(
        self,
        *,
        send: Callable[[HeartbeatIn], None],
        report: Callable[[], HeartbeatIn],
        interval_s: float = 15.0,
    ) -> None:
        self._send = send
        self._report = report
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.sent = 0

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)
            self._thread.start()

    def stop(self, *, timeout_s: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def beat(self) -> bool:
        try:
            self._send(self._report())
        except (ServerUnavailable, ServerRefused) as exc:
            log.info("heartbeat not delivered: %s", exc)
            return False
        except Exception:  # a bug here must not end the beats for the rest of the shift
            log.exception("heartbeat failed")
            return False
        self.sent += 1
        return True

    def _run(self) -> None:
        while not self._stop.is_set():
            self.beat()
            self._stop.wait(self.interval_s)
