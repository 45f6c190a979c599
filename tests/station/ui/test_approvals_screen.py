"""The approvals screen, driven as on the floor against the fake approvals client: F9 opens it
for supervisors, F7/F8 choose, a badge and a reason card (or typed reason) decide; the person
who asked is refused; server refusals, garbage scans and a dead server come back in words."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from PySide6.QtCore import Qt

from shared.contract.approvals import ApprovalItemOut, payload_digest
from station.sync.approvals_client import FakeApprovalsClient
from station.sync.fake_gateway import FakeGateway
from station.ui.background import Background
from station.ui.sounds import SilentSounds
from station.ui.view_models.approvals import Step
from station.ui.view_models.bench import BenchViewModel, Screen
from station.ui.view_models.status import StatusViewModel
from station.ui.widgets.theme import AMBER, GREEN, RED
from station.work.pack import PackSession
from station.work.pick import PickSession
from tests.station.ui.conftest import BADGE, TOLERANCE, WAIT_MS, scan
from tests.station.work.builders import MUG

SUE, BOB = (7, "Sue", ("supervisor",)), (8, "Bob", ("supervisor",))
PICKER = (1, "Demo Picker", ("picker", "packer"))
BADGES = {"BADGE-SUE": SUE, "BADGE-BOB": BOB, BADGE: PICKER}


def item(approval_id: int, *, by: tuple[int, str, Any], operation: str, words: str,
         payload: dict[str, Any]) -> ApprovalItemOut:  # fmt: skip
    return ApprovalItemOut(
        id=approval_id, operation=operation, payload=payload,
        payload_hash=payload_digest(payload), reason="asked", requested_by=by[0], state="pending",
        decided_by=None, decision_reason=None, result=None,
        created_at=datetime(2026, 11, 25, 9, 0, tzinfo=UTC), words=words, requested_by_name=by[1],
    )  # fmt: skip


RATE = item(1, by=SUE, operation="rate_rule_change", words="Save rate rule 'Fast NL'",
            payload={"definition": {"name": "Fast NL", "objective": {"kind": "fastest"}},
                     "replaces": None})  # fmt: skip
COUNT = item(
    2,
    by=PICKER,
    operation="inventory_adjustment",
    words="Stock count of MUG-BLUE",
    payload={"stock_level_id": 4, "counted": 3, "expected_on_hand": 30, "units": 27},
)
BOBS = item(
    3,
    by=BOB,
    operation="routing_rule_change",
    words="New allocation rule 'near'",
    payload={"name": "near", "strategy": "proximity"},
)


def build(qtbot, client: FakeApprovalsClient, clock):
    from station.ui.main_window import MainWindow

    status = StatusViewModel()
    bench = BenchViewModel(
        gateway=FakeGateway(badges=BADGES),
        background=Background(),
        journal_append=lambda event: None,
        make_pick=lambda task, op: PickSession(task, clock=clock, operator_badge=op.badge),
        make_pack=lambda task, op: PackSession(task, clock=clock, scale_tolerance=TOLERANCE),
        status=status,
        approvals=client,
    )
    window = MainWindow(bench=bench, status=status, sounds=SilentSounds())
    qtbot.addWidget(window)
    window.resize(1024, 768)
    window.show()
    qtbot.waitExposed(window)
    return window, bench


def sign_in(qtbot, bench: BenchViewModel, badge: str) -> None:
    with qtbot.waitSignal(bench.tasks.tasks_changed, timeout=WAIT_MS):
        bench.handle_scan(scan(badge))
    assert bench.screen is Screen.TASKS


def open_approvals(qtbot, window, bench) -> None:
    assert bench.approvals is not None
    with qtbot.waitSignal(bench.approvals.items_changed, timeout=WAIT_MS):
        qtbot.keyClick(window, Qt.Key.Key_F9)
    assert bench.screen is Screen.APPROVALS
    assert window.stack.currentWidget() is window.approvals_screen


def test_a_supervisor_approves_with_badge_and_card_and_refuses_with_a_typed_reason(
    qtbot, clock
) -> None:
    client = FakeApprovalsClient(items=[RATE, COUNT], badges=BADGES)
    window, bench = build(qtbot, client, clock)
    sign_in(qtbot, bench, "BADGE-SUE")
    open_approvals(qtbot, window, bench)
    screen, vm = window.approvals_screen, bench.approvals
    assert screen is not None and vm is not None
    assert screen.list.count() == 2
    assert "#1  Save rate rule 'Fast NL'" in screen.list.item(0).text()
    assert "asked by Sue: asked" in screen.list.item(0).text()
    assert "definition.name: Fast NL" in screen.details.text()  # the payload, in lines
    assert "replaces: -" in screen.details.text()

    qtbot.keyClick(window, Qt.Key.Key_F7)
    assert vm.step is Step.BADGE
    assert screen.instruction.text() == ("Approve #1: the deciding supervisor scans their badge")
    bench.handle_scan(scan("BADGE-SUE"))  # Sue asked for #1 herself
    assert window.overlay.colour == RED and "asked for this yourself" in window.overlay.words
    assert vm.step is Step.BADGE and client.decisions == []
    bench.handle_scan(scan("BADGE-BOB"))
    assert vm.step is Step.REASON and screen.reason.isEnabled()
    with qtbot.waitSignal(vm.decided, timeout=WAIT_MS) as decided:
        bench.handle_scan(scan("REASON-CHECKED"))
    assert decided.args[0].state == "executed" and decided.args[0].decided_by == BOB[0]
    assert client.decisions == [(1, True, "CHECKED", "BADGE-BOB")]
    assert window.overlay.colour == GREEN and "Approved" in window.overlay.words
    qtbot.waitUntil(lambda: screen.list.count() == 1, timeout=WAIT_MS)
    assert "#2" in screen.list.item(0).text() and "units: 27" in screen.details.text()

    qtbot.keyClick(window, Qt.Key.Key_F8)
    bench.handle_scan(scan("BADGE-BOB"))
    assert screen.reason.hasFocus()
    qtbot.keyClicks(screen.reason, "count again first")
    with qtbot.waitSignal(vm.decided, timeout=WAIT_MS) as decided:
        qtbot.keyClick(screen.reason, Qt.Key.Key_Return)
    assert decided.args[0].state == "refused"
    assert client.decisions[-1] == (2, False, "count again first", "BADGE-BOB")
    qtbot.waitUntil(lambda: "Nothing is waiting" in screen.instruction.text(), timeout=WAIT_MS)
    assert not screen.reason.isEnabled()
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    assert bench.screen is Screen.TASKS


def test_only_supervisors_between_orders_open_the_approvals(qtbot, clock) -> None:
    client = FakeApprovalsClient(items=[RATE], badges=BADGES)
    window, bench = build(qtbot, client, clock)
    sign_in(qtbot, bench, BADGE)  # a picker
    qtbot.keyClick(window, Qt.Key.Key_F9)
    assert bench.screen is Screen.TASKS
    assert window.overlay.colour == RED and "for supervisors" in window.overlay.words


def test_the_server_refusing_and_garbage_scans_come_back_in_words(qtbot, clock) -> None:
    client = FakeApprovalsClient(items=[BOBS, COUNT], badges=BADGES)
    window, bench = build(qtbot, client, clock)
    sign_in(qtbot, bench, "BADGE-SUE")
    open_approvals(qtbot, window, bench)
    vm = bench.approvals
    assert vm is not None
    bench.handle_scan(scan("REASON-OK"))  # nothing chosen yet
    assert window.overlay.colour == AMBER and "F7 approve or F8 refuse" in window.overlay.words
    qtbot.keyClick(window, Qt.Key.Key_F7)
    bench.handle_scan(scan(f"]E0{MUG}"))
    assert window.overlay.colour == RED and "not a badge" in window.overlay.words
    # Bob asked for #3; the bench does not know his badge is his: the server refuses it.
    bench.handle_scan(scan("BADGE-BOB"))
    with qtbot.waitSignal(vm.verdict, timeout=WAIT_MS) as verdict:
        bench.handle_scan(scan("REASON-OK"))
    assert verdict.args == [
        "rejected",
        "You asked for this yourself: another supervisor must decide",
    ]
    assert vm.step is Step.BADGE and client.decisions == []
    # A picker's badge may not decide anything.
    bench.handle_scan(scan(BADGE))
    with qtbot.waitSignal(vm.verdict, timeout=WAIT_MS) as verdict:
        bench.handle_scan(scan("REASON-OK"))
    assert verdict.args[0] == "rejected" and "may not decide" in verdict.args[1]
    # At the reason step, only a reason (card or typed) goes.
    bench.handle_scan(scan("BADGE-SUE"))
    bench.handle_scan(scan(f"]E0{MUG}"))
    assert window.overlay.colour == RED and "not a reason card" in window.overlay.words
    qtbot.keyClick(window, Qt.Key.Key_Escape)  # cancels the decision, stays on the screen
    assert vm.step is Step.CHOOSE and bench.screen is Screen.APPROVALS

    # The request changed on the server after the screen showed it: nothing is decided.
    vm.select_next()
    client.add(COUNT.model_copy(update={"payload": {**COUNT.payload, "counted": 0}}))
    qtbot.keyClick(window, Qt.Key.Key_F7)
    bench.handle_scan(scan("BADGE-SUE"))
    with qtbot.waitSignal(vm.items_changed, timeout=WAIT_MS):  # refreshed after the refusal
        bench.handle_scan(scan("REASON-OK"))
    assert "changed since it was shown" in window.overlay.words
    assert client.decisions == [] and vm.step is Step.CHOOSE
    assert "counted: 0" in window.approvals_screen.details.text()  # what is really waiting

    client.online = False
    qtbot.keyClick(window, Qt.Key.Key_F7)
    bench.handle_scan(scan("BADGE-SUE"))
    with qtbot.waitSignal(vm.verdict, timeout=WAIT_MS) as verdict:
        bench.handle_scan(scan("REASON-OK"))
    assert verdict.args[1].startswith("Server not reachable")
    assert client.decisions == []
