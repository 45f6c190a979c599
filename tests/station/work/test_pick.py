"""Pick rules of the floor: every unit scanned, loud rejections, no complete without scans."""

from __future__ import annotations

from datetime import timedelta

import pytest

from station.work.events import (
    BinConfirmed,
    OverrideGranted,
    OverrideRefused,
    PickCompleted,
    PickRejected,
    ShortPick,
    UnitPicked,
)
from station.work.pick import PickSession
from station.work.supervisor import SupervisorBadges
from station.work.verdict import Accepted, Action, Needs, Reason, Rejected
from tests.station.work.builders import (
    LAMP,
    MUG,
    MUG_ALIAS,
    NOW,
    PACKER,
    SOCK,
    SUPERVISOR,
    FakeClock,
    default_order,
    gs1,
    lamp_unit,
    mugs,
    order,
    tea_case,
    tea_unit,
    teas,
)


def session(*, confirm_bin: bool = False, clock: FakeClock | None = None) -> PickSession:
    return PickSession(
        default_order(),
        clock=clock or FakeClock(),
        supervisors=SupervisorBadges({SUPERVISOR, "BADGE-0001"}),
        operator_badge=PACKER,
        confirm_bin=confirm_bin,
    )


def pick_everything(s: PickSession) -> None:
    for text in (
        MUG,
        MUG,
        tea_case(),
        tea_unit("L2612"),
        tea_unit("L2612"),
        lamp_unit("S1"),
        lamp_unit("S2"),
    ):
        assert isinstance(s.scan_text(text), Accepted), text


def test_a_whole_order_completes_only_on_its_last_unit() -> None:
    s = session()
    for text in (MUG, MUG, tea_case(), tea_unit("L2612"), tea_unit("L2612"), lamp_unit("S1")):
        assert isinstance(s.scan_text(text), Accepted)
        assert not s.complete
    last = s.scan_text(lamp_unit("S2"))
    assert last == Accepted(message="1 x LAMP-DESK", line=3, counted=1, remaining=0)
    assert s.complete and s.remaining == 0
    events = s.drain_events()
    picked = [e for e in events if isinstance(e, UnitPicked)]
    assert sum(e.units for e in picked) == 2 + 8 + 2
    assert [e.serial for e in picked if e.sku == "LAMP-DESK"] == ["S1", "S2"]
    assert {e.lot for e in picked if e.sku == "TEA-EARL"} == {"L2611", "L2612"}
    assert all(e.expiry is not None for e in picked if e.sku == "TEA-EARL")
    assert isinstance(events[-1], PickCompleted)
    assert [(r.line_no, r.scanned, r.short) for r in events[-1].lines] == [
        (1, 2, 0),
        (2, 8, 0),
        (3, 2, 0),
    ]
    tea = events[-1].lines[1].scans
    assert [(u.barcode, u.units, u.lot) for u in tea] == [
        ("15012345678907", 6, "L2611"),
        ("05012345678900", 1, "L2612"),
        ("05012345678900", 1, "L2612"),
    ]
    assert len({e.key for e in events}) == len(events)
    assert all(e.at == NOW and e.order_number == "PL0001001" for e in events)
    assert s.drain_events() == []


def test_a_case_counts_its_units() -> None:
    s = session()
    verdict = s.scan_text(tea_case())
    assert verdict == Accepted(message="6 x TEA-EARL (case)", line=2, counted=6, remaining=2)


REJECTIONS = [
    # (scans before, the scan, reason)
    ([], SOCK, Reason.WRONG_ITEM),
    ([MUG, MUG], MUG, Reason.EXTRA_UNIT),
    ([tea_unit(), tea_unit(), tea_unit()], tea_case(), Reason.EXTRA_UNIT),  # 6 > 5 open
    ([], tea_unit("L9999"), Reason.WRONG_LOT),
    ([tea_unit("L2612"), tea_unit("L2612")], tea_unit("L2612"), Reason.WRONG_LOT),
    ([], tea_unit(expiry=NOW.date() - timedelta(days=1)), Reason.EXPIRED),
    ([], gs1("05012345678900"), Reason.MISSING_LOT),
    ([lamp_unit("S1")], lamp_unit("S1"), Reason.DUPLICATE_SERIAL),
    ([], gs1(LAMP), Reason.MISSING_SERIAL),
    ([], gs1(MUG, count=3), Reason.EXTRA_UNIT),
    ([], "4006381333932", Reason.UNKNOWN_BARCODE),
    ([], "\x1b[A garbage", Reason.UNKNOWN_BARCODE),
    ([], "BIN-Z-99-99", Reason.WRONG_BIN),
    ([], "REASON-DAMAGED", Reason.UNEXPECTED_SCAN),
    ([], "BADGE-0003", Reason.UNEXPECTED_SCAN),
    ([], "BOX-M", Reason.UNEXPECTED_SCAN),
]


@pytest.mark.parametrize(("before", "text", "reason"), REJECTIONS)
def test_rejections_are_loud_and_never_counted(
    before: list[str], text: str, reason: Reason
) -> None:
    s = session()
    for scan in before:
        assert isinstance(s.scan_text(scan), Accepted), scan
    counted = [p.scanned for p in s.progress()]
    s.drain_events()
    verdict = s.scan_text(text)
    assert isinstance(verdict, Rejected)
    assert verdict.reason is reason and verdict.words
    assert [p.scanned for p in s.progress()] == counted
    (event,) = s.drain_events()
    assert isinstance(event, PickRejected) and event.reason is reason and event.raw == text


def test_expiry_before_today_is_rejected_but_today_is_fine() -> None:
    s = session()
    assert isinstance(s.scan_text(tea_unit(expiry=NOW.date())), Accepted)


def test_a_retired_alias_scans_until_its_window_closes() -> None:
    clock = FakeClock()
    s = session(clock=clock)
    assert isinstance(s.scan_text(MUG_ALIAS), Accepted)
    clock.advance(timedelta(days=3))
    verdict = s.scan_text(MUG_ALIAS)
    assert isinstance(verdict, Rejected) and verdict.reason is Reason.OUT_OF_WINDOW
    assert isinstance(s.scan_text(MUG), Accepted)  # the new barcode still counts


def test_bin_confirmation_comes_before_units() -> None:
    s = session(confirm_bin=True)
    needs = s.scan_text(MUG)
    assert isinstance(needs, Needs) and needs.action is Action.SCAN_BIN
    assert "A-01-01" in needs.words
    assert isinstance(s.scan_text("BIN-A-01-02"), Accepted)
    wrong = s.scan_text(MUG)
    assert isinstance(wrong, Rejected) and wrong.reason is Reason.WRONG_BIN
    assert isinstance(s.scan_text("A-01-01"), Accepted)
    assert isinstance(s.scan_text(MUG), Accepted)
    assert s.current_bin == "A-01-01"
    events = s.drain_events()
    assert [e.location for e in events if isinstance(e, BinConfirmed)] == ["A-01-02", "A-01-01"]
    assert [e.location for e in events if isinstance(e, UnitPicked)] == ["A-01-01"]


def test_bin_buckets_hold_their_allocated_quantity() -> None:
    s = session(confirm_bin=True)
    s.scan_text("BIN-A-01-03")  # holds 2 of lot L2612
    assert isinstance(s.scan_text(tea_unit("L2612")), Accepted)
    assert isinstance(s.scan_text(tea_unit("L2612")), Accepted)
    third = s.scan_text(tea_unit("L2612"))
    assert isinstance(third, Rejected) and third.reason is Reason.WRONG_LOT


def test_short_pick_needs_a_reason_card_and_records_it() -> None:
    s = session()
    pick_everything_but_one_lamp(s)
    needs = s.request_short(line_no=3)
    assert isinstance(needs, Needs) and needs.action is Action.SCAN_REASON_CARD
    assert s.pending is Action.SCAN_REASON_CARD
    assert isinstance(s.scan_text(LAMP), Needs)  # still waiting: nothing counted
    assert not s.complete
    done = s.scan_text("REASON-NOT-FOUND")
    assert isinstance(done, Accepted) and s.complete
    events = s.drain_events()
    (short,) = [e for e in events if isinstance(e, ShortPick)]
    assert (short.line_no, short.picked, short.short, short.reason_code) == (3, 1, 1, "NOT-FOUND")
    assert isinstance(events[-1], PickCompleted) and events[-1].lines[2].short == 1


def pick_everything_but_one_lamp(s: PickSession) -> None:
    for text in (MUG, MUG, tea_case(), tea_unit("L2612"), tea_unit("L2612"), lamp_unit("S1")):
        assert isinstance(s.scan_text(text), Accepted)


OVERRIDE_REFUSALS = [
    (["REASON-LABEL-DAMAGED"], Reason.SUPERVISOR_REQUIRED),
    (["BADGE-0099"], Reason.NOT_A_SUPERVISOR),
    ([PACKER], Reason.SAME_PERSON),
]


@pytest.mark.parametrize(("scans", "reason"), OVERRIDE_REFUSALS)
def test_override_without_a_supervisor_is_refused(scans: list[str], reason: Reason) -> None:
    s = PickSession(
        order(mugs()),
        clock=FakeClock(),
        supervisors=SupervisorBadges({SUPERVISOR, PACKER}),  # the packer is one too
        operator_badge=PACKER,
    )
    s.scan_text(MUG)
    needs = s.request_override(line_no=1)
    assert isinstance(needs, Needs) and needs.action is Action.SCAN_SUPERVISOR_BADGE
    for text in scans:
        verdict = s.scan_text(text)
    assert isinstance(verdict, Rejected) and verdict.reason is reason
    assert s.scan_text("REASON-LABEL-DAMAGED") is not None
    assert not s.complete and s.progress()[0].overridden == 0
    events = s.drain_events()
    assert not any(isinstance(e, OverrideGranted) for e in events)
    assert any(isinstance(e, OverrideRefused | PickRejected) for e in events)


def test_a_session_without_supervisors_never_overrides() -> None:
    s = PickSession(order(mugs()), clock=FakeClock())
    s.request_override(line_no=1)
    refused = s.scan_text(SUPERVISOR)
    assert isinstance(refused, Rejected) and refused.reason is Reason.NOT_A_SUPERVISOR


def test_supervisor_override_accepts_a_line_and_records_who() -> None:
    s = session()
    pick_everything_but_one_lamp(s)
    s.request_override(line_no=3)
    assert isinstance(s.scan_text("BADGE-0099"), Rejected)  # wrong badge: request stays open
    assert isinstance(s.scan_text(SUPERVISOR), Needs)
    assert not s.complete
    done = s.scan_text("REASON-LABEL-DAMAGED")
    assert isinstance(done, Accepted) and s.complete
    events = s.drain_events()
    (grant,) = [e for e in events if isinstance(e, OverrideGranted)]
    assert (grant.line_no, grant.units, grant.supervisor_badge, grant.operator_badge) == (
        3,
        1,
        SUPERVISOR,
        PACKER,
    )
    assert grant.reason_code == "LABEL-DAMAGED" and grant.stage == "pick"
    (refusal,) = [e for e in events if isinstance(e, OverrideRefused)]
    assert refusal.badge == "BADGE-0099"


def test_override_and_short_of_a_finished_line_are_refused() -> None:
    s = session()
    s.scan_text(MUG)
    s.scan_text(MUG)
    assert isinstance(s.request_override(line_no=1), Rejected)
    assert isinstance(s.request_short(line_no=1), Rejected)
    with pytest.raises(ValueError, match="no line 9"):
        s.request_short(line_no=9)
    with pytest.raises(ValueError, match="override of 9"):
        s.request_override(line_no=2, units=5 + 4)


def test_cancel_drops_a_pending_request() -> None:
    s = session()
    s.request_short(line_no=1)
    s.cancel()
    assert s.pending is None
    assert isinstance(s.scan_text(MUG), Accepted)


def test_serial_can_repeat_across_skus_but_not_within_one() -> None:
    s = session()
    assert isinstance(s.scan_text(lamp_unit("X1")), Accepted)
    assert isinstance(s.scan_text(lamp_unit("X1")), Rejected)
    assert isinstance(s.scan_text(gs1(MUG, serial="X1")), Accepted)


def test_everything_after_completion_is_refused() -> None:
    s = session()
    pick_everything(s)
    for text in (MUG, "BIN-A-01-01", "REASON-X", tea_unit()):
        verdict = s.scan_text(text)
        assert isinstance(verdict, Rejected), text
    assert sum(p.scanned for p in s.progress()) == 12
    assert sum(isinstance(e, PickCompleted) for e in s.drain_events()) == 1


def test_a_task_with_a_broken_valid_to_is_refused_up_front() -> None:
    bad = teas().model_copy(
        update={"barcodes": [teas().barcodes[0].model_copy(update={"valid_to": "soon"})]}
    )
    with pytest.raises(ValueError):
        PickSession(order(bad), clock=FakeClock())
