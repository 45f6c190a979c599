"""Packing: start by tote/order, units into boxes, box type, scale check, close, next box."""

from __future__ import annotations

import pytest

from station.work.boxes import BoxType, ScaleTolerance, check_weight
from station.work.events import (
    BoxClosed,
    BoxTypeChosen,
    OverrideGranted,
    PackCompleted,
    PackRejected,
    PackStarted,
    UnitPacked,
    WeightChecked,
)
from station.work.pack import PackSession
from station.work.supervisor import SupervisorBadges
from station.work.verdict import Accepted, Action, Needs, Reason, Rejected
from tests.station.work.builders import (
    MUG,
    PACKER,
    SOCK,
    SUPERVISOR,
    FakeClock,
    lamp_unit,
    lamps,
    mugs,
    order,
    tea_case,
    tea_unit,
    teas,
)

TOLERANCE = ScaleTolerance(percent=5, min_g=50)


def session(*, tote: str | None = "TOTE-0042", require_weight: bool = False) -> PackSession:
    return PackSession(
        order(mugs(), teas(), lamps()),
        clock=FakeClock(),
        scale_tolerance=TOLERANCE,
        supervisors=SupervisorBadges({SUPERVISOR}),
        operator_badge=PACKER,
        tote=tote,
        require_weight=require_weight,
    )


def accepted(s: PackSession, *texts: str) -> None:
    for text in texts:
        verdict = s.scan_text(text)
        assert isinstance(verdict, Accepted), (text, verdict)


@pytest.mark.parametrize("start", ["TOTE-0042", "PL0001001"])
def test_pack_starts_with_its_tote_or_order_number(start: str) -> None:
    s = session()
    early = s.scan_text(MUG)
    assert isinstance(early, Rejected) and early.reason is Reason.NOT_STARTED
    accepted(s, start)
    assert s.started
    started = [e for e in s.drain_events() if isinstance(e, PackStarted)]
    assert [(e.via, e.value) for e in started] == [
        ("tote" if start.startswith("TOTE") else "order", start)
    ]


@pytest.mark.parametrize("start", ["TOTE-0099", "PL0009999"])
def test_another_orders_tote_or_number_is_refused(start: str) -> None:
    s = session()
    verdict = s.scan_text(start)
    assert isinstance(verdict, Rejected) and verdict.reason is Reason.WRONG_ORDER
    assert not s.started


def test_an_unknown_tote_asks_for_the_order_number() -> None:
    s = session(tote=None)
    verdict = s.scan_text("TOTE-0042")
    assert isinstance(verdict, Rejected) and "order number" in verdict.words


def test_multi_box_order_completes_only_when_the_last_box_is_closed() -> None:
    s = session()
    accepted(s, "PL0001001", MUG, MUG, "BOX-M")
    assert s.close_box(measured_g=320 * 2 + 250) == Accepted(
        message="Box 1 closed: start the next box", remaining=10
    )
    accepted(s, "BOX-L", tea_case(), tea_unit("L2612"), tea_unit("L2612"))
    accepted(s, lamp_unit("S1"), lamp_unit("S2"))
    assert not s.complete  # every unit is in, but the box is open
    assert s.remaining == 0
    done = s.close_box(measured_g=8 * 110 + 2 * 1400 + 480)
    assert isinstance(done, Accepted) and s.complete
    events = s.drain_events()
    closed = [e for e in events if isinstance(e, BoxClosed)]
    assert [(b.box_no, b.box_type, sum(c.units for c in b.contents)) for b in closed] == [
        (1, "BOX-M", 2),
        (2, "BOX-L", 10),
    ]
    assert closed[1].expected_g == 8 * 110 + 2 * 1400 + 480
    assert [e.box_no for e in events if isinstance(e, UnitPacked)] == [1, 1] + [2] * 5
    assert [e.box_type for e in events if isinstance(e, BoxTypeChosen)] == ["BOX-M", "BOX-L"]
    assert isinstance(events[-1], PackCompleted)
    summary = [(b.box_no, b.box_type, b.units, b.measured_g) for b in events[-1].boxes]
    assert summary == [(1, "BOX-M", 2, 890), (2, "BOX-L", 10, 4160)]
    assert events[-1].units == 12


def test_pack_uses_the_pick_rules() -> None:
    s = session()
    accepted(s, "TOTE-0042", MUG, MUG)
    for text, reason in [
        (MUG, Reason.EXTRA_UNIT),
        (SOCK, Reason.WRONG_ITEM),
        (tea_unit("L0000"), Reason.WRONG_LOT),
        (lamp_unit("S1"), None),
        (lamp_unit("S1"), Reason.DUPLICATE_SERIAL),
        ("BOX-XL", Reason.UNKNOWN_BOX_TYPE),
        ("garbage\x07", Reason.UNKNOWN_BARCODE),
        ("BIN-A-01-01", Reason.UNEXPECTED_SCAN),
    ]:
        verdict = s.scan_text(text)
        if reason is None:
            assert isinstance(verdict, Accepted)
        else:
            assert isinstance(verdict, Rejected) and verdict.reason is reason, text
    rejected = [e for e in s.drain_events() if isinstance(e, PackRejected)]
    assert len(rejected) == 7 and all(e.box_no == 1 and e.words for e in rejected)
    assert sum(p.scanned for p in s.progress()) == 3


def test_closing_needs_units_and_a_box_type() -> None:
    s = session()
    accepted(s, "TOTE-0042")
    empty = s.close_box()
    assert isinstance(empty, Rejected) and empty.reason is Reason.BOX_EMPTY
    accepted(s, MUG)
    needs = s.close_box()
    assert isinstance(needs, Needs) and needs.action is Action.SCAN_BOX_TYPE


def test_a_bench_that_requires_weight_asks_for_it() -> None:
    s = session(require_weight=True)
    accepted(s, "TOTE-0042", MUG, "BOX-S")
    needs = s.close_box()
    assert isinstance(needs, Needs) and needs.action is Action.WEIGH_BOX
    zero = s.close_box(measured_g=0)
    assert isinstance(zero, Rejected) and zero.reason is Reason.NO_WEIGHT
    assert isinstance(s.close_box(measured_g=440), Accepted)


# Expected for one mug in a BOX-M: 320 + 250 = 570 g; 5 % is 28.5 g, so the 50 g floor rules.
WEIGHTS = [
    (570, True),
    (620, True),
    (520, True),
    (621, False),
    (519, False),
]


@pytest.mark.parametrize(("measured", "within"), WEIGHTS)
def test_weight_check_both_ways(measured: int, within: bool) -> None:
    s = session()
    accepted(s, "TOTE-0042", MUG, "BOX-M")
    verdict = s.close_box(measured_g=measured)
    assert isinstance(verdict, Accepted) is within
    if not within:
        assert isinstance(verdict, Rejected) and verdict.reason is Reason.WEIGHT_OUT_OF_TOLERANCE
        assert f"{measured} g" in verdict.words and "570 g" in verdict.words
        assert ("heavy" if measured > 570 else "light") in verdict.words
        assert s.current_box is not None and not s.current_box.closed
    (check,) = [e for e in s.drain_events() if isinstance(e, WeightChecked)]
    assert (check.expected_g, check.measured_g, check.allowed_g, check.within) == (
        570,
        measured,
        50,
        within,
    )


def test_percentage_band_wins_for_heavy_parcels() -> None:
    tolerance = ScaleTolerance(percent=5, min_g=50)
    assert check_weight(expected_g=10_000, measured_g=10_500, tolerance=tolerance).within
    assert not check_weight(expected_g=10_000, measured_g=9_499, tolerance=tolerance).within
    with pytest.raises(ValueError):
        ScaleTolerance(percent=-1, min_g=0)


def test_injected_tare_table() -> None:
    s = PackSession(
        order(mugs(1)),
        clock=FakeClock(),
        scale_tolerance=ScaleTolerance(percent=0, min_g=0),
        box_types={"BOX-TUBE": BoxType(code="BOX-TUBE", name="Tube", tare_g=80)},
    )
    accepted(s, "PL0001001", MUG)
    assert isinstance(s.scan_text("BOX-M"), Rejected)
    accepted(s, "BOX-TUBE")
    assert isinstance(s.close_box(measured_g=401), Rejected)
    assert isinstance(s.close_box(measured_g=400), Accepted) and s.complete


def test_a_failed_weight_can_be_accepted_by_a_supervisor_only() -> None:
    s = session()
    accepted(s, "TOTE-0042", MUG, "BOX-M")
    assert isinstance(s.request_weight_override(), Rejected)  # nothing failed yet
    assert isinstance(s.close_box(measured_g=900), Rejected)
    s.request_weight_override()
    assert isinstance(s.scan_text(PACKER), Rejected)  # own badge: four-eyes
    assert isinstance(s.scan_text(SUPERVISOR), Needs)
    accepted(s, "REASON-CATALOG-WEIGHT")
    assert isinstance(s.close_box(measured_g=900), Accepted)
    events = s.drain_events()
    (grant,) = [e for e in events if isinstance(e, OverrideGranted)]
    assert (grant.line_no, grant.box_no, grant.supervisor_badge) == (None, 1, SUPERVISOR)
    (closed,) = [e for e in events if isinstance(e, BoxClosed)]
    assert closed.weight_overridden and closed.measured_g == 900


def test_override_packs_a_unit_without_scanning() -> None:
    s = PackSession(
        order(mugs(2)),
        clock=FakeClock(),
        scale_tolerance=TOLERANCE,
        supervisors=SupervisorBadges({SUPERVISOR}),
    )
    assert isinstance(s.request_override(line_no=1), Rejected)  # not started
    accepted(s, "PL0001001", MUG)
    s.request_override(line_no=1)
    refused = s.scan_text("REASON-LABEL-DAMAGED")
    assert isinstance(refused, Rejected) and refused.reason is Reason.SUPERVISOR_REQUIRED
    assert isinstance(s.scan_text(SUPERVISOR), Needs)
    accepted(s, "REASON-LABEL-DAMAGED", "BOX-S")
    assert s.remaining == 0
    assert isinstance(s.close_box(measured_g=760), Accepted) and s.complete


def test_box_type_after_everything_is_packed_is_refused() -> None:
    s = PackSession(order(mugs(1)), clock=FakeClock(), scale_tolerance=TOLERANCE)
    accepted(s, "PL0001001", MUG, "BOX-S")
    assert isinstance(s.close_box(), Accepted)
    verdict = s.scan_text("BOX-S")
    assert isinstance(verdict, Rejected) and verdict.reason is Reason.ALREADY_COMPLETE
