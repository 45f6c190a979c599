"""Barcode mapping windows: an old and a new barcode overlap while labels are relabelled."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from server.domain.errors import BarcodeConflict


@dataclass(frozen=True, slots=True)
class Window:
    sku_id: int
    valid_from: datetime
    valid_to: datetime | None  # open-ended when None

    def contains(self, at: datetime) -> bool:
        return self.valid_from <= at and (self.valid_to is None or at < self.valid_to)

    def overlaps(self, other: Window) -> bool:
        starts_before_other_ends = other.valid_to is None or self.valid_from < other.valid_to
        ends_after_other_starts = self.valid_to is None or other.valid_from < self.valid_to
        return starts_before_other_ends and ends_after_other_starts


def ensure_no_overlap(*, value: str, new: Window, existing: list[Window]) -> None:
    for old in existing:
        if new.overlaps(old):
            whose = "another SKU" if old.sku_id != new.sku_id else "the same SKU"
            raise BarcodeConflict(
                f"barcode {value} is already mapped to {whose} in an overlapping period",
                value=value,
                sku_id=old.sku_id,
            )
