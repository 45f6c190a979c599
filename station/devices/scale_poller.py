"""Reads the scale on its own thread while the bench runs and reports each reading."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from station.devices.scale import Scale, ScaleError, WeightReading

log = logging.getLogger(__name__)


class ScalePoller:
    def __init__(
        self, *, scale: Scale, on_weight: Callable[[WeightReading], None], every_s: float = 0.5
    ) -> None:
        self._scale = scale
        self._on_weight = on_weight
        self._every_s = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="scale", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self._every_s):
            try:
                self._on_weight(self._scale.read())
            except ScaleError as exc:
                # An unstable or unplugged scale is normal on a bench; the pack screen simply
                # has no stable reading and asks to weigh again.
                log.debug("scale: %s", exc)
