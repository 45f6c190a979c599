"""A printable setup sheet for one scanner profile: its settings and programming barcodes.

Honeywell menu barcodes are rendered as Code 128 of the menu command text. That encoding
is NOT confirmed for Honeywell firmware (hardware.md §1.3 and §8 item 4: it may need an
FNC3 lead-in), so the sheet says so in print and every barcode must be tried on a device
before the sheet is handed to the floor.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from station.devices.pdf_barcode import draw_code128
from station.devices.profiles import ConfigDialect, ScannerProfile

_NAMES = {
    "\r": "CR",
    "\n": "LF",
    "\t": "TAB",
    "\x1d": "GS",
    "\x1e": "RS",
    "\x04": "EOT",
    "\x02": "STX",
    "\x03": "ETX",
}
BARCODE_WARNING = (
    "Programming barcodes: Code 128 of the menu command text - encoding unconfirmed "
    "(may need an FNC3 lead-in); test each on a device first."
)
_BAR_HEIGHT = 12 * mm


@dataclass(frozen=True, slots=True)
class ProgrammingBarcode:
    label: str
    value: str


def describe(chars: str) -> str:
    if not chars:
        return "(none)"
    return " ".join(_NAMES.get(c, c) if not c.isprintable() or c in _NAMES else c for c in chars)


def settings_lines(profile: ScannerProfile) -> list[tuple[str, str]]:
    """(label, value) rows; pure, so a test can compare them with the PDF text."""
    rows = [
        ("Profile", profile.id),
        ("Scanner", f"{profile.vendor} {profile.model}"),
        ("Interface", profile.interface.value),
    ]
    if profile.serial is not None:
        s = profile.serial
        rows += [
            ("Baud rate", str(s.baudrate)),
            ("Data/parity/stop", f"{s.bytesize}{s.parity}{s.stopbits:g}"),
            ("Handshake", "RTS/CTS" if s.rtscts else "XON/XOFF" if s.xonxoff else "none"),
        ]
    f = profile.framing
    rows += [
        ("Prefix", describe(f.prefix)),
        ("Terminator", describe(f.terminator)),
        ("AIM symbology id", "on" if f.aim_id else "off"),
        ("GS1 separator", describe(f.gs1_separator)),
        ("Max length", str(f.max_length)),
    ]
    if profile.usb is not None:
        pid = "any" if profile.usb.product_id is None else f"{profile.usb.product_id:04X}"
        rows.append(("USB VID:PID", f"{profile.usb.vendor_id:04X}:{pid}"))
    if profile.unconfirmed:
        rows.append(("Unconfirmed", ", ".join(profile.unconfirmed)))
    return rows


def programming_barcodes(profile: ScannerProfile) -> list[ProgrammingBarcode]:
    config = profile.config
    if config is None or config.dialect is not ConfigDialect.HONEYWELL_MENU:
        return []  # Zebra/Datalogic barcodes come from the vendor guide, not synthesised
    # `.` = store in flash: a scanned programming barcode is meant to persist.
    return [ProgrammingBarcode(label=c, value=c + ".") for c in (*config.setup, *config.apply)]


def render_setup_sheet(*, profile: ScannerProfile, compress: bool = True) -> bytes:
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, pageCompression=1 if compress else 0)
    canvas.setTitle(f"Scanner setup: {profile.vendor} {profile.model}")
    _, height = A4
    left, y = 20 * mm, height - 20 * mm

    def need(space: float) -> None:
        nonlocal y
        if y - space < 20 * mm:
            canvas.showPage()
            y = height - 20 * mm

    canvas.setFont("Helvetica-Bold", 16)
    canvas.drawString(left, y, f"Scanner setup - {profile.vendor} {profile.model}")
    y -= 12 * mm
    for label, value in settings_lines(profile):
        need(7 * mm)
        canvas.setFont("Helvetica-Bold", 10)
        canvas.drawString(left, y, f"{label}:")
        canvas.setFont("Helvetica", 10)
        canvas.drawString(left + 45 * mm, y, value)
        y -= 6 * mm
    for heading, lines in (("Notes", _wrap(profile.notes)), ("Sources", profile.sources)):
        if not lines:
            continue
        need(14 * mm)
        y -= 4 * mm
        canvas.setFont("Helvetica-Bold", 11)
        canvas.drawString(left, y, heading)
        y -= 6 * mm
        canvas.setFont("Helvetica", 8)
        for line in lines:
            for part in _wrap(line):
                need(5 * mm)
                canvas.drawString(left, y, part)
                y -= 4.5 * mm
    barcodes = programming_barcodes(profile)
    if barcodes:
        need(20 * mm)
        y -= 4 * mm
        canvas.setFont("Helvetica-Bold", 11)
        canvas.drawString(left, y, "Programming barcodes (scan in order)")
        y -= 6 * mm
        canvas.setFont("Helvetica-Oblique", 8)
        canvas.drawString(left, y, BARCODE_WARNING)
        y -= 8 * mm
        for code in barcodes:
            need(_BAR_HEIGHT + 10 * mm)
            drawn = draw_code128(
                canvas, code.value, x=left, top=y, bar_height=_BAR_HEIGHT, bar_width=0.33 * mm
            )
            canvas.setFont("Helvetica", 9)
            canvas.drawString(left, y - drawn - 5 * mm, code.value)
            y -= drawn + 12 * mm
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def write_setup_sheet(*, profile: ScannerProfile, path: Path) -> None:
    path.write_bytes(render_setup_sheet(profile=profile))


def _wrap(text: str, width: int = 110) -> list[str]:
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return [*lines, line] if line else lines
