"""SerialScale over real pseudo-terminals: pyserial's own code runs; a small simulator thread
plays the scale on the master side."""

from __future__ import annotations

import contextlib
import os
import select
import threading
import time
import tty
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from station.devices.scale import (
    ScaleCommandError,
    ScaleOffline,
    ScaleOverload,
    ScaleProtocolError,
    ScaleUnderload,
    ScaleUnstable,
)
from station.devices.serial_scale import ScaleDialect, SerialScale, SerialSettings

Responder = Callable[[bytes], bytes | None]
FAST = SerialSettings(timeout=0.5)


class ScaleSimulator:
    """Reads CR-terminated commands from the master side and writes the responder's answer."""

    def __init__(self, respond: Responder) -> None:
        self.respond = respond
        self.commands: list[bytes] = []
        self._master, self._slave = os.openpty()
        tty.setraw(self._master)
        self.path = os.ttyname(self._slave)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        buf = b""
        while not self._stop.is_set():
            ready, _, _ = select.select([self._master], [], [], 0.05)
            if not ready:
                continue
            try:
                buf += os.read(self._master, 1024)
            except OSError:
                return
            while b"\r" in buf:
                line, buf = buf.split(b"\r", 1)
                command = line.lstrip(b"\n")
                self.commands.append(command)
                answer = self.respond(command)
                if answer:
                    os.write(self._master, answer)

    def unplug(self) -> None:
        self._stop.set()
        self._thread.join(5)
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)


@pytest.fixture
def simulators() -> Iterator[Callable[[Responder], ScaleSimulator]]:
    made: list[ScaleSimulator] = []

    def make(respond: Responder) -> ScaleSimulator:
        made.append(ScaleSimulator(respond))
        return made[-1]

    yield make
    for sim in made:
        sim.unplug()


def sics(answers: dict[bytes, bytes]) -> Responder:
    return lambda command: answers.get(command, b"ES\r\n")


def test_sics_stable_reading_over_a_tty(simulators: Callable[[Responder], ScaleSimulator]) -> None:
    sim = simulators(sics({b"S": b"S S     100.00 g\r\n"}))
    scale = SerialScale(port=sim.path, dialect=ScaleDialect.SICS, settings=FAST)
    reading = scale.read()
    assert (reading.value, reading.unit, reading.stable) == (Decimal("100.00"), "g", True)
    assert sim.commands == [b"S"]
    scale.close()


def test_sics_immediate_command_gives_a_dynamic_reading(
    simulators: Callable[[Responder], ScaleSimulator],
) -> None:
    sim = simulators(sics({b"SI": b"S D     100.01 g\r\n"}))
    scale = SerialScale(
        port=sim.path, dialect=ScaleDialect.SICS, settings=FAST, weigh_command=b"SI\r\n"
    )
    assert not scale.read().stable
    scale.close()


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (b"S +\r\n", ScaleOverload),
        (b"S -\r\n", ScaleUnderload),
        (b"S I\r\n", ScaleUnstable),
        (b"EL\r\n", ScaleCommandError),
        (b"\x8f\xff\x13garbage\r\n", ScaleProtocolError),
    ],
)
def test_sics_errors_over_a_tty(
    simulators: Callable[[Responder], ScaleSimulator], answer: bytes, error: type[Exception]
) -> None:
    sim = simulators(sics({b"S": answer}))
    scale = SerialScale(port=sim.path, dialect=ScaleDialect.SICS, settings=FAST)
    with pytest.raises(error):
        scale.read()
    scale.close()


def test_silent_scale_is_offline(simulators: Callable[[Responder], ScaleSimulator]) -> None:
    sim = simulators(lambda command: None)
    scale = SerialScale(port=sim.path, dialect=ScaleDialect.SICS, settings=FAST)
    with pytest.raises(ScaleOffline, match="did not answer"):
        scale.read()
    scale.close()


def test_unterminated_answer_is_a_protocol_error(
    simulators: Callable[[Responder], ScaleSimulator],
) -> None:
    sim = simulators(lambda command: b"S S     100.0")
    scale = SerialScale(port=sim.path, dialect=ScaleDialect.SICS, settings=FAST)
    with pytest.raises(ScaleProtocolError, match="incomplete"):
        scale.read()
    scale.close()


def test_stale_bytes_from_a_previous_answer_are_discarded(
    simulators: Callable[[Responder], ScaleSimulator],
) -> None:
    sim = simulators(sics({b"S": b"S S       2.00 kg\r\n"}))
    scale = SerialScale(port=sim.path, dialect=ScaleDialect.SICS, settings=FAST)
    scale.read()  # opens the port
    late = b"S S       9.99 kg\r\n"  # a late answer nobody asked for
    os.write(sim._master, late)
    port = scale._port
    assert port is not None
    deadline = time.monotonic() + 5
    while port.in_waiting < len(late):  # wait until the stale bytes sit in the tty buffer
        assert time.monotonic() < deadline, "stale bytes never arrived"
        time.sleep(0.01)
    assert scale.read().value == Decimal("2.00")
    scale.close()


def test_unplug_is_offline_and_replug_on_the_same_by_id_link_recovers(
    simulators: Callable[[Responder], ScaleSimulator], tmp_path: Path
) -> None:
    answers = sics({b"S": b"S S     500.00 g\r\n", b"Z": b"Z A\r\n"})
    first = simulators(answers)
    link = tmp_path / "usb-Mettler_Toledo-if00"  # like /dev/serial/by-id/...
    link.symlink_to(first.path)
    scale = SerialScale(port=str(link), dialect=ScaleDialect.SICS, settings=FAST)
    scale.zero()
    assert scale.read().value == Decimal("500.00")

    first.unplug()
    with pytest.raises(ScaleOffline):
        scale.read()

    second = simulators(answers)
    link.unlink()
    link.symlink_to(second.path)
    assert scale.read().value == Decimal("500.00")
    scale.close()


def test_nci_weight_and_zero_over_a_tty(simulators: Callable[[Responder], ScaleSimulator]) -> None:
    replies = {
        b"W": b"\n   3.25lb\r\n\xb0\xb0\r\x03",  # status bytes with the parity bit set
        b"Z": b"\n20\r\x03",
    }
    sim = simulators(lambda command: replies.get(command, b"\n?\r\x03"))
    scale = SerialScale(port=sim.path, dialect=ScaleDialect.NCI, settings=FAST)
    reading = scale.read()
    assert (reading.value, reading.unit, reading.stable) == (Decimal("3.25"), "lb", True)
    scale.zero()
    assert sim.commands == [b"W", b"Z"]
    scale.close()


def test_nci_motion_overload_and_unknown_command(
    simulators: Callable[[Responder], ScaleSimulator],
) -> None:
    replies = iter([b"\n   3.27lb\r\n10\r\x03", b"\n^^^^^^\r\n02\r\x03", b"\n?\r\x03"])
    sim = simulators(lambda command: next(replies))
    scale = SerialScale(port=sim.path, dialect=ScaleDialect.NCI, settings=FAST)
    assert not scale.read().stable
    with pytest.raises(ScaleOverload):
        scale.read()
    with pytest.raises(ScaleCommandError):
        scale.read()
    scale.close()


def test_missing_port_is_offline(tmp_path: Path) -> None:
    scale = SerialScale(port=str(tmp_path / "ttyUSB9"), dialect=ScaleDialect.NCI, settings=FAST)
    with pytest.raises(ScaleOffline, match="cannot open"):
        scale.read()
