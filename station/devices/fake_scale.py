"""In-memory scale for the demo and pure tests (production code). Thread-safe: the demo sets
the weight from the GUI while the device thread reads it."""

from __future__ import annotations

import threading
from decimal import Decimal

from station.devices.scale import ScaleError, WeightReading


class FakeScale:
    def __init__(self, *, grams: Decimal = Decimal(0)) -> None:
        self._lock = threading.Lock()
        self._reading = WeightReading(value=grams, unit="g", stable=True)
        self._fault: ScaleError | None = None
        self._tare = Decimal(0)

    def put(self, *, grams: Decimal, stable: bool = True) -> None:
        with self._lock:
            self._reading = WeightReading(value=grams, unit="g", stable=stable)

    def set_fault(self, fault: ScaleError | None) -> None:
        with self._lock:
            self._fault = fault

    def read(self) -> WeightReading:
        with self._lock:
            if self._fault is not None:
                raise self._fault
            r = self._reading
            return WeightReading(value=r.value - self._tare, unit=r.unit, stable=r.stable)

    def zero(self) -> None:
        with self._lock:
            if self._fault is not None:
                raise self._fault
            self._tare = self._reading.value
