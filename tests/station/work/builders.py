"""Tasks and a clock for the work tests: the demo catalog's real GTINs (server/demo.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from shared.contract.orders import TaskBarcodeOut, TaskLineOut, TaskOut, TaskPickOut

MUG = "4006381333931"  # EAN-13, 320 g
TEA = "5012345678900"  # EAN-13, 110 g, lot + expiry tracked
TEA_CASE = "15012345678907"  # GTIN-14 case of 6
LAMP = "9506000134352"  # 1400 g, serial tracked here
SOCK = "0036000291452"  # UPC-A, not on the default order
MUG_ALIAS = "MUG-BLUE-OLD"  # internal alias, retired at OLD_ALIAS_END
NOW = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
OLD_ALIAS_END = NOW + timedelta(days=2)
SUPERVISOR = "BADGE-0003"
PACKER = "BADGE-0002"


@dataclass
class FakeClock:
    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def barcode(value: str, units: int = 1, valid_to: datetime | None = None) -> TaskBarcodeOut:
    return TaskBarcodeOut(
        value=value, units=units, valid_to=valid_to.isoformat() if valid_to else None
    )


def pick(location: str, qty: int, lot: str = "", expiry: date | None = None) -> TaskPickOut:
    return TaskPickOut(location=location, lot=lot, expiry=expiry, qty=qty)


def line(
    line_no: int,
    sku: str,
    qty: int,
    *,
    weight_g: int,
    barcodes: list[TaskBarcodeOut],
    picks: list[TaskPickOut],
    lot: bool = False,
    serial: bool = False,
    expiry: bool = False,
) -> TaskLineOut:
    return TaskLineOut(
        line_no=line_no,
        sku=sku,
        name=sku.title(),
        qty=qty,
        weight_g=weight_g,
        track_lot=lot,
        track_serial=serial,
        track_expiry=expiry,
        barcodes=barcodes,
        picks=picks,
    )


def order(*lines: TaskLineOut, number: str = "PL0001001") -> TaskOut:
    return TaskOut(order_id=1001, number=number, state="picking", ship_by=None, lines=list(lines))


def mugs(qty: int = 2) -> TaskLineOut:
    return line(
        1,
        "MUG-BLUE",
        qty,
        weight_g=320,
        barcodes=[barcode(MUG), barcode(MUG_ALIAS, valid_to=OLD_ALIAS_END)],
        picks=[pick("A-01-01", qty)],
    )


def teas(qty: int = 8) -> TaskLineOut:
    good = NOW.date() + timedelta(days=300)
    return line(
        2,
        "TEA-EARL",
        qty,
        weight_g=110,
        barcodes=[barcode(TEA), barcode(TEA_CASE, units=6)],
        picks=[pick("A-01-02", qty - 2, "L2611", good), pick("A-01-03", 2, "L2612", good)],
        lot=True,
        expiry=True,
    )


def lamps(qty: int = 2) -> TaskLineOut:
    return line(
        3,
        "LAMP-DESK",
        qty,
        weight_g=1400,
        barcodes=[barcode(LAMP)],
        picks=[pick("A-01-04", qty)],
        serial=True,
    )


def default_order() -> TaskOut:
    return order(mugs(), teas(), lamps())


def gs1(
    gtin: str,
    *,
    lot: str | None = None,
    expiry: date | None = None,
    serial: str | None = None,
    count: int | None = None,
) -> str:
    """A GS1-128 read as the scanner sends it: AIM `]C1`, GS after variable fields."""
    text = "]C101" + gtin.zfill(14)
    if expiry is not None:
        text += "17" + expiry.strftime("%y%m%d")
    if lot is not None:
        text += "10" + lot + "\x1d"
    if serial is not None:
        text += "21" + serial + "\x1d"
    if count is not None:
        text += "30" + str(count) + "\x1d"
    return text.rstrip("\x1d")


def tea_unit(lot: str = "L2611", expiry: date | None = None) -> str:
    return gs1(TEA, lot=lot, expiry=expiry or NOW.date() + timedelta(days=300))


def tea_case(lot: str = "L2611") -> str:
    return gs1(TEA_CASE, lot=lot, expiry=NOW.date() + timedelta(days=300))


def lamp_unit(serial: str) -> str:
    return gs1(LAMP, serial=serial)
