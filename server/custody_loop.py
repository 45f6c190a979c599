"""The server's custody loop: every `custody_loop_s` seconds, poll tracking that went quiet (the
webhook fallback) and open custody exceptions past the cut-off. A daemon thread per server
process; a failing pass is logged and the next one runs anyway (a carrier outage must not stop
the sweep). Several server processes may each run it: events land once and exceptions are
deduplicated by key, so overlapping passes are harmless."""

from __future__ import annotations

import logging
import threading

from server.bootstrap import Services

log = logging.getLogger("packline.custody")


class CustodyLoop:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.interval_s = services.settings.custody_loop_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.interval_s <= 0:
            return
        self._thread = threading.Thread(target=self._run, name="custody-loop", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        # The first pass waits one interval: a server that restarts in a loop must not hammer
        # the providers' tracking APIs.
        while not self._stop.wait(self.interval_s):
            try:
                polled, opened = self.services.custody.run_once(self.services.rate_shopper.carriers)
                if polled.recorded or opened:
                    log.info("custody: %d new tracking events, %d exceptions opened",
                             polled.recorded, len(opened))  # fmt: skip
            except Exception:
                log.exception("custody pass failed; the next one runs in %.0f s", self.interval_s)
