"""Image-only shipping labels, the kind a provider returns when the carrier has no ZPL: a 4x6 in
PNG (python-barcode's ImageWriter + Pillow) or PDF (reportlab, vector bars), each with a
Code 128 of the tracking number. Used by the provider fakes and the conversion tests."""

from __future__ import annotations

import io

import barcode
from barcode.writer import ImageWriter
from PIL import Image, ImageDraw
from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.units import inch, mm
from reportlab.pdfgen.canvas import Canvas

MM_PER_INCH = 25.4


def barcode_image(payload: str, *, dpi: int, module_px: int, height_mm: float = 20) -> Image.Image:
    """A Code 128 whose narrowest bar is exactly `module_px` pixels, as label printers draw."""
    writer = ImageWriter()
    options = {"dpi": dpi, "module_width": module_px * MM_PER_INCH / dpi,
               "module_height": height_mm, "write_text": False, "quiet_zone": 4}  # fmt: skip
    image: Image.Image = barcode.get("code128", payload, writer=writer).render(options)
    return image


def png_label(
    tracking_number: str, *, dpi: int = 300, module_px: int = 4, landscape: bool = False,
    transparent: bool = False, caption: str = "FAKE CARRIER",
) -> bytes:  # fmt: skip
    """A 4x6 in (or 6x4 in) label at `dpi`, the tracking number as Code 128 and as text."""
    size = (6 * dpi, 4 * dpi) if landscape else (4 * dpi, 6 * dpi)
    label = Image.new("RGBA" if transparent else "RGB", size, (0, 0, 0, 0) if transparent
                      else "white")  # fmt: skip
    draw = ImageDraw.Draw(label)
    ink = (0, 0, 0, 255) if transparent else "black"
    draw.rectangle((dpi // 20, dpi // 20, size[0] - dpi // 20, size[1] - dpi // 20),
                   outline=ink, width=max(2, dpi // 75))  # fmt: skip
    draw.text((dpi // 6, dpi // 6), caption, fill=ink, font_size=dpi // 5)
    draw.text((dpi // 6, dpi // 2), tracking_number, fill=ink, font_size=dpi // 8)
    bars = barcode_image(tracking_number, dpi=dpi, module_px=module_px)
    if transparent:  # white quiet zone and gaps become see-through, as some exporters do
        grey = bars.convert("L")
        bars = Image.new("RGBA", bars.size, (0, 0, 0, 255))
        bars.putalpha(grey.point(lambda v: 255 - v))
    x = max(0, (size[0] - bars.width) // 2)
    label.paste(bars, (x, size[1] // 2), bars if transparent else None)
    out = io.BytesIO()
    label.save(out, "PNG", dpi=(dpi, dpi))
    return out.getvalue()


def pdf_label(
    tracking_number: str, *, page: tuple[float, float] = (4 * inch, 6 * inch),
    bar_mm: float = 0.33, extra_pages: tuple[str, ...] = (),
) -> bytes:  # fmt: skip
    """A label PDF of `page` size (points) with vector bars; `extra_pages` adds pages whose
    Code 128 carries the given payloads (e.g. a customs form's own barcode)."""
    out = io.BytesIO()
    pdf = Canvas(out, pagesize=page)
    for payload in (tracking_number, *extra_pages):
        width, height = page
        pdf.setFont("Helvetica-Bold", 18)
        pdf.drawString(0.2 * inch, height - 0.5 * inch, "FAKE CARRIER")
        pdf.setFont("Helvetica", 11)
        pdf.drawString(0.2 * inch, height - 0.8 * inch, payload)
        bars = Code128(payload, barWidth=bar_mm * mm, barHeight=22 * mm, quiet=True)
        if bars.width > width:  # a clipped barcode would fail every test for the wrong reason
            raise ValueError(f"{payload!r} at {bar_mm} mm bars is wider than the page")
        bars.drawOn(pdf, (width - bars.width) / 2, height / 2 - 22 * mm)
        pdf.showPage()
    pdf.save()
    return out.getvalue()


LETTER_PAGE = LETTER
