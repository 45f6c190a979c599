"""Offscreen Qt for the UI tests (no display on CI), and the pieces the tests share."""

from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from shared.contract.orders import TaskOut
from station.devices.scanner import RawScan
from station.sync.fake_gateway import FakeGateway
from station.ui.background import Background
from station.work.boxes import ScaleTolerance
from station.work.events import Event
from tests.station.work.builders import FakeClock, default_order

WAIT_MS = 10_000  # generous: the suite must pass on a loaded 2-core machine
BADGE = "DEMO-PICKER"
TOLERANCE = ScaleTolerance(percent=5, min_g=50)


def scan(text: str) -> RawScan:
    """A read as the framing hands it over: AIM id split off when present."""
    if text.startswith("]") and len(text) >= 3:
        return RawScan(text=text[3:], symbology_id=text[:3], received_at_ns=0, source="test")
    return RawScan(text=text, symbology_id=None, received_at_ns=0, source="test")


@dataclass
class JournalRecorder:
    events: list[Event] = field(default_factory=list)
    fail: bool = False

    def __call__(self, event: Event) -> None:
        if self.fail:
            raise OSError("disk full")
        self.events.append(event)

    def kinds(self) -> list[str]:
        return [type(e).__name__ for e in self.events]


@pytest.fixture
def journal() -> JournalRecorder:
    return JournalRecorder()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def task() -> TaskOut:
    return default_order().model_copy(update={"state": "released"})


@pytest.fixture
def gateway(task: TaskOut) -> FakeGateway:
    return FakeGateway(tasks=[task])


@pytest.fixture
def background(qtbot) -> Iterator[Background]:
    runner = Background()
    yield runner
    assert runner.wait_idle(timeout_ms=WAIT_MS)
