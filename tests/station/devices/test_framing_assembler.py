from __future__ import annotations

from dataclasses import replace

import pytest

from station.devices.framing import FrameAssembler, RejectedFrame, parse_frame
from station.devices.profiles import Framing
from station.devices.scanner import RawScan

CRLF_AIM = Framing(terminator="\r\n", aim_id=True)
GS1 = b"]C1" + b"0109506000134352\x1d10ABC123"


def feed_all(assembler: FrameAssembler, *chunks: bytes) -> list[RawScan | RejectedFrame]:
    out: list[RawScan | RejectedFrame] = []
    for number, chunk in enumerate(chunks):
        out += assembler.feed(chunk, now_ns=number)
    return out


def test_gs1_scan_with_aim_id_keeps_group_separator() -> None:
    (scan,) = feed_all(FrameAssembler(framing=CRLF_AIM), GS1 + b"\r\n")
    assert scan == RawScan(
        text="0109506000134352\x1d10ABC123", symbology_id="]C1", received_at_ns=0
    )


def test_without_aim_id_the_whole_frame_is_the_text() -> None:
    framing = Framing(terminator="\r", aim_id=False)
    (scan,) = feed_all(FrameAssembler(framing=framing), b"]C1ABC\r")
    assert isinstance(scan, RawScan)
    assert (scan.text, scan.symbology_id) == ("]C1ABC", None)


def test_cr_profile_tolerates_crlf_sender_and_drops_empty_frames() -> None:
    framing = Framing(terminator="\r", aim_id=False)
    out = feed_all(FrameAssembler(framing=framing), b"A1\r\nB2\r\n\r")
    assert [s.text for s in out if isinstance(s, RawScan)] == ["A1", "B2"]
    assert len(out) == 2


def test_frame_split_across_reads_is_held_until_the_terminator() -> None:
    assembler = FrameAssembler(framing=CRLF_AIM)
    assert assembler.feed(b"]E05901", now_ns=1) == []
    assert assembler.feed(b"234123457\r", now_ns=2) == []
    assert assembler.pending
    (scan,) = assembler.feed(b"\n", now_ns=3)
    assert isinstance(scan, RawScan)
    assert (scan.text, scan.symbology_id, scan.received_at_ns) == ("5901234123457", "]E0", 3)


def test_quiet_line_discards_the_fragment_and_the_next_frame_starts_clean() -> None:
    framing = replace(CRLF_AIM, idle_timeout_ms=100)
    assembler = FrameAssembler(framing=framing)
    assembler.feed(b"]E0590123", now_ns=0)
    assert assembler.expire(now_ns=50_000_000) is None
    rejected = assembler.expire(now_ns=100_000_000)
    assert isinstance(rejected, RejectedFrame)
    assert rejected.raw == b"]E0590123" and "quiet" in rejected.reason
    (scan,) = assembler.feed(b"]E04006381333931\r\n", now_ns=200_000_000)
    assert isinstance(scan, RawScan) and scan.text == "4006381333931"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"]E0590\x00123", "non-printable"),
        (b"]E0\xff\xfe123", "invalid ascii byte 0xff"),
        (b"5901234123457", "AIM symbology identifier"),
        (b"]E0", "empty barcode"),
    ],
)
def test_garbage_frames_are_rejected_with_a_reason(raw: bytes, reason: str) -> None:
    out = feed_all(FrameAssembler(framing=CRLF_AIM), raw + b"\r\n", b"]E04006381333931\r\n")
    assert isinstance(out[0], RejectedFrame) and reason in out[0].reason
    assert isinstance(out[1], RawScan) and out[1].text == "4006381333931"


def test_over_long_run_is_rejected_once_then_resynchronised_on_terminator() -> None:
    framing = replace(CRLF_AIM, max_length=16)
    assembler = FrameAssembler(framing=framing)
    out = feed_all(assembler, b"X" * 10, b"X" * 10, b"X" * 30 + b"\r", b"\n]E0123\r\n")
    assert [type(o) for o in out] == [RejectedFrame, RawScan]
    assert "over-long" in out[0].reason  # type: ignore[union-attr]
    assert out[1].text == "123"  # type: ignore[union-attr]


def test_latin1_profile_accepts_accented_text_but_not_c1_controls() -> None:
    framing = Framing(terminator="\r", aim_id=False, encoding="latin-1")
    assert isinstance(parse_frame(b"Caf\xe9", framing=framing, received_at_ns=0), RawScan)
    assert isinstance(parse_frame(b"Caf\x85", framing=framing, received_at_ns=0), RejectedFrame)


def test_substituted_separator_is_normalised_to_gs_and_prefix_is_required() -> None:
    framing = Framing(terminator="\r", prefix="\x02", aim_id=True, gs1_separator="|")
    scan = parse_frame(b"\x02]d20104012345012345|10LOT7", framing=framing, received_at_ns=5)
    assert isinstance(scan, RawScan)
    assert (scan.symbology_id, scan.text) == ("]d2", "0104012345012345\x1d10LOT7")
    missing = parse_frame(b"]d2010401", framing=framing, received_at_ns=5)
    assert isinstance(missing, RejectedFrame) and "prefix" in missing.reason


def test_discard_reports_only_real_fragments() -> None:
    assembler = FrameAssembler(framing=CRLF_AIM)
    assert assembler.discard(reason="unplugged") is None
    assembler.feed(b"]C1010", now_ns=0)
    rejected = assembler.discard(reason="unplugged")
    assert rejected is not None and rejected.raw == b"]C1010"
    assert not assembler.pending
