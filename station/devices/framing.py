"""Turns a scanner's byte stream into whole scans, by its profile (pure, no I/O).

Only a frame closed by the profile's terminator is ever delivered. Anything else (a fragment
cut off by an unplug or a quiet line, garbage, an over-long run) becomes a `RejectedFrame`
with a reason the driver logs; the station never sees half a barcode.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from station.devices.profiles import Framing
from station.devices.scanner import RawScan

GS = "\x1d"
_AIM = re.compile(r"\][A-Za-z][0-9A-Za-z]")
_SHOWN_BYTES = 48


@dataclass(frozen=True, slots=True)
class RejectedFrame:
    reason: str
    raw: bytes

    def __str__(self) -> str:
        shown = self.raw[:_SHOWN_BYTES]
        more = "…" if len(self.raw) > _SHOWN_BYTES else ""
        return f"{self.reason} (raw {shown!r}{more})"


def split_aim(text: str, *, aim_id: bool) -> tuple[str | None, str]:
    """Split the ISO/IEC 15424 `]cm` identifier off; (None, text) if it is missing."""
    if aim_id and _AIM.match(text):
        return text[:3], text[3:]
    return None, text


def normalise_separator(text: str, *, framing: Framing) -> str:
    # A scanner configured to substitute FNC1 (e.g. '|' on a wedge) is mapped back to GS so
    # GS1 parsing downstream sees one convention. A Code 128 that really contains the
    # substitute is indistinguishable; that is why serial scanners keep GS itself.
    if framing.gs1_separator == GS:
        return text
    return text.replace(framing.gs1_separator, GS)


def check_characters(text: str, *, framing: Framing) -> str | None:
    for index, char in enumerate(text):
        if char not in framing.allowed_controls and not char.isprintable():
            return f"non-printable character {char!r} at position {index}"
    return None


def parse_frame(
    raw: bytes, *, framing: Framing, received_at_ns: int, source: str = ""
) -> RawScan | RejectedFrame:
    try:
        text = raw.decode(framing.encoding)
    except UnicodeDecodeError as exc:
        bad = raw[exc.start]
        return RejectedFrame(f"invalid {framing.encoding} byte {bad:#04x} at {exc.start}", raw)
    if framing.prefix:
        if not text.startswith(framing.prefix):
            return RejectedFrame(f"frame does not start with prefix {framing.prefix!r}", raw)
        text = text[len(framing.prefix) :]
    text = normalise_separator(text, framing=framing)
    problem = check_characters(text, framing=framing)
    if problem:
        return RejectedFrame(problem, raw)
    symbology_id, data = split_aim(text, aim_id=framing.aim_id)
    if framing.aim_id and symbology_id is None:
        # The profile says AIM ids are on; a frame without one is noise or a misconfigured
        # scanner, and guessing the symbology would defeat GS1 detection.
        return RejectedFrame("expected an AIM symbology identifier ']cm' at frame start", raw)
    if not data:
        return RejectedFrame("empty barcode", raw)
    return RawScan(
        text=data, symbology_id=symbology_id, received_at_ns=received_at_ns, source=source
    )


class FrameAssembler:
    """Holds bytes until the terminator arrives. Not thread-safe: one per device thread."""

    def __init__(self, *, framing: Framing, source: str = "") -> None:
        self._framing = framing
        self._terminator = framing.terminator.encode("latin-1")
        self._source = source
        self._buffer = bytearray()
        self._last_byte_ns = 0
        # After an over-long run we drop bytes until the next terminator to resynchronise.
        self._resyncing = False

    @property
    def held_bytes(self) -> int:
        return len(self._buffer)

    @property
    def pending(self) -> bool:
        return bool(self._buffer.strip(b"\r\n")) and not self._resyncing

    def feed(self, data: bytes, *, now_ns: int) -> list[RawScan | RejectedFrame]:
        if not data:
            return []
        self._last_byte_ns = now_ns
        self._buffer += data
        out: list[RawScan | RejectedFrame] = []
        while (end := self._buffer.find(self._terminator)) >= 0:
            frame = bytes(self._buffer[:end])
            del self._buffer[: end + len(self._terminator)]
            if self._resyncing:
                self._resyncing = False
                continue
            # A CR-terminated profile on a scanner that sends CR LF leaves a LF at the
            # start of the next frame; line-ending halves are never barcode data.
            frame = frame.lstrip(b"\r\n")
            if not frame:
                continue
            if len(frame) > self._framing.max_length:
                out.append(self._overlong(frame))
                continue
            out.append(
                parse_frame(
                    frame, framing=self._framing, received_at_ns=now_ns, source=self._source
                )
            )
        if len(self._buffer) > self._framing.max_length and not self._resyncing:
            out.append(self._overlong(bytes(self._buffer)))
            self._resyncing = True
        if self._resyncing:
            # Keep just enough to recognise a terminator split across two reads.
            keep = len(self._terminator) - 1
            del self._buffer[: len(self._buffer) - keep if keep else None]
        return out

    def expire(self, *, now_ns: int) -> RejectedFrame | None:
        if not self._buffer:
            return None
        idle_ns = self._framing.idle_timeout_ms * 1_000_000
        if now_ns - self._last_byte_ns < idle_ns:
            return None
        return self.discard(reason="line went quiet mid-barcode (no terminator)")

    def discard(self, *, reason: str) -> RejectedFrame | None:
        pending = self.pending
        raw = bytes(self._buffer)
        self._buffer.clear()
        self._resyncing = False
        return RejectedFrame(reason, raw) if pending else None

    def _overlong(self, raw: bytes) -> RejectedFrame:
        return RejectedFrame(
            f"over-long frame: more than {self._framing.max_length} bytes without terminator",
            raw,
        )
