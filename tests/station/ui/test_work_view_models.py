"""Pick and pack view-models: verdict, progress, one instruction, completion, journal."""

from __future__ import annotations

from station.ui.view_models.pack import PackViewModel
from station.ui.view_models.pick import PickViewModel
from station.work.events import BoxClosed, PackCompleted, PickCompleted, PickRejected, UnitPicked
from station.work.pack import PackSession
from station.work.pick import PickSession
from tests.station.ui.conftest import TOLERANCE, WAIT_MS, scan
from tests.station.work.builders import MUG, SOCK, lamp_unit, mugs, order, tea_case, tea_unit


def pick_vm(task, clock, journal) -> PickViewModel:
    return PickViewModel(session=PickSession(task, clock=clock), journal_append=journal)


def test_right_scan_is_green_counts_and_moves_the_instruction(qtbot, task, clock, journal):
    vm = pick_vm(task, clock, journal)
    assert vm.next_instruction() == "Scan 2 x Mug-Blue (MUG-BLUE) from A-01-01"
    seen: list[tuple[str, tuple[object, ...]]] = []
    vm.verdict.connect(lambda *a: seen.append(("verdict", a)))
    vm.progress_changed.connect(lambda *a: seen.append(("progress", a)))
    vm.instruction.connect(lambda *a: seen.append(("instruction", a)))
    with qtbot.waitSignal(vm.instruction, timeout=WAIT_MS):
        vm.handle_scan(scan(f"]E0{MUG}"))
    assert [name for name, _ in seen] == ["verdict", "progress", "instruction"]
    assert seen[0][1] == ("accepted", "1 x MUG-BLUE")
    progress = seen[1][1][0]
    assert (progress.done, progress.expected) == (1, 12)  # type: ignore[attr-defined]
    assert seen[2][1] == ("Scan 1 x Mug-Blue (MUG-BLUE) from A-01-01",)
    assert [type(e) for e in journal.events] == [UnitPicked]


def test_wrong_scan_is_red_with_words_and_counts_nothing(qtbot, task, clock, journal):
    vm = pick_vm(task, clock, journal)
    with qtbot.waitSignal(vm.verdict, timeout=WAIT_MS) as got:
        vm.handle_scan(scan(f"]E0{SOCK}"))
    kind, words = got.args
    assert kind == "rejected"
    assert "Not on this order" in words and "put it back" in words
    assert vm.progress().done == 0
    assert isinstance(journal.events[0], PickRejected) and journal.events[0].raw == SOCK


def test_bin_first_is_amber_and_becomes_the_instruction(qtbot, task, clock, journal):
    vm = PickViewModel(
        session=PickSession(task, clock=clock, confirm_bin=True), journal_append=journal
    )
    with qtbot.waitSignal(vm.instruction, timeout=WAIT_MS) as instruction:
        vm.handle_scan(scan(f"]E0{MUG}"))
    assert vm.last_verdict is not None and type(vm.last_verdict).__name__ == "Needs"
    assert instruction.args == ["Scan the bin first: A-01-01"]


def test_completing_the_order_emits_completed_once_and_journals_everything(
    qtbot, task, clock, journal
):
    vm = pick_vm(task, clock, journal)
    # 2 mugs, a case of 6 teas (lot L2611) + 2 single teas of lot L2612, 2 serialised lamps.
    reads = [f"]E0{MUG}", f"]E0{MUG}", tea_case(), tea_unit("L2612"), tea_unit("L2612")]
    reads += [lamp_unit("SN-1"), lamp_unit("SN-2")]
    for text in reads[:-1]:
        vm.handle_scan(scan(text))
    assert vm.progress().done == 11
    with qtbot.waitSignal(vm.completed, timeout=WAIT_MS):
        vm.handle_scan(scan(reads[-1]))
    with qtbot.assertNotEmitted(vm.completed):
        vm.handle_scan(scan(reads[-1]))  # an extra read after completion: red, no second done
    assert vm.next_instruction() == "Order PL0001001 picked"
    assert journal.kinds()[:7] == ["UnitPicked"] * 7
    assert isinstance(journal.events[7], PickCompleted)
    assert journal.kinds()[8:] == ["PickRejected"]


def test_a_failing_journal_raises_a_fault_and_keeps_the_events_for_later(
    qtbot, task, clock, journal
):
    vm = pick_vm(task, clock, journal)
    journal.fail = True
    with qtbot.waitSignal(vm.fault, timeout=WAIT_MS) as fault:
        vm.handle_scan(scan(f"]E0{MUG}"))
    assert "call a supervisor" in fault.args[0]
    journal.fail = False
    vm.handle_scan(scan(f"]E0{MUG}"))
    assert journal.kinds() == ["UnitPicked", "UnitPicked"]  # the held one first, in order


def test_short_asks_for_the_reason_card_then_counts_the_line_done(qtbot, task, clock, journal):
    vm = pick_vm(task, clock, journal)
    with qtbot.waitSignal(vm.instruction, timeout=WAIT_MS) as instruction:
        vm.request_short()
    assert instruction.args == ["2 x MUG-BLUE missing: scan the reason card"]
    vm.handle_scan(scan("REASON-NOT-FOUND"))
    assert vm.progress().done == 2
    assert journal.kinds() == ["ShortPick"]


def test_pack_flow_order_units_box_weight_close_completes(qtbot, clock, journal):
    task = order(mugs(qty=2))
    vm = PackViewModel(
        session=PackSession(task, clock=clock, scale_tolerance=TOLERANCE), journal_append=journal
    )
    assert vm.next_instruction() == "Scan the tote or order number PL0001001"
    vm.handle_scan(scan(f"]E0{MUG}"))
    assert vm.last_verdict is not None and vm.last_verdict.reason == "not_started"  # type: ignore[union-attr]
    for text in ("PL0001001", f"]E0{MUG}", f"]E0{MUG}"):
        vm.handle_scan(scan(text))
    assert vm.next_instruction() == "Scan the box-type card for box 1"
    vm.handle_scan(scan("BOX-M"))
    assert vm.next_instruction() == "Weigh box 1 and press Enter to close it"

    class Reading:
        def __init__(self, grams: int, stable: bool) -> None:
            from decimal import Decimal

            self.grams, self.stable = Decimal(grams), stable

    vm.set_weight(Reading(2000, True))  # 640 g of mugs + 250 g box expected: far off
    with qtbot.waitSignal(vm.verdict, timeout=WAIT_MS) as verdict:
        vm.close_box()
    assert verdict.args[0] == "rejected" and "expected 890 g" in verdict.args[1]
    vm.set_weight(Reading(900, False))  # still moving: not a weight
    assert vm.weight_g is None
    vm.set_weight(Reading(900, True))
    with qtbot.waitSignal(vm.completed, timeout=WAIT_MS):
        vm.close_box()
    assert vm.progress().boxes == 1
    closed = [e for e in journal.events if isinstance(e, BoxClosed)]
    assert closed[0].measured_g == 900
    assert isinstance(journal.events[-1], PackCompleted)
