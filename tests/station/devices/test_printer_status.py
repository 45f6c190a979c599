"""`~HS` answer parsing, pinned to answers in the real three-string format."""

from __future__ import annotations

import pytest

from station.devices.printer import (
    HeadOpen,
    MalformedStatus,
    PaperOut,
    Paused,
    PrinterError,
    PrinterOffline,
    PrinterState,
    PrinterStatus,
    RibbonOut,
    raise_for_status,
)
from station.devices.zpl_status import format_host_status, host_status_complete, parse_host_status

# Captured sample published with Ladder99's Zebra driver tests (handbook hardware.md §4.3):
# paper out and paused in string 1, ribbon out and 100 labels left in string 2.
LADDER99_SAMPLE = (
    b"\x02030,1,1,1225,000,0,0,0,000,0,0,0\x03\r\n"
    b"\x02001,0,0,1,1,2,6,0,00000100,1,000\x03\r\n"
    b"\x021234,0\x03\r\n"
)
HEALTHY = (
    b"\x02030,0,0,1218,000,0,0,0,000,0,0,0\x03\r\n"
    b"\x02001,0,0,0,1,2,6,0,00000000,1,000\x03\r\n"
    b"\x021234,0\x03\r\n"
)
HEAD_UP = (
    b"\x02030,0,0,1218,002,0,0,1,000,0,0,0\x03\r\n"
    b"\x02001,0,1,0,1,2,6,0,00000003,1,000\x03\r\n"
    b"\x021234,0\x03\r\n"
)


def test_published_sample_reports_paper_out_pause_ribbon_and_batch() -> None:
    status = parse_host_status(LADDER99_SAMPLE)
    assert status.paper_out and status.paused and status.ribbon_out
    assert not status.head_open and not status.buffer_full
    assert status.label_length_dots == 1225
    assert status.labels_remaining_in_batch == 100
    assert status.state is PrinterState.PAPER_OUT
    assert not status.ready


def test_healthy_answer_is_ready() -> None:
    status = parse_host_status(HEALTHY)
    assert status.ready
    assert status == PrinterStatus(label_length_dots=1218)


def test_head_up_wins_over_everything_and_counts_are_read() -> None:
    status = parse_host_status(HEAD_UP)
    assert status.head_open
    assert status.formats_in_buffer == 2
    assert status.partial_format_in_progress
    assert status.labels_remaining_in_batch == 3
    assert status.state is PrinterState.HEAD_OPEN


def test_paused_only() -> None:
    answer = HEALTHY.replace(b"030,0,0,", b"030,0,1,", 1)
    status = parse_host_status(answer)
    assert status.paused and not status.paper_out
    assert status.state is PrinterState.PAUSED


def test_answer_without_trailing_crlf_and_extra_fields_is_accepted() -> None:
    answer = HEALTHY.replace(b"1,000\x03", b"1,000,9\x03").rstrip(b"\r\n")
    assert parse_host_status(answer).ready


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (b"", "expected 3 strings, got 0"),
        (HEALTHY[: HEALTHY.rfind(b"\x02")], "expected 3 strings, got 2"),
        (HEALTHY[:-3], "string 3 has no ETX"),
        (b"garbage" + HEALTHY, "expected STX"),
        (HEALTHY.replace(b"030,0,0,", b"030,0,2,", 1), "string 1 field 3 should be 0 or 1"),
        (HEALTHY.replace(b"00000000", b"0000000x"), "string 2 field 9 should be a number"),
        (HEALTHY.replace(b",0,0,0\x03", b"\x03", 1), "string 1 has 9 fields, expected 12"),
        (HEALTHY.replace(b"1234", b"\xff\xfe"), "non-ASCII byte in string 3"),
        (b"\x02\x02" + HEALTHY[1:], "second STX"),
    ],
)
def test_malformed_answers_raise_a_clear_error(answer: bytes, words: str) -> None:
    with pytest.raises(MalformedStatus, match=words):
        parse_host_status(answer)


def test_completeness_needs_three_etx() -> None:
    assert not host_status_complete(HEALTHY[: HEALTHY.rfind(b"\x03")])
    assert host_status_complete(HEALTHY)


def test_emulator_format_is_the_real_layout() -> None:
    assert format_host_status(PrinterStatus(label_length_dots=1218)) == HEALTHY
    flags = PrinterStatus(paper_out=True, head_open=True, ribbon_out=True, paused=True)
    assert parse_host_status(format_host_status(flags)) == flags


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (PrinterStatus(paper_out=True), PaperOut),
        (PrinterStatus(head_open=True, paper_out=True), HeadOpen),
        (PrinterStatus(paused=True), Paused),
        (PrinterStatus(ribbon_out=True), RibbonOut),
        (PrinterStatus(over_temperature=True), PrinterError),
    ],
)
def test_raise_for_status_names_the_fault(status: PrinterStatus, error: type[PrinterError]) -> None:
    with pytest.raises(error) as info:
        raise_for_status(status, delivered=True)
    assert type(info.value) is error
    assert info.value.delivered
    assert info.value.state is status.state


def test_ready_status_does_not_raise() -> None:
    raise_for_status(PrinterStatus())
    assert PrinterOffline().state is PrinterState.OFFLINE
