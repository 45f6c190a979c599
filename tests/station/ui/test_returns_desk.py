"""The returns desk in the whole window, driven by scans as at the quarantine bins: badge -> parcel
-> unit -> condition card -> bin, a wrong item flagged loudly, the server gone and back (the unit
recorded once), an answer lost after recording, printing cards and bin labels, and Escape."""

from __future__ import annotations

from decimal import Decimal

from PySide6.QtCore import Qt

from shared.contract.returns import ReturnBarcodeOut, RmaLineOut, RmaOut
from shared.labels.returns import bin_label_text, condition_card_text
from station.sync.fake_gateway import FakeGateway
from station.sync.fake_returns import FakeReturns
from station.ui.sounds import SilentSounds
from station.ui.view_models.bench import BenchViewModel, Screen
from station.ui.view_models.returns import ReturnsDeskViewModel
from station.ui.view_models.status import StatusViewModel
from station.ui.widgets.theme import GREEN, RED
from station.work.pack import PackSession
from station.work.pick import PickSession
from station.work.returns import Step
from tests.station.ui.conftest import TOLERANCE, WAIT_MS, scan

CLERK = "BADGE-RET-1"
MUG = "4006381333931"
OTHER = "9780201379624"
Q1 = bin_label_text("Q-01")

RMA = RmaOut(
    id=7,
    number="RMA0000007",
    order_id=3,
    order_number="PL0000003",
    state="open",
    reason="too big",
    lines=[
        RmaLineOut(
            line_no=1,
            sku="MUG",
            name="Mug",
            qty=3,
            received=0,
            unit_price=Decimal("9.50"),
            track_lot=False,
            barcodes=[ReturnBarcodeOut(value=MUG, units=1)],
        ),
    ],
    units=[],
)


class Printed(list[tuple[bytes, str]]):
    def __call__(self, zpl: bytes, title: str) -> None:
        self.append((zpl, title))


def build(
    qtbot, clock, journal, background, *, server: FakeReturns, printed: Printed | None, outbox=None
):
    from station.ui.main_window import MainWindow

    gateway = FakeGateway(badges={CLERK: (5, "Rita", ("returns",))})
    desk = ReturnsDeskViewModel(
        client=server, background=background, print_label=printed, outbox=outbox
    )
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
    assert bench.screen is Screen.RETURNS
    assert window.stack.currentWidget() is window.returns_screen
    return window, bench, desk


def until_step(qtbot, desk: ReturnsDeskViewModel, step: Step) -> None:
    qtbot.waitUntil(lambda: desk.session.step is step, timeout=WAIT_MS)


def unit_through(qtbot, bench, desk, barcode: str, condition: str = "sellable") -> None:
    for text in (f"]E0{barcode}", condition_card_text(condition), Q1):  # type: ignore[arg-type]
        bench.handle_scan(scan(text))
    until_step(qtbot, desk, Step.UNIT)


def test_a_parcel_unit_by_unit_with_a_wrong_item_flagged(qtbot, clock, journal, background) -> None:
    server = FakeReturns(rmas=[RMA])
    window, bench, desk = build(qtbot, clock, journal, background, server=server, printed=None)
    screen = window.returns_screen
    assert "Scan the RMA" in screen.instruction.text()

    bench.handle_scan(scan("RMA0000007"))
    until_step(qtbot, desk, Step.UNIT)
    assert screen.heading.text() == "RETURNS  RMA0000007  order PL0000003"
    assert screen.count.text() == "0 / 3 received"
    assert window.overlay.colour == GREEN and "3 unit(s) expected" in window.overlay.words

    bench.handle_scan(scan(f"]E0{MUG}"))
    assert window.overlay.colour == GREEN
    assert screen.instruction.text() == "Scan the condition card for MUG"
    bench.handle_scan(scan(condition_card_text("opened")))
    bench.handle_scan(scan(Q1))
    until_step(qtbot, desk, Step.UNIT)
    assert screen.count.text() == "1 / 3 received"
    assert window.overlay.colour == GREEN and "MUG recorded in Q-01" in window.overlay.words

    bench.handle_scan(scan(f"]E0{OTHER}"))  # not on this order: red, loud, and kept
    assert window.overlay.colour == RED and "NOT ON THIS ORDER" in window.overlay.words
    bench.handle_scan(scan(condition_card_text("wrong_item")))
    bench.handle_scan(scan(Q1))
    until_step(qtbot, desk, Step.UNIT)
    assert screen.flagged.text() == "1 flagged" and screen.count.text() == "1 / 3 received"
    assert [u.flag for u in server.recorded.values()] == [None, "not_on_order"]

    bench.handle_scan(scan("garbage\x07"))  # never a unit
    assert window.overlay.colour == RED and desk.session.pending is None

    qtbot.keyClick(window, Qt.Key.Key_Escape)  # closes the parcel
    assert desk.session.step is Step.PARCEL and "closed" in window.overlay.words
    qtbot.keyClick(window, Qt.Key.Key_Escape)  # nothing in hand: signs out
    assert bench.screen is Screen.LOGIN


def test_server_gone_and_back_and_a_lost_answer_record_the_unit_once(
    qtbot, clock, journal, background
) -> None:
    server = FakeReturns(rmas=[RMA])
    window, bench, desk = build(qtbot, clock, journal, background, server=server, printed=None)
    bench.handle_scan(scan("PL0000003"))
    until_step(qtbot, desk, Step.UNIT)

    server.online = False
    for text in (f"]E0{MUG}", condition_card_text("sellable"), Q1):
        bench.handle_scan(scan(text))
    until_step(qtbot, desk, Step.RETRY)
    assert window.overlay.colour == RED and "not reachable" in window.overlay.words
    assert "scan bin Q-01 again" in window.returns_screen.instruction.text()
    assert server.recorded == {}
    server.online = True
    qtbot.keyClick(window, Qt.Key.Key_Return)  # Enter sends the same request again
    until_step(qtbot, desk, Step.UNIT)
    assert len(server.recorded) == 1

    server.drop_next_answer = True  # recorded, but the answer never comes back
    for text in (f"]E0{MUG}", condition_card_text("sellable"), Q1):
        bench.handle_scan(scan(text))
    until_step(qtbot, desk, Step.RETRY)
    assert len(server.recorded) == 2
    bench.handle_scan(scan(Q1))  # the same bin again: the same key, answered, not counted
    until_step(qtbot, desk, Step.UNIT)
    assert len(server.recorded) == 2
    assert window.returns_screen.count.text() == "2 / 3 received"


def test_a_parcel_the_server_does_not_know_is_refused_with_its_words(
    qtbot, clock, journal, background
) -> None:
    window, bench, desk = build(
        qtbot, clock, journal, background, server=FakeReturns(), printed=None
    )
    bench.handle_scan(scan("1Z999AA10123456784"))
    qtbot.waitUntil(lambda: desk.session.step is Step.PARCEL, timeout=WAIT_MS)
    assert window.overlay.colour == RED
    assert "no RMA, order or parcel is known as 1Z999AA10123456784" in window.overlay.words


def test_condition_cards_and_bin_labels_print_from_the_desk(
    qtbot, clock, journal, background
) -> None:
    printed = Printed()
    window, *_ = build(qtbot, clock, journal, background, server=FakeReturns(), printed=printed)
    screen = window.returns_screen
    screen.setFocus()
    qtbot.keyClick(screen, Qt.Key.Key_F6)
    assert len(printed) == 5 and all(title == "condition card" for _, title in printed)
    assert b"COND-WRONG-ITEM" in b"".join(zpl for zpl, _ in printed)
    qtbot.mouseClick(screen.buttons["bins"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(printed) == 7, timeout=WAIT_MS)
    assert [title for _, title in printed[5:]] == ["quarantine bin Q-01", "quarantine bin Q-02"]
    assert b"BIN-Q-02" in printed[6][0]


def test_without_a_printer_the_desk_says_so(qtbot, clock, journal, background) -> None:
    window, *_ = build(qtbot, clock, journal, background, server=FakeReturns(), printed=None)
    window.returns_screen.request("cards")
    assert window.overlay.colour == RED and "No label printer" in window.overlay.words


def test_a_station_in_returns_mode_opens_on_the_desk(qtbot, tmp_path) -> None:
    from station.app import build as build_station
    from station.settings import StationSettings

    for mode, has_desk in (("returns", True), ("bench", False)):
        settings = StationSettings(data_dir=tmp_path / mode, mode=mode, printer="tcp://127.0.0.1:9")
        station = build_station(settings, token="t", with_window=True)
        try:
            assert (station.bench.returns is not None) is has_desk
            assert station.window is not None
            qtbot.addWidget(station.window)
            assert (station.window.returns_screen is not None) is has_desk
        finally:
            station.stop()


def test_a_unit_not_yet_recorded_survives_a_restart_and_lands_once(
    qtbot, clock, journal, background, tmp_path
) -> None:
    """The first send lands but its answer is lost, the second never leaves; the station is
    switched off. After the restart (new objects on the same outbox file) the next sign-in sends
    both again with their own keys: each unit is on the server once, none flagged."""
    from station.sync.returns_outbox import ReturnsOutbox

    path = tmp_path / "returns-outbox.sqlite3"
    server = FakeReturns(rmas=[RMA])
    printed = Printed()
    window, bench, desk = build(qtbot, clock, journal, background, server=server, printed=None,
                                outbox=ReturnsOutbox(path=path))  # fmt: skip
    bench.handle_scan(scan("RMA0000007"))
    until_step(qtbot, desk, Step.UNIT)
    server.drop_next_answer = True
    for text in (f"]E0{MUG}", condition_card_text("sellable"), Q1):
        bench.handle_scan(scan(text))
    until_step(qtbot, desk, Step.RETRY)
    assert len(server.recorded) == 1 and len(ReturnsOutbox(path=path).pending()) == 1
    window.close()  # power cut: the unit was in the clerk's hand, its answer never came

    after = ReturnsDeskViewModel(client=server, background=background, print_label=printed,
                                 outbox=ReturnsOutbox(path=path))  # fmt: skip
    assert after.backlog == 0
    with qtbot.waitSignal(after.backlog_changed, timeout=WAIT_MS):
        after.reset()  # what the bench does when the next clerk signs in
    qtbot.waitUntil(lambda: after.backlog == 0, timeout=WAIT_MS)
    assert len(server.recorded) == 1  # answered, not counted again
    assert [u.flag for u in server.recorded.values()] == [None]
    assert ReturnsOutbox(path=path).pending() == []
    assert [title for _, title in printed] == ["return unit 1"]  # its label, at last


def test_a_restart_while_the_server_is_down_keeps_the_unit_until_it_is_back(
    qtbot, clock, journal, background, tmp_path
) -> None:
    from station.sync.returns_outbox import ReturnsOutbox
    from station.ui.widgets.returns_screen import ReturnsScreen

    path = tmp_path / "returns-outbox.sqlite3"
    server = FakeReturns(rmas=[RMA])
    window, bench, desk = build(qtbot, clock, journal, background, server=server, printed=None,
                                outbox=ReturnsOutbox(path=path))  # fmt: skip
    bench.handle_scan(scan("RMA0000007"))
    until_step(qtbot, desk, Step.UNIT)
    server.online = False
    for text in (f"]E0{MUG}", condition_card_text("sellable"), Q1):
        bench.handle_scan(scan(text))
    until_step(qtbot, desk, Step.RETRY)
    window.close()  # switched off with the server still away

    after = ReturnsDeskViewModel(client=server, background=background,
                                 outbox=ReturnsOutbox(path=path), replay_every_s=0.05)  # fmt: skip
    screen = ReturnsScreen(vm=after)
    qtbot.addWidget(screen)
    after.reset()
    qtbot.waitUntil(lambda: after.backlog == 1, timeout=WAIT_MS)
    assert "1 unit(s) scanned before are not recorded yet" in screen.backlog.text()
    assert server.recorded == {}
    server.online = True  # the timer sends it again by itself
    qtbot.waitUntil(lambda: after.backlog == 0, timeout=WAIT_MS)
    assert len(server.recorded) == 1 and screen.backlog.text() == ""
    assert ReturnsOutbox(path=path).pending() == []
