"""Random scan sequences: counts never exceed the order, rejections never count, and
completion only follows real work (scans, shorts with reasons, supervisor overrides)."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from station.work.boxes import ScaleTolerance
from station.work.events import (
    BoxClosed,
    OverrideGranted,
    PackCompleted,
    PickCompleted,
    ShortPick,
    UnitPacked,
    UnitPicked,
)
from station.work.pack import PackSession
from station.work.pick import PickSession
from station.work.supervisor import SupervisorBadges
from station.work.verdict import Accepted, Needs, Reason, Rejected, Verdict
from tests.station.work.builders import (
    MUG,
    MUG_ALIAS,
    NOW,
    PACKER,
    SOCK,
    SUPERVISOR,
    FakeClock,
    gs1,
    lamp_unit,
    lamps,
    mugs,
    order,
    tea_case,
    tea_unit,
    teas,
)

SCANS = [
    MUG, MUG, MUG_ALIAS, gs1(MUG, count=2), gs1(MUG, count=5), SOCK,
    tea_unit(), tea_unit("L2612"), tea_unit("L0000"), tea_case(), tea_case("L2612"),
    tea_unit(expiry=NOW.date() - timedelta(days=1)), gs1("05012345678900"),
    lamp_unit("S1"), lamp_unit("S2"), lamp_unit("S3"), gs1("9506000134352"),
    "BIN-A-01-01", "BIN-A-01-02", "BIN-A-01-03", "BIN-A-01-04", "BIN-Z-00-00",
    "REASON-NOT-FOUND", "REASON-DAMAGED", SUPERVISOR, PACKER, "BADGE-0099",
    "BOX-S", "BOX-M", "BOX-L", "BOX-XL", "TOTE-0042", "TOTE-0001", "PL0001001", "PL0000002",
    "4006381333932", "376104250021234569",
]  # fmt: skip

scan_step = st.one_of(
    st.sampled_from(SCANS).map(lambda t: ("scan", t)),
    st.text(max_size=30).map(lambda t: ("scan", t)),  # garbage from a confused scanner
    st.tuples(st.just("short"), st.integers(1, 3)),
    st.tuples(st.just("override"), st.integers(1, 3)),
    st.just(("cancel", 0)),
    st.just(("tomorrow", 0)),  # walks the clock past the old alias's window, eventually
)
pack_step = st.one_of(
    scan_step,
    st.tuples(st.just("close"), st.one_of(st.none(), st.integers(-10, 6000))),
    st.just(("weight_override", 0)),
)
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check_verdict(verdict: Verdict, before: list[int], after: list[int]) -> None:
    if isinstance(verdict, Rejected):
        assert isinstance(verdict.reason, Reason) and verdict.words.strip()
        assert after == before, "a rejected scan changed a count"
    elif isinstance(verdict, Needs):
        assert after == before and verdict.words.strip()
    else:
        assert sum(after) - sum(before) >= verdict.counted >= 0


@SETTINGS
@given(steps=st.lists(scan_step, max_size=60), confirm_bin=st.booleans())
def test_pick_never_overcounts_nor_counts_a_rejection(
    steps: list[tuple[str, object]], confirm_bin: bool
) -> None:
    clock = FakeClock()
    task = order(mugs(), teas(), lamps())
    s = PickSession(
        task,
        clock=clock,
        supervisors=SupervisorBadges({SUPERVISOR}),
        operator_badge=PACKER,
        confirm_bin=confirm_bin,
    )
    events = []
    for kind, arg in steps:
        before = [p.scanned + p.overridden + p.short for p in s.progress()]
        if kind == "scan":
            verdict = s.scan_text(str(arg))
        elif kind == "short":
            verdict = s.request_short(line_no=int(str(arg)))
        elif kind == "override":
            verdict = s.request_override(line_no=int(str(arg)))
        elif kind == "cancel":
            s.cancel()
            continue
        else:
            clock.advance(timedelta(days=1))
            continue
        after = [p.scanned + p.overridden + p.short for p in s.progress()]
        check_verdict(verdict, before, after)
        events.extend(s.drain_events())
        for p, line in zip(s.progress(), task.lines, strict=True):
            assert 0 <= p.scanned + p.overridden + p.short <= line.qty
        assert s.complete == all(p.remaining == 0 for p in s.progress())

    picked = Counter[int]()
    for e in events:
        if isinstance(e, UnitPicked):
            picked[e.line_no] += e.units
            assert e.expiry is None or e.expiry >= e.at.date()
    assert {p.line_no: p.scanned for p in s.progress()} == {n: picked[n] for n in (1, 2, 3)}
    serials = [e.serial for e in events if isinstance(e, UnitPicked) and e.serial]
    assert len(serials) == len(set(serials))
    for e in events:
        if isinstance(e, OverrideGranted):
            assert e.supervisor_badge == SUPERVISOR and e.reason_code
        if isinstance(e, ShortPick):
            assert e.reason_code
    overridden = sum(p.overridden for p in s.progress())
    assert overridden == sum(e.units for e in events if isinstance(e, OverrideGranted))
    completed = [e for e in events if isinstance(e, PickCompleted)]
    assert len(completed) == (1 if s.complete else 0)
    assert len({e.key for e in events}) == len(events)


@SETTINGS
@given(steps=st.lists(pack_step, max_size=80))
def test_pack_never_overpacks_and_completes_only_with_closed_boxes(
    steps: list[tuple[str, object]],
) -> None:
    clock = FakeClock()
    task = order(mugs(), teas(), lamps())
    tolerance = ScaleTolerance(percent=5, min_g=50)
    s = PackSession(
        task,
        clock=clock,
        scale_tolerance=tolerance,
        supervisors=SupervisorBadges({SUPERVISOR}),
        operator_badge=PACKER,
        tote="TOTE-0042",
    )
    events = []
    for kind, arg in steps:
        before = [p.scanned + p.overridden for p in s.progress()]
        if kind == "scan":
            verdict = s.scan_text(str(arg))
        elif kind == "override":
            verdict = s.request_override(line_no=int(str(arg)))
        elif kind == "weight_override":
            verdict = s.request_weight_override()
        elif kind == "close":
            verdict = s.close_box(measured_g=arg if isinstance(arg, int) else None)
        elif kind == "cancel":
            s.cancel()
            continue
        else:  # shorts are a picking decision; the tomorrow step walks the clock
            clock.advance(timedelta(days=1))
            continue
        after = [p.scanned + p.overridden for p in s.progress()]
        check_verdict(verdict, before, after)
        events.extend(s.drain_events())
        for p, line in zip(s.progress(), task.lines, strict=True):
            assert 0 <= p.scanned + p.overridden <= line.qty
        boxed = Counter[int]()
        for box in s.boxes:
            boxed.update(box.contents)
        assert {p.line_no: p.scanned + p.overridden for p in s.progress()} == {
            n: boxed[n] for n in (1, 2, 3)
        }

    assert s.complete == (s.remaining == 0 and all(b.closed for b in s.boxes))
    packed = Counter[int]()
    for e in events:
        if isinstance(e, UnitPacked):
            packed[e.line_no] += e.units
    assert {p.line_no: p.scanned for p in s.progress()} == {n: packed[n] for n in (1, 2, 3)}
    for e in events:
        if isinstance(e, BoxClosed) and e.measured_g is not None and not e.weight_overridden:
            assert abs(e.measured_g - e.expected_g) <= tolerance.allowed_g(e.expected_g)
        if isinstance(e, BoxClosed):
            assert e.contents and e.box_type
    completed = [e for e in events if isinstance(e, PackCompleted)]
    assert len(completed) == (1 if s.complete else 0)


def test_the_property_alphabet_can_finish_an_order() -> None:
    # Guards the properties above against an alphabet that could never complete anything.
    s = PickSession(order(mugs(), teas(), lamps()), clock=FakeClock())
    for text in (
        MUG,
        MUG,
        tea_case(),
        tea_unit("L2612"),
        tea_unit("L2612"),
        lamp_unit("S1"),
        lamp_unit("S2"),
    ):
        assert isinstance(s.scan_text(text), Accepted)
    assert s.complete
