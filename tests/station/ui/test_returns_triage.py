"""Triage at the returns desk in the whole window, driven by scans: F8 into triage, a unit picked by
its bin, its label or its barcode, decision cards, a restock to a shelf bin (green), a damaged unit
refused for restock in the server's words (red), a high-value restock waiting for approval
(amber), the server gone and back (decided once), decision cards printed, and the way back."""

from __future__ import annotations

from decimal import Decimal

from PySide6.QtCore import Qt

from shared.contract.returns import ReturnBarcodeOut, ReturnUnitOut, RmaLineOut, RmaOut
from shared.labels.returns import (
    bin_label_text,
    condition_card_text,
    decision_card_text,
    unit_label_text,
)
from station.sync.fake_gateway import FakeGateway
from station.sync.fake_returns import FakeReturns
from station.ui.sounds import SilentSounds
from station.ui.view_models.bench import BenchViewModel, Screen
from station.ui.view_models.returns import Mode, ReturnsDeskViewModel
from station.ui.view_models.status import StatusViewModel
from station.ui.widgets.theme import AMBER, GREEN, RED
from station.work.pack import PackSession
from station.work.pick import PickSession
from station.work.returns import Step
from station.work.triage import TriageStep
from tests.station.ui.conftest import TOLERANCE, WAIT_MS, scan

CLERK = "BADGE-RET-1"
MUG = "04006381333931"
RESTOCK, DAMAGED, SCRAP = (decision_card_text(d) for d in ("restock", "damaged", "scrap"))  # type: ignore[arg-type]
Q1, Q2, SHELF = bin_label_text("Q-01"), bin_label_text("Q-02"), bin_label_text("A-01")


def unit(unit_id: int, *, location: str = "Q-01", condition: str = "sellable") -> ReturnUnitOut:
    return ReturnUnitOut(
        id=unit_id, rma_id=7, line_no=1, sku="MUG", barcode=MUG, lot="", serial="",
        condition=condition, flag=None, location=location, state="quarantined",
        refund="triggered",
    )  # type: ignore[arg-type]  # fmt: skip


RMA = RmaOut(
    id=7, number="RMA0000007", order_id=3, order_number="PL0000003", state="open", reason="x",
    lines=[RmaLineOut(line_no=1, sku="MUG", name="Mug", qty=3, received=0,
                      unit_price=Decimal("9.50"), track_lot=False,
                      barcodes=[ReturnBarcodeOut(value=MUG[1:], units=1)])],
    units=[],
)  # fmt: skip


class Printed(list[tuple[bytes, str]]):
    def __call__(self, zpl: bytes, title: str) -> None:
        self.append((zpl, title))


def build(qtbot, clock, journal, background, *, server: FakeReturns, printed=None):
    from station.ui.main_window import MainWindow

    gateway = FakeGateway(badges={CLERK: (5, "Rita", ("returns",))})
    desk = ReturnsDeskViewModel(client=server, background=background, print_label=printed)
    bench = BenchViewModel(
        gateway=gateway,
        background=background,
        journal_append=journal,
        make_pick=lambda task, op: PickSession(task, clock=clock),
        make_pack=lambda task, op: PackSession(task, clock=clock, scale_tolerance=TOLERANCE),
        status=StatusViewModel(),
        returns=desk,
    )
    window = MainWindow(bench=bench, status=StatusViewModel(), sounds=SilentSounds())
    qtbot.addWidget(window)
    window.resize(1024, 768)
    window.show()
    with qtbot.waitSignal(bench.screen_changed, timeout=WAIT_MS):
        bench.handle_scan(scan(CLERK))
    assert window.returns_screen is not None
    return window, bench, desk


def to_triage(qtbot, window, desk: ReturnsDeskViewModel) -> None:
    screen = window.returns_screen
    screen.setFocus()
    qtbot.keyClick(screen, Qt.Key.Key_F8)
    assert desk.mode is Mode.TRIAGE
    until(qtbot, desk, TriageStep.UNIT)


def until(qtbot, desk: ReturnsDeskViewModel, step: TriageStep) -> None:
    qtbot.waitUntil(lambda: desk.triage.session.step is step, timeout=WAIT_MS)


def test_f8_opens_triage_and_each_unit_gets_one_recorded_decision(
    qtbot, clock, journal, background
) -> None:
    server = FakeReturns(
        waiting=[unit(1), unit(2, location="Q-02", condition="damaged"), unit(3, location="Q-02")],
        needs_approval=[3],
    )
    window, bench, desk = build(qtbot, clock, journal, background, server=server)
    screen = window.returns_screen
    to_triage(qtbot, window, desk)
    panel = screen.triage
    assert screen.panels.currentWidget() is panel and screen.heading.text() == "RETURNS  TRIAGE"
    assert screen.buttons["cards"].text() == "Print decision cards (F6)"
    assert panel.count.text() == "3 waiting for triage   0 decided here"
    assert panel.units.count() == 3 and "Q-01  MUG  SELLABLE" in panel.units.item(0).text()

    # A bin holding one unit picks it; RESTOCK then the shelf's bin records it.
    bench.handle_scan(scan(Q1))
    assert window.overlay.colour == GREEN and "Scan a decision card" in window.overlay.words
    bench.handle_scan(scan(RESTOCK))
    assert panel.instruction.text() == "Put MUG on the shelf and scan the shelf's bin"
    bench.handle_scan(scan(SHELF))
    until(qtbot, desk, TriageStep.UNIT)
    qtbot.waitUntil(lambda: "2 waiting" in panel.count.text(), timeout=WAIT_MS)
    assert (
        window.overlay.colour == GREEN and "MUG back on the shelf in A-01" in window.overlay.words
    )
    assert [d.decision for d in server.decisions.values()] == ["restock"]
    assert panel.count.text() == "2 waiting for triage   1 decided here"

    # The damaged unit, by its label: the server refuses the restock in its own words.
    bench.handle_scan(scan(unit_label_text(2)))
    for text in (RESTOCK, SHELF):
        bench.handle_scan(scan(text))
    until(qtbot, desk, TriageStep.SHELF)
    assert window.overlay.colour == RED
    assert "a unit recorded as damaged cannot go back to stock" in window.overlay.words
    bench.handle_scan(scan(DAMAGED))
    until(qtbot, desk, TriageStep.UNIT)
    assert window.overlay.colour == GREEN and "moved to DAMAGED" in window.overlay.words

    # A high-value restock: amber, and the unit stays waiting in its bin.
    for text in (MUG, RESTOCK, SHELF):
        bench.handle_scan(scan(text))
    until(qtbot, desk, TriageStep.UNIT)
    assert window.overlay.colour == AMBER
    assert "supervisor's approval (request 103): leave it in Q-02" in window.overlay.words
    assert [u.id for u in server.units(state="quarantined")] == [3]

    qtbot.keyClick(window, Qt.Key.Key_Escape)  # nothing in hand: back to receiving
    assert desk.mode is Mode.RECEIVING and bench.screen is Screen.RETURNS
    assert screen.panels.currentWidget() is not panel
    assert screen.buttons["cards"].text() == "Print condition cards (F6)"


def test_a_lost_answer_is_asked_again_with_the_same_key_and_decided_once(
    qtbot, clock, journal, background
) -> None:
    server = FakeReturns(waiting=[unit(1), unit(2)])
    window, bench, desk = build(qtbot, clock, journal, background, server=server)
    to_triage(qtbot, window, desk)
    server.drop_next_answer = True  # decided, but the answer never comes back
    for text in (unit_label_text(1), SCRAP):
        bench.handle_scan(scan(text))
    until(qtbot, desk, TriageStep.RETRY)
    assert window.overlay.colour == RED and "scan the SCRAP card again" in window.overlay.words
    window.returns_screen.request("triage")  # cannot leave with a decision unanswered
    assert desk.mode is Mode.TRIAGE and "not recorded yet" in window.overlay.words
    server.online = False
    qtbot.keyClick(window, Qt.Key.Key_Return)
    until(qtbot, desk, TriageStep.RETRY)
    server.online = True
    bench.handle_scan(scan(SCRAP))
    until(qtbot, desk, TriageStep.UNIT)
    assert len(server.decisions) == 1
    assert [u.state for u in server.recorded.values()] == ["scrapped", "quarantined"]
    assert window.overlay.colour == GREEN and "written off" in window.overlay.words


def test_triage_needs_the_server_and_says_so(qtbot, clock, journal, background) -> None:
    server = FakeReturns(waiting=[unit(1)])
    window, bench, desk = build(qtbot, clock, journal, background, server=server)
    server.online = False
    window.returns_screen.request("triage")
    qtbot.waitUntil(lambda: "Triage needs the server" in window.overlay.words, timeout=WAIT_MS)
    assert window.overlay.colour == RED and desk.triage.session.step is TriageStep.LOADING
    server.online = True
    bench.handle_scan(scan(Q1))  # any scan asks for the list again
    until(qtbot, desk, TriageStep.UNIT)
    bench.handle_scan(scan(Q1))
    assert desk.triage.session.chosen is not None


def test_f8_waits_for_the_unit_in_hand_and_f6_prints_the_modes_cards(
    qtbot, clock, journal, background
) -> None:
    printed = Printed()
    server = FakeReturns(rmas=[RMA])
    window, bench, desk = build(qtbot, clock, journal, background, server=server, printed=printed)
    screen = window.returns_screen
    bench.handle_scan(scan("RMA0000007"))
    qtbot.waitUntil(lambda: desk.session.step is Step.UNIT, timeout=WAIT_MS)
    bench.handle_scan(scan(f"]E0{MUG[1:]}"))
    screen.request("triage")
    assert desk.mode is Mode.RECEIVING and "Finish the unit" in window.overlay.words
    for text in (condition_card_text("sellable"), Q1):
        bench.handle_scan(scan(text))
    qtbot.waitUntil(lambda: desk.session.step is Step.UNIT, timeout=WAIT_MS)
    # The recorded unit's label comes out of the printer: triage scans it.
    [(label, title)] = printed
    assert title == "return unit 1" and b"RTN-0000001" in label
    screen.request("triage")
    until(qtbot, desk, TriageStep.UNIT)
    screen.setFocus()
    qtbot.keyClick(screen, Qt.Key.Key_F6)
    assert [t for _, t in printed[1:]] == ["decision card"] * 4
    assert b"TRIAGE-VENDOR" in b"".join(z for z, _ in printed)
    bench.handle_scan(scan(unit_label_text(1)))
    assert desk.triage.session.chosen is not None
    assert desk.triage.session.chosen.unit.id == 1


def test_triage_reopened_before_its_list_came_asks_for_its_own(
    qtbot, clock, journal, background
) -> None:
    server = FakeReturns(waiting=[unit(1)])
    window, _, desk = build(qtbot, clock, journal, background, server=server)
    screen = window.returns_screen
    for _ in range(3):  # in, out, in again: all before the first list is answered
        screen.request("triage")
    assert desk.mode is Mode.TRIAGE
    until(qtbot, desk, TriageStep.UNIT)
    assert [u.id for u in desk.triage.session.waiting] == [1]
