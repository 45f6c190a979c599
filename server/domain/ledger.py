"""Pure ledger arithmetic: cycle-count corrections and reconciliation verdicts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class MovementReason(StrEnum):
    RECEIVE = "receive"
    MOVE = "move"
    SHIP = "ship"
    COUNT_GAIN = "count_gain"
    COUNT_LOSS = "count_loss"
    RETURN = "return"
    TRIAGE = "triage"
    SCRAP = "scrap"


@dataclass(frozen=True, slots=True)
class CountCorrection:
    gain: int
    loss: int
    # Reservation ids to release because the shelf holds fewer units than were promised.
    release: tuple[tuple[int, int], ...]


def count_correction(
    *, on_hand: int, reserved: int, counted: int, reservations: Sequence[tuple[int, int]]
) -> CountCorrection:
    """The physical count wins. `reservations` are (id, qty) newest first: the newest promise is
    the one broken, so the order that waited longest keeps its stock."""
    if counted < 0:
        raise ValueError("a count cannot be negative")
    gain = max(0, counted - on_hand)
    loss = max(0, on_hand - counted)
    excess = reserved - counted
    release: list[tuple[int, int]] = []
    for rid, qty in reservations:
        if excess <= 0:
            break
        release.append((rid, qty))
        excess -= qty
    return CountCorrection(gain=gain, loss=loss, release=tuple(release))


@dataclass(frozen=True, slots=True)
class Drift:
    stock_level_id: int
    field: str  # "on_hand" or "reserved"
    counter: int
    expected: int


def drifts(
    *,
    counters: dict[int, tuple[int, int]],
    ledger_on_hand: dict[int, int],
    active_reserved: dict[int, int],
) -> list[Drift]:
    """Compare counter rows (id -> (on_hand, reserved)) with the sums they must equal."""
    found: list[Drift] = []
    for sid, (on_hand, reserved) in sorted(counters.items()):
        if on_hand != ledger_on_hand.get(sid, 0):
            found.append(Drift(sid, "on_hand", on_hand, ledger_on_hand.get(sid, 0)))
        if reserved != active_reserved.get(sid, 0):
            found.append(Drift(sid, "reserved", reserved, active_reserved.get(sid, 0)))
    return found
