"""Emit a Signal without PySide6 6.12.0's leaked reference to True.

Measured here (Python 3.11.7, PySide6-Essentials/shiboken6 6.12.0): every `SignalInstance.emit`
called from Python returns True without taking a reference, so each emit drops True's refcount
by one; after a few thousand emits CPython aborts with "bool_dealloc: deallocating True or
False". Python >= 3.12 makes True immortal and never sees it. A bench emits several Signals per
scan, so a shift would crash it.

`emit()` gives the missing reference back, but only when a probe at import shows the leak, so a
fixed PySide6 (or a newer Python) turns the compensation off by itself. Every Python-side emit
in station.ui goes through here; Qt's own C++ emits (timers, widgets) are not affected.
"""

from __future__ import annotations

import ctypes
import sys
from typing import Any

from PySide6.QtCore import QObject, Signal

_incref = ctypes.pythonapi.Py_IncRef
_incref.argtypes = [ctypes.py_object]
_incref.restype = None


class _Probe(QObject):
    ping = Signal()


def _leaks_a_reference() -> bool:
    probe = _Probe()
    rounds = 8
    before = sys.getrefcount(True)
    for _ in range(rounds):
        probe.ping.emit()
    lost = before - sys.getrefcount(True)
    for _ in range(max(lost, 0)):
        _incref(True)  # repay what the probe itself cost
    return lost >= rounds


LEAKS = _leaks_a_reference()


def emit(signal: Any, *args: object) -> None:
    result = signal.emit(*args)
    if LEAKS and isinstance(result, bool):
        _incref(result)
