"""Every label the system prints is rendered (zplkit, with the printer emulator's default
limits) and every barcode on it decoded (zxing-cpp), and the payload must be exactly the one the
floor scans: a tracking number, a carton id, a card's text. A label nobody can scan is worse
than no label, because the packer trusts it.

A new kind of label is one more line in LABELS: a name, how to build it, and what each printed
label must scan as (one list of barcodes per ^XA…^XZ label, in print order).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
import zplkit
import zxingcpp
from PIL import Image

from server.carriers.base import Carrier, PackageLabel
from server.carriers.zpl_image import image_to_zpl
from shared.contract.returns import CONDITIONS
from shared.labels.carton import CartonLine, carton_label
from shared.labels.returns import (
    DECISIONS,
    condition_card,
    condition_card_text,
    decision_card,
    decision_card_text,
    quarantine_bin_label,
    return_unit_label,
    unit_label_text,
)
from tests.fakes import easypost_server, shippo_server, shipstation_server
from tests.fakes.label_images import LETTER_PAGE, pdf_label, png_label
from tests.server.carriers.providers import REQUEST, Providers, three_providers


@dataclass(frozen=True)
class LabelCase:
    name: str
    build: Callable[[], bytes]
    scans_as: list[list[str]]  # per printed label, the barcodes read off it


LINES = [CartonLine("SKU-A", 2), CartonLine("SKU-B", 1)]

# fmt: off
LABELS: list[LabelCase] = [
    LabelCase("carton label", lambda: carton_label(
        order_number="PL0000042", box_no=2, box_type="M", lines=LINES, weight_g=1234),
        [["PL0000042-2"]]),
    LabelCase("carton label, ZPL-special characters", lambda: carton_label(
        order_number="WS^7_~9", box_no=11, box_type="XL", lines=LINES, weight_g=None),
        [["WS^7_~9-11"]]),
    LabelCase("EasyPost fake ZPL", lambda: easypost_server.zpl_label(
        tracking_code="9400100000000000000042", carrier="USPS", service="Priority"),
        [["9400100000000000000042"]]),
    LabelCase("Shippo fake ZPL", lambda: shippo_server.zpl_label("1ZFAKE0000000042", 2, 3),
        [["1ZFAKE0000000042"]]),
    LabelCase("ShipStation fake ZPL", lambda: shipstation_server.zpl_for(
        "1Z999AA10123456784", 1, 2), [["1Z999AA10123456784"]]),
    LabelCase("converted 300 dpi PNG", lambda: image_to_zpl(
        png_label("1ZFAKE00000000AB42"), "png"), [["1ZFAKE00000000AB42"]]),
    LabelCase("converted 203 dpi PNG", lambda: image_to_zpl(
        png_label("9405511899223197428490", dpi=203, module_px=2), "png"),
        [["9405511899223197428490"]]),
    LabelCase("converted landscape PNG", lambda: image_to_zpl(
        png_label("1ZFAKE00000000CD43", landscape=True), "png"), [["1ZFAKE00000000CD43"]]),
    LabelCase("converted 4x6 PDF", lambda: image_to_zpl(
        pdf_label("1ZFAKE00000000EF44"), "pdf"), [["1ZFAKE00000000EF44"]]),
    LabelCase("converted Letter PDF with a customs page", lambda: image_to_zpl(pdf_label(
        "1ZFAKE00000000GH45", page=LETTER_PAGE, bar_mm=0.381, extra_pages=("CN23-0007",)),
        "pdf"), [["1ZFAKE00000000GH45"], ["CN23-0007"]]),
    *(LabelCase(f"condition card {c}", lambda c=c: condition_card(c),
        [[condition_card_text(c)]]) for c in CONDITIONS),
    LabelCase("quarantine bin label", lambda: quarantine_bin_label(code="Q-07"),
        [["BIN-Q-07"]]),
    *(LabelCase(f"triage decision card {d}", lambda d=d: decision_card(d),
        [[decision_card_text(d)]]) for d in DECISIONS),
    LabelCase("returned unit label", lambda: return_unit_label(
        unit_id=12, sku="MUG-BLUE", condition="damaged", rma="RMA-0000007"),
        [[unit_label_text(12)]]),
]
# fmt: on


def scans(zpl: bytes) -> list[list[str]]:
    document = zplkit.render(zpl)
    return [
        [b.text for b in zxingcpp.read_barcodes(Image.open(io.BytesIO(label.png())))]
        for label in document.labels
    ]


@pytest.mark.parametrize("case", LABELS, ids=[case.name for case in LABELS])
def test_printed_label_scans_back_exactly(case: LabelCase) -> None:
    assert scans(case.build()) == case.scans_as


# -- what the provider adapters actually hand over, bought from the three fakes ---------------


@pytest.fixture(scope="module")
def providers() -> Iterator[Providers]:
    with three_providers() as p:
        yield p


def _bought(carrier: Carrier) -> tuple[PackageLabel, ...]:
    quotes, _ = carrier.rates(REQUEST, timeout_s=10)
    assert quotes, f"{carrier.provider} offered no rate"
    return carrier.buy(quotes[0], REQUEST, timeout_s=20).packages


@pytest.mark.parametrize("provider", ["easypost", "shippo", "shipstation"])
def test_bought_zpl_label_scans_back_to_its_tracking_number(
    providers: Providers, provider: str
) -> None:
    carrier = next(c for c in providers.carriers if c.provider == provider)
    for package in _bought(carrier):
        assert package.zpl is not None  # these providers answer ZPL when asked
        assert scans(package.zpl) == [[package.tracking_number]]


@pytest.mark.parametrize("kind", ["PNG", "PDF"])
def test_bought_image_label_scans_back_once_converted(providers: Providers, kind: str) -> None:
    carrier = next(c for c in providers.carriers if c.provider == "shippo")
    providers.shippo.image_labels = kind
    try:
        packages = _bought(carrier)
    finally:
        providers.shippo.image_labels = ""
    for package in packages:
        assert package.zpl is None and package.image_format == kind.lower()
        assert scans(image_to_zpl(package.image, package.image_format)) == [
            [package.tracking_number]
        ]
