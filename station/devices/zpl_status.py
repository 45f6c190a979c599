"""Pure parser of the Zebra `~HS` host status answer.

Source: ZPL II Programming Guide, `~HS` (docs.zebra.com, handbook reference/hardware.md §4.3).
The answer is three strings, each `<STX>fields<ETX><CR><LF>`:

  1  aaa,b,c,dddd,eee,f,g,h,iii,j,k,l
     comm settings, PAPER OUT, PAUSE, label length (dots), formats in receive buffer,
     BUFFER FULL, comm diagnostic mode, partial format in progress, unused,
     corrupt RAM, under temperature, over temperature
  2  mmm,n,o,p,q,r,s,t,uuuuuuuu,v,www
     function settings, unused, HEAD UP, RIBBON OUT, thermal transfer, print mode,
     print width mode, label waiting, LABELS REMAINING IN BATCH, format while printing,
     graphics stored
  3  xxxx,y   password, static RAM installed   (not confirmed verbatim: only counted, not read)

Newer firmware sends NO answer at all while media out / ribbon out / head open; that silence
is the transport's business (tcp_printer turns it into PrinterOffline), not this parser's.
"""

from __future__ import annotations

from station.devices.printer import MalformedStatus, PrinterStatus

HOST_STATUS_QUERY = b"~HS"
STX = 0x02
ETX = 0x03

_STRING1_FIELDS = 12
_STRING2_FIELDS = 11


def host_status_complete(answer: bytes) -> bool:
    """True once all three strings have arrived (a reader loops on recv until this holds)."""
    return answer.count(ETX) >= 3


def _frames(answer: bytes) -> list[str]:
    frames: list[str] = []
    rest = answer
    while rest.strip(b"\r\n"):
        rest = rest.lstrip(b"\r\n")
        if rest[0] != STX:
            raise MalformedStatus(f"~HS answer: expected STX, got {rest[:12]!r}")
        end = rest.find(bytes([ETX]))
        if end < 0:
            raise MalformedStatus(f"~HS answer: string {len(frames) + 1} has no ETX")
        body = rest[1:end]
        if STX in body:
            raise MalformedStatus(f"~HS answer: string {len(frames) + 1} has a second STX")
        try:
            frames.append(body.decode("ascii"))
        except UnicodeDecodeError as exc:
            raise MalformedStatus(
                f"~HS answer: non-ASCII byte in string {len(frames) + 1}"
            ) from exc
        rest = rest[end + 1 :]
    if len(frames) != 3:
        raise MalformedStatus(f"~HS answer: expected 3 strings, got {len(frames)}")
    return frames


def _fields(frame: str, *, index: int, minimum: int) -> list[str]:
    fields = [f.strip() for f in frame.split(",")]
    # Extra trailing fields are tolerated: firmware generations add fields at the end.
    if len(fields) < minimum:
        raise MalformedStatus(
            f"~HS answer: string {index} has {len(fields)} fields, expected {minimum}"
        )
    return fields


def _flag(fields: list[str], pos: int, *, index: int) -> bool:
    value = fields[pos]
    if value not in ("0", "1"):
        raise MalformedStatus(
            f"~HS answer: string {index} field {pos + 1} should be 0 or 1, got {value!r}"
        )
    return value == "1"


def _number(fields: list[str], pos: int, *, index: int) -> int:
    value = fields[pos]
    if not value.isdigit():
        raise MalformedStatus(
            f"~HS answer: string {index} field {pos + 1} should be a number, got {value!r}"
        )
    return int(value)


def parse_host_status(answer: bytes) -> PrinterStatus:
    s1, s2, s3 = _frames(answer)
    f1 = _fields(s1, index=1, minimum=_STRING1_FIELDS)
    f2 = _fields(s2, index=2, minimum=_STRING2_FIELDS)
    _fields(s3, index=3, minimum=1)
    return PrinterStatus(
        paper_out=_flag(f1, 1, index=1),
        paused=_flag(f1, 2, index=1),
        label_length_dots=_number(f1, 3, index=1),
        formats_in_buffer=_number(f1, 4, index=1),
        buffer_full=_flag(f1, 5, index=1),
        partial_format_in_progress=_flag(f1, 7, index=1),
        corrupt_ram=_flag(f1, 9, index=1),
        under_temperature=_flag(f1, 10, index=1),
        over_temperature=_flag(f1, 11, index=1),
        head_open=_flag(f2, 2, index=2),
        ribbon_out=_flag(f2, 3, index=2),
        labels_remaining_in_batch=_number(f2, 8, index=2),
    )


def format_host_status(status: PrinterStatus) -> bytes:
    """The answer a printer in `status` would send; used by the emulator so both sides of the
    loopback test share one field layout (the parser tests pin it to real captured strings)."""

    def b(flag: bool) -> str:
        return "1" if flag else "0"

    s1 = (
        f"030,{b(status.paper_out)},{b(status.paused)},{status.label_length_dots:04d},"
        f"{status.formats_in_buffer:03d},{b(status.buffer_full)},0,"
        f"{b(status.partial_format_in_progress)},000,{b(status.corrupt_ram)},"
        f"{b(status.under_temperature)},{b(status.over_temperature)}"
    )
    s2 = (
        f"001,0,{b(status.head_open)},{b(status.ribbon_out)},1,2,6,0,"
        f"{status.labels_remaining_in_batch:08d},1,000"
    )
    s3 = "1234,0"
    return b"".join(b"\x02" + s.encode("ascii") + b"\x03\r\n" for s in (s1, s2, s3))
