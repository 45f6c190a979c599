"""The carton label a bench prints when a box is closed: order, box n, contents, a barcode
that names the carton (Code 128 of `<order>-<box>`), so the carton can be scanned at dispatch."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from shared.labels.zpl_text import field as _field


@dataclass(frozen=True, slots=True)
class CartonLine:
    sku: str
    units: int


def carton_id(*, order_number: str, box_no: int) -> str:
    return f"{order_number}-{box_no}"


def carton_label(
    *,
    order_number: str,
    box_no: int,
    box_type: str,
    lines: Sequence[CartonLine],
    weight_g: int | None,
) -> bytes:
    """A 4x6 inch label at 203 dpi (812 x 1218 dots), UTF-8 text (^CI28)."""
    rows = [
        "^XA",
        "^CI28",
        "^PW812",
        "^LL1218",
        f"^FO40,40^A0N,60,60^FH^FD{_field(order_number)}^FS",
        f"^FO40,110^A0N,40,40^FH^FDBox {box_no} ({_field(box_type)})^FS",
    ]
    if weight_g is not None:
        rows.append(f"^FO500,110^A0N,40,40^FD{weight_g} g^FS")
    y = 190
    for line in list(lines)[:16]:
        rows.append(f"^FO40,{y}^A0N,34,34^FH^FD{line.units} x {_field(line.sku)}^FS")
        y += 44
    if len(lines) > 16:
        rows.append(f"^FO40,{y}^A0N,34,34^FD... and {len(lines) - 16} more lines^FS")
    ident = _field(carton_id(order_number=order_number, box_no=box_no))
    rows += [
        f"^FO60,940^BY3^BCN,180,Y,N,N^FH^FD{ident}^FS",
        "^XZ",
    ]
    return "\n".join(rows).encode("utf-8")
