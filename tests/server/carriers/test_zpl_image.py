"""PNG/PDF provider labels turned into ZPL: every conversion is rendered back (zplkit, with its
default limits, as the printer emulator renders) and its barcode decoded (zxing-cpp), so what
is proved is that the printed label still scans, not merely that some ZPL came out."""

from __future__ import annotations

import io
import re
import struct
import zlib

import pytest
import zplkit
import zxingcpp
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from PIL import Image
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import inch

from server.carriers.base import CarrierError
from server.carriers.zpl_image import LABEL_DOTS, LabelImageError, image_to_zpl
from tests.fakes.label_images import LETTER_PAGE, pdf_label, png_label

NUMBER = "1ZFAKE00000000AB42"


def scans(zpl: bytes) -> list[list[str]]:
    """What a scanner reads off each printed label: the barcodes of every rendered label."""
    document = zplkit.render(zpl)
    return [
        [b.text for b in zxingcpp.read_barcodes(Image.open(io.BytesIO(label.png())))]
        for label in document.labels
    ]


def printed(zpl: bytes) -> Image.Image:
    return Image.open(io.BytesIO(zplkit.render(zpl).labels[0].png())).convert("L")


# -- the barcode survives ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dpi", "module_px"),
    [
        (203, 2),  # drawn for the bench printer: 0.25 mm bars, taken dot for dot
        (203, 3),
        (300, 3),  # EasyPost-style 300 dpi labels: 0.25 mm bars become ~2 dots
        (300, 4),
        (600, 6),
        (150, 2),  # a coarse image is enlarged to life size
    ],
)
def test_png_label_scans_back_after_conversion(dpi: int, module_px: int) -> None:
    zpl = image_to_zpl(png_label(NUMBER, dpi=dpi, module_px=module_px), "PNG")
    assert scans(zpl) == [[NUMBER]]


@pytest.mark.parametrize("bar_mm", [0.254, 0.381])  # 2 and 3 dots: bars on the printer's grid
def test_vector_pdf_label_scans_back_after_conversion(bar_mm: float) -> None:
    assert scans(image_to_zpl(pdf_label(NUMBER, bar_mm=bar_mm), "pdf")) == [[NUMBER]]


@settings(max_examples=20, deadline=None, derandomize=True)
@given(st.text(alphabet="0123456789ABCDEFGHJKLMNPRSTUVWXYZ", min_size=10, max_size=22))
def test_any_tracking_number_scans_back_from_png_and_pdf(number: str) -> None:
    png = png_label(number)
    # python-barcode mis-encodes some digit runs (a leading "99" is read back without it):
    # the property is about the conversion, so the source image must scan right first.
    assume([b.text for b in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))] == [number])
    assert scans(image_to_zpl(png, "png")) == [[number]]
    assert scans(image_to_zpl(pdf_label(number, bar_mm=0.254), "pdf")) == [[number]]


def test_label_is_sized_for_4x6_at_203_dpi_and_renders_within_default_limits() -> None:
    zpl = image_to_zpl(png_label(NUMBER, dpi=300), "png")
    text = zpl.decode("ascii")
    assert text.startswith("^XA") and text.rstrip().endswith("^XZ")
    assert "^PW812" in text and "^LL1218" in text
    # One field per band, each under zplkit's 25 000-byte graphic limit (the emulator's).
    sizes = [int(m) for m in re.findall(r"\^GFA,(\d+),", text)]
    assert len(sizes) >= 2 and max(sizes) < 25_000
    assert printed(zpl).size == LABEL_DOTS


def test_a_203_dpi_label_is_taken_dot_for_dot() -> None:
    source = Image.open(io.BytesIO(png_label(NUMBER, dpi=203, module_px=2))).convert("L")
    out = printed(image_to_zpl(png_label(NUMBER, dpi=203, module_px=2), "png"))
    # The same picture, pixel for pixel, wherever the ink was cropped and re-centred.
    box = source.point(lambda v: 255 if v < 128 else 0).getbbox()
    out_box = out.point(lambda v: 255 if v < 128 else 0).getbbox()
    assert box is not None and out_box is not None
    assert (box[2] - box[0], box[3] - box[1]) == (out_box[2] - out_box[0], out_box[3] - out_box[1])
    ink = source.crop(box).point(lambda v: 255 if v > 128 else 0)
    assert ink.tobytes() == out.crop(out_box).point(lambda v: 255 if v > 128 else 0).tobytes()


def test_landscape_label_is_turned_upright_and_still_scans() -> None:
    zpl = image_to_zpl(png_label(NUMBER, landscape=True), "png")
    assert scans(zpl) == [[NUMBER]]
    image = printed(zpl)
    box = image.point(lambda v: 255 if v < 128 else 0).getbbox()
    assert box is not None and (box[3] - box[1]) > (box[2] - box[0])  # portrait on the stock


def test_transparent_png_prints_its_ink_on_white() -> None:
    assert scans(image_to_zpl(png_label(NUMBER, transparent=True), "png")) == [[NUMBER]]


def test_letter_page_holding_a_4x6_label_fills_the_stock_at_life_size() -> None:
    zpl = image_to_zpl(pdf_label(NUMBER, page=LETTER_PAGE, bar_mm=0.381), "pdf")
    assert scans(zpl) == [[NUMBER]]


def test_landscape_pdf_page_is_turned_upright() -> None:
    zpl = image_to_zpl(pdf_label(NUMBER, page=(6 * inch, 4 * inch)), "application/pdf")
    assert scans(zpl) == [[NUMBER]]


def test_every_pdf_page_becomes_its_own_label() -> None:
    zpl = image_to_zpl(pdf_label(NUMBER, extra_pages=("CN23-0001",)), "pdf")
    assert zpl.count(b"^XA") == 2
    assert scans(zpl) == [[NUMBER], ["CN23-0001"]]


def test_a4_page_larger_than_the_stock_is_shrunk_to_fit() -> None:
    # Ink from corner to corner of an A4 page: it cannot be life size, it must still fit.
    from reportlab.pdfgen.canvas import Canvas

    out = io.BytesIO()
    pdf = Canvas(out, pagesize=A4)
    pdf.rect(10, 10, A4[0] - 20, A4[1] - 20, stroke=1, fill=0)
    pdf.save()
    image = printed(image_to_zpl(out.getvalue(), "pdf"))
    box = image.point(lambda v: 255 if v < 128 else 0).getbbox()
    assert box is not None
    # A4 is stubbier than 4x6: the frame spans the stock's width and keeps its proportions.
    assert box[2] - box[0] >= LABEL_DOTS[0] - 4
    assert abs((box[3] - box[1]) / (box[2] - box[0]) - (A4[1] - 20) / (A4[0] - 20)) < 0.01


# -- garbage gets a clear error ----------------------------------------------------------------


def _png_header(width: int, height: int) -> bytes:
    """A PNG that claims a size and carries no pixels: a decompression bomb's first bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b""))
            + chunk(b"IEND", b""))  # fmt: skip


def _blank_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (1200, 1800), "white").save(out, "PNG")
    return out.getvalue()


def _blank_pdf() -> bytes:
    from reportlab.pdfgen.canvas import Canvas

    out = io.BytesIO()
    pdf = Canvas(out, pagesize=(4 * inch, 6 * inch))
    pdf.showPage()
    pdf.save()
    return out.getvalue()


@pytest.mark.parametrize(
    ("data", "kind", "words"),
    [
        (None, "PNG", "neither a ZPL label nor an image"),
        (b"", "PDF", "neither a ZPL label nor an image"),
        (b"\x00\xff garbage \x13\x37" * 40, "png", "not a PNG"),
        (b"<html>502 Bad Gateway</html>", "pdf", "not a PDF"),
        (png_label(NUMBER), "pdf", "not a PDF"),
        (png_label(NUMBER), "GIF", "unsupported label image format 'GIF'"),
        (png_label(NUMBER), "", "unsupported label image format ''"),
        (png_label(NUMBER)[:300], "png", "PNG label cannot be read"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "png", "PNG label cannot be read"),
        (_png_header(9_000, 9_000), "png", "9000 x 9000 pixels: too large"),
        (_png_header(20_000, 20_000), "png", "decompression bomb"),
        (pdf_label(NUMBER)[:200], "pdf", "PDF label cannot be read"),
        (b"%PDF-1.7\n" + b"\x00garbage" * 50, "pdf", "PDF label cannot be read"),
        (_blank_png(), "png", "blank"),
        (_blank_pdf(), "pdf", "blank"),
    ],
)
def test_garbage_is_a_clear_carrier_error(data: bytes | None, kind: str, words: str) -> None:
    with pytest.raises(LabelImageError, match=re.escape(words)) as caught:
        image_to_zpl(data, kind)
    assert isinstance(caught.value, CarrierError)  # LabelService's compensation catches these
