"""What the bench answers to one scan: accepted, rejected (with a reason) or needs something.

The words are for a picker in gloves reading a screen from a metre away: short, concrete,
and saying what to do next. Reason codes are stable (they go into events and dashboards).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Reason(StrEnum):
    WRONG_ITEM = "wrong_item"  # not on this order
    EXTRA_UNIT = "extra_unit"  # line already complete, or a case would overshoot it
    WRONG_LOT = "wrong_lot"  # lot not allocated (or its allocated units are all scanned)
    MISSING_LOT = "missing_lot"  # lot-tracked item scanned from a barcode without AI 10
    MISSING_SERIAL = "missing_serial"  # serial-tracked item without AI 21, or as a case
    DUPLICATE_SERIAL = "duplicate_serial"
    MISSING_EXPIRY = "missing_expiry"
    EXPIRED = "expired"  # AI 17 before today
    OUT_OF_WINDOW = "out_of_window"  # the alias's valid_to has passed
    COUNT_MISMATCH = "count_mismatch"  # GS1 count (AI 30/37) disagrees with the catalog
    WRONG_BIN = "wrong_bin"  # a bin that holds nothing for this order
    UNKNOWN_BARCODE = "unknown_barcode"  # unreadable, bad check digit, pallet label ...
    UNEXPECTED_SCAN = "unexpected_scan"  # a valid barcode, but not one this step takes
    WRONG_ORDER = "wrong_order"  # order number / tote of another order
    NOT_STARTED = "not_started"  # packing before the tote/order was scanned
    NOT_A_SUPERVISOR = "not_a_supervisor"
    SUPERVISOR_REQUIRED = "supervisor_required"  # reason card before a supervisor badge
    SAME_PERSON = "same_person"  # four-eyes: the operator cannot approve themselves
    NOTHING_TO_OVERRIDE = "nothing_to_override"
    UNKNOWN_BOX_TYPE = "unknown_box_type"
    BOX_EMPTY = "box_empty"
    NO_WEIGHT = "no_weight"  # scale reads zero or below: never accepted as a weight
    WEIGHT_OUT_OF_TOLERANCE = "weight_out_of_tolerance"
    ALREADY_COMPLETE = "already_complete"


class Action(StrEnum):
    SCAN_BIN = "scan_bin"
    SCAN_REASON_CARD = "scan_reason_card"
    SCAN_SUPERVISOR_BADGE = "scan_supervisor_badge"
    SCAN_BOX_TYPE = "scan_box_type"
    WEIGH_BOX = "weigh_box"


@dataclass(frozen=True, kw_only=True)
class Accepted:
    message: str
    # The order line this scan counted against; None for bin/box/tote/reason steps.
    line: int | None = None
    counted: int = 0  # units this very scan added
    remaining: int = 0  # units still open on `line` (on the whole order when line is None)


@dataclass(frozen=True, kw_only=True)
class Rejected:
    reason: Reason
    words: str
    line: int | None = None


@dataclass(frozen=True, kw_only=True)
class Needs:
    action: Action
    words: str


Verdict = Accepted | Rejected | Needs
