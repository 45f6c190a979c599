"""A provider label that came back only as a PNG or PDF, turned into ZPL for the bench printer.

The bench prints on 4x6 in stock at 203 dpi: 812 x 1218 dots. The inked part of each page is
placed on that stock at life size, or shrunk to fit when it is larger (turned upright first when
it is landscape; a Letter or A4 page holding a 4x6 label loses its empty paper). It is never
enlarged: a label drawn for 203 dpi keeps every bar on the printer's dot grid, and a PDF page is
rendered once, straight onto that grid. Images at other resolutions are resampled (Lanczos) and
every page is cut at a hard threshold instead of dithered: dithering scatters dots along bar
edges, and a barcode is nothing but edges. A bar under two dots (0.25 mm) cannot be printed at
203 dpi by any method; carriers' 4x6 labels use wider ones, and
tests/server/carriers/test_zpl_image.py proves such labels from 150, 203, 300 and 600 dpi PNGs
and from vector PDFs with 2- and 3-dot bars still decode after conversion. Bars between the
dot grid's steps (0.33 mm is 2.6 dots) are rounded edge by edge as any 203 dpi printer driver
rounds them, and a few such barcodes come out too uneven to decode. Ink that fills a whole
Letter sheet is shrunk by half and may not survive either: such accounts should buy 4x6 labels.

zebrafy encodes the bitmap as ^GF graphic fields (ASCII hex with ZPL run-length compression,
which every ZPL II printer reads), in horizontal bands of under 24 KB with blank bands left out:
one 124 KB field is fine for a printer but not for renderers with a per-field limit (zplkit's
default, used by the printer emulator, is 25 000 bytes).
"""

from __future__ import annotations

import io
import warnings

import pypdfium2
from PIL import Image, UnidentifiedImageError
from zebrafy.zebrafy_image import ZebrafyImage

from server.carriers.base import CarrierError

__all__ = ["LABEL_DOTS", "LabelImageError", "image_to_zpl"]

LABEL_DOTS = (812, 1218)  # 4 x 6 in at 203 dpi
DPI = 203
_THRESHOLD = 128  # grey levels above this print as paper
_PAPER = 250  # grey levels from this up count as paper when looking for the ink
_BAND_BYTES = 24_000  # bitmap bytes per ^GF band
_MAX_PIXELS = 60_000_000  # a 4x6 in label at 1200 dpi is 34.6 M; anything bigger is not a label
_MAX_PAGES = 20  # a label PDF per parcel has one page, perhaps a customs form or two
_FORMATS = {"png": "PNG", "image/png": "PNG", "pdf": "PDF", "application/pdf": "PDF"}
_MAGIC = {"PNG": b"\x89PNG\r\n\x1a\n", "PDF": b"%PDF-"}


class LabelImageError(CarrierError):
    """The provider's label image cannot be turned into a printable label."""


def image_to_zpl(image: bytes | None, image_format: str) -> bytes:
    """ZPL for a provider's PNG or PDF label: one ^XA…^XZ label per (non-blank) page."""
    if not image:
        raise LabelImageError("the provider returned neither a ZPL label nor an image")
    kind = _FORMATS.get(image_format.strip().lower())
    if kind is None:
        raise LabelImageError(f"unsupported label image format {image_format!r} (PNG or PDF)")
    # PDFs may carry a little junk before the header; readers accept it within the first 1 KB.
    found = image.startswith(_MAGIC[kind]) if kind == "PNG" else _MAGIC[kind] in image[:1024]
    if not found:
        raise LabelImageError(f"the {kind} label is not a {kind} (starts {image[:8]!r})")
    pages = _png_pages(image) if kind == "PNG" else _pdf_pages(image)
    if not pages:
        raise LabelImageError(f"the {kind} label is blank: there is nothing to print")
    return b"".join(_label(page) for page in pages)


def _fit(box: tuple[float, float]) -> float:
    """The scale that fits a (width, height) box onto the label stock."""
    return min(LABEL_DOTS[0] / box[0], LABEL_DOTS[1] / box[1])


def _png_pages(data: bytes) -> list[Image.Image]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=["PNG"])
            # Only the header is read so far: refuse a giant before decoding it.
            width, height = image.size
            if width * height > _MAX_PIXELS:
                raise LabelImageError(f"the PNG label is {width} x {height} pixels: too large")
            image.load()  # a truncated or corrupt file fails here, not later
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError,
            Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:  # fmt: skip
        raise LabelImageError(f"the PNG label cannot be read: {exc}") from exc
    grey = _on_white(image)
    ink = _ink(grey)
    if ink is None:
        return []
    # Never larger than life. The stated resolution gives life size; a missing or implausible
    # one (a 4x6 label "at 2400 dpi") falls back to taking the whole image as a 4x6 label.
    whole = _fit(_upright_box(grey.size))
    stated = image.info.get("dpi", (0, 0))[0]
    life = max(whole, DPI / stated) if isinstance(stated, int | float) and stated > 0 else whole
    grey = _upright(grey.crop(ink))
    scale = min(life, _fit(grey.size))
    size = (min(LABEL_DOTS[0], max(1, round(grey.width * scale))),
            min(LABEL_DOTS[1], max(1, round(grey.height * scale))))  # fmt: skip
    # A 203 dpi label is taken as it is: every bar stays on the printer's dot grid.
    return [grey if size == grey.size else grey.resize(size, Image.Resampling.LANCZOS)]


def _pdf_pages(data: bytes) -> list[Image.Image]:
    try:
        pdf = pypdfium2.PdfDocument(data)
    except pypdfium2.PdfiumError as exc:
        raise LabelImageError(f"the PDF label cannot be read: {exc}") from exc
    try:
        count = len(pdf)
        if count == 0 or count > _MAX_PAGES:
            raise LabelImageError(f"the PDF label has {count} pages")
        pages = []
        for index in range(count):
            page = pdf[index]
            try:
                grey = _pdf_page(page, index)
            finally:
                page.close()
            if grey is not None:
                pages.append(grey)
        return pages
    except pypdfium2.PdfiumError as exc:
        raise LabelImageError(f"the PDF label cannot be rendered: {exc}") from exc
    finally:
        pdf.close()


def _pdf_page(page: pypdfium2.PdfPage, index: int) -> Image.Image | None:
    """The page's inked area rendered once, straight onto the printer's dot grid: at life size
    (PDF units are 1/72 in) unless the ink is larger than the label stock."""
    width, height = page.get_size()
    if width <= 0 or height <= 0:
        raise LabelImageError(f"PDF page {index + 1} has no area")
    # A quick look at the whole page finds the ink (a Letter/A4 page often holds a 4x6 label).
    look = _fit((width, height))
    preview = _on_white(page.render(scale=look, grayscale=True).to_pil())
    ink = _ink(preview)
    if ink is None:
        return None
    left, top = ink[0] / look, ink[1] / look
    right, bottom = width - ink[2] / look, height - ink[3] / look
    scale = min(DPI / 72, _fit(_upright_box((width - left - right, height - top - bottom))))
    bitmap = page.render(scale=scale, crop=(left, bottom, right, top), grayscale=True)
    grey = _upright(_on_white(bitmap.to_pil()))
    return grey.crop((0, 0, min(grey.width, LABEL_DOTS[0]), min(grey.height, LABEL_DOTS[1])))


def _on_white(image: Image.Image) -> Image.Image:
    """Grey levels, with transparent pixels as paper (their stored colour is often black)."""
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba)
    return image.convert("L")


def _ink(grey: Image.Image) -> tuple[int, int, int, int] | None:
    """The box round everything that is not paper, one pixel wider each side; None if blank.
    Cropping to it lets a label that fills part of a Letter/A4 page fill the 4x6 stock."""
    box = grey.point(lambda v: 255 if v < _PAPER else 0).getbbox()
    if box is None:
        return None
    return (max(0, box[0] - 1), max(0, box[1] - 1),
            min(grey.width, box[2] + 1), min(grey.height, box[3] + 1))  # fmt: skip


def _upright_box(box: tuple[float, float]) -> tuple[float, float]:
    return (box[1], box[0]) if box[0] > box[1] else box


def _upright(image: Image.Image) -> Image.Image:
    # Label stock feeds portrait; a landscape 6x4 label is the same label turned.
    return image.transpose(Image.Transpose.ROTATE_270) if image.width > image.height else image


def _label(grey: Image.Image) -> bytes:
    """One label: the page centred on the stock as banded ^GF fields."""
    mono = grey.point(lambda v: 255 if v > _THRESHOLD else 0, mode="1")
    left = (LABEL_DOTS[0] - mono.width) // 2
    top = (LABEL_DOTS[1] - mono.height) // 2
    rows = max(1, _BAND_BYTES // ((mono.width + 7) // 8))
    fields = []
    for y in range(0, mono.height, rows):
        band = mono.crop((0, y, mono.width, min(mono.height, y + rows)))
        if band.getextrema()[0] == 255:  # all paper: nothing to send
            continue
        field = ZebrafyImage(band, format="ASCII_COMPRESSED", dither=False,
                             complete_zpl=False, pos_x=left, pos_y=top + y)  # fmt: skip
        fields.append(field.to_zpl())
    head = f"^XA\n^PW{LABEL_DOTS[0]}\n^LL{LABEL_DOTS[1]}\n^LH0,0\n"
    return (head + "\n".join(fields) + "\n^XZ\n").encode("ascii")
