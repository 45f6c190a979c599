"""Pure SICS and NCI answer parsing, plus the fake scale."""

from __future__ import annotations

from decimal import Decimal

import pytest

from station.devices import scale_nci, scale_sics
from station.devices.fake_scale import FakeScale
from station.devices.scale import (
    ScaleCommandError,
    ScaleError,
    ScaleOverload,
    ScaleProtocolError,
    ScaleUnderload,
    ScaleUnstable,
    WeightReading,
)


def test_sics_stable_weight() -> None:
    reading = scale_sics.parse_weight(b"S S     100.00 g\r\n")
    assert reading == WeightReading(value=Decimal("100.00"), unit="g", stable=True)


def test_sics_dynamic_and_negative_weight() -> None:
    reading = scale_sics.parse_weight(b"S D      -0.35 kg\r\n")
    assert reading.value == Decimal("-0.35") and not reading.stable
    assert reading.grams == Decimal("-350")


@pytest.mark.parametrize(
    ("line", "error", "words"),
    [
        (b"S I\r\n", ScaleUnstable, "no stable weight"),
        (b"S +\r\n", ScaleOverload, "above"),
        (b"S -\r\n", ScaleUnderload, "below"),
        (b"ES\r\n", ScaleCommandError, "syntax error"),
        (b"ET\r\n", ScaleCommandError, "transmission error"),
        (b"EL\r\n", ScaleCommandError, "logical error"),
        (b"\xff\xfe\x00\r\n", ScaleProtocolError, "not ASCII"),
        (b"S S\x07 1.0 g\r\n", ScaleProtocolError, "control bytes"),
        (b"S S     1,00 g\r\n", ScaleProtocolError, "not a number"),
        (b"S S     NaN g\r\n", ScaleProtocolError, "not a SICS weight"),
        (b"Z A\r\n", ScaleProtocolError, "not a SICS weight"),
        (b"S X     1.00 g\r\n", ScaleProtocolError, "not a SICS weight"),
        (b"\r\n", ScaleProtocolError, "not a SICS weight"),
    ],
)
def test_sics_errors(line: bytes, error: type[ScaleError], words: str) -> None:
    with pytest.raises(error, match=words):
        scale_sics.parse_weight(line)


def test_sics_zero_answers() -> None:
    scale_sics.parse_zero(b"Z A\r\n")
    with pytest.raises(ScaleUnstable):
        scale_sics.parse_zero(b"Z I\r\n")
    with pytest.raises(ScaleOverload):
        scale_sics.parse_zero(b"Z +\r\n")
    with pytest.raises(ScaleProtocolError):
        scale_sics.parse_zero(b"S S 1 g\r\n")


def test_nci_weight_stable_and_in_motion() -> None:
    stable = scale_nci.parse_weight(b"\n  12.34lb\r\n00\r\x03")
    assert stable == WeightReading(value=Decimal("12.34"), unit="lb", stable=True)
    assert stable.grams == Decimal("12.34") * Decimal("453.59237")
    moving = scale_nci.parse_weight(b"\n  -0.50kg\r\n10\r\x03")
    assert moving.value == Decimal("-0.50") and not moving.stable


def test_nci_status_bits_with_parity_and_third_byte() -> None:
    # 0xB2: '2' with the parity bit set = at zero; 'p' (0x70) = bit 6 "another byte follows".
    status = scale_nci.parse_status(b"\xb2p4")
    assert status.at_zero and not status.in_motion
    assert status.net_weight and not status.under_capacity
    assert scale_nci.parse_status_answer(b"\n20\r\x03").at_zero


@pytest.mark.parametrize(
    ("frame", "error", "words"),
    [
        (b"\n^^^^^^\r\n00\r\x03", ScaleOverload, "upper bars"),
        (b"\n______\r\n00\r\x03", ScaleUnderload, "lower bars"),
        (b"\n  99.99lb\r\n02\r\x03", ScaleOverload, "over capacity"),
        (b"\n   0.00lb\r\n01\r\x03", ScaleUnderload, "under capacity"),
        (b"\n------\r\n00\r\x03", ScaleError, "zeroing error"),
        (b"\n   1.00lb\r\n40\r\x03", ScaleError, "RAM error"),
        (b"\n   1.00lb\r\n88\r\x03", ScaleError, "EEPROM error, faulty calibration"),
        (b"\n?\r\x03", ScaleCommandError, "did not recognise"),
        (b"\n   1.00lb\r\nAB\r\x03", ScaleProtocolError, "status bytes malformed"),
        (b"\n   1.00lb\r\n0\r\x03", ScaleProtocolError, "status bytes malformed"),
        (b"\n   1.00lb\r\n00\r", ScaleProtocolError, "ETX"),
        (b"\n   1.00lb\r\n00\x03", ScaleProtocolError, "no CR"),
        (b"\n  1.0.0lb\r\n00\r\x03", ScaleProtocolError, "not understood"),
        (b"\n\xff\xfe\r\n00\r\x03", ScaleProtocolError, "not ASCII"),
        (b"\n00\r\x03", ScaleProtocolError, "needs weight and status"),
    ],
)
def test_nci_errors(frame: bytes, error: type[ScaleError], words: str) -> None:
    with pytest.raises(error, match=words) as info:
        scale_nci.parse_weight(frame)
    if error is ScaleError:
        assert type(info.value) is ScaleError


def test_unknown_unit_has_no_grams() -> None:
    with pytest.raises(ScaleProtocolError, match="unit"):
        _ = WeightReading(value=Decimal(1), unit="ct", stable=True).grams


def test_fake_scale_reads_zeroes_and_faults() -> None:
    fake = FakeScale(grams=Decimal(250))
    assert fake.read().value == Decimal(250)
    fake.zero()
    fake.put(grams=Decimal(1250), stable=False)
    assert fake.read() == WeightReading(value=Decimal(1000), unit="g", stable=False)
    fake.set_fault(ScaleOverload())
    with pytest.raises(ScaleOverload):
        fake.read()
