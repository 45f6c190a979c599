"""Whole-window flows, driven by scans as on the floor: badge -> list -> claim -> pick -> pack."""

from __future__ import annotations

from PySide6.QtCore import Qt

from station.ui.background import Background
from station.ui.sounds import SilentSounds
from station.ui.view_models.bench import BenchViewModel, Screen
from station.ui.view_models.status import StatusViewModel
from station.ui.widgets.theme import GREEN, RED
from station.ui.widgets.virtual_scanner import DemoBarcode
from station.work.pack import PackSession
from station.work.pick import PickSession
from tests.station.ui.conftest import BADGE, TOLERANCE, WAIT_MS, scan
from tests.station.work.builders import MUG, SOCK, mugs, order


def build(qtbot, gateway, journal, clock, **window_kw):
    from station.ui.main_window import MainWindow

    status = StatusViewModel()
    bench = BenchViewModel(
        gateway=gateway,
        background=Background(),
        journal_append=journal,
        make_pick=lambda task, op: PickSession(task, clock=clock, operator_badge=op.badge),
        make_pack=lambda task, op: PackSession(task, clock=clock, scale_tolerance=TOLERANCE),
        status=status,
    )
    sounds = SilentSounds()
    window = MainWindow(bench=bench, status=status, sounds=sounds, **window_kw)
    qtbot.addWidget(window)
    window.resize(1024, 768)
    window.show()
    return window, bench, status, sounds


def sign_in_and_claim(qtbot, window, bench, number: str) -> None:
    with qtbot.waitSignal(bench.tasks.tasks_changed, timeout=WAIT_MS):
        bench.handle_scan(scan(BADGE))
    assert window.stack.currentWidget() is window.task_screen
    assert number in window.task_screen.list.item(0).text()
    with qtbot.waitSignal(bench.work_started, timeout=WAIT_MS):
        bench.handle_scan(scan(number))


def test_badge_list_claim_then_green_and_red_overlays(qtbot, gateway, journal, clock) -> None:
    window, bench, status, sounds = build(qtbot, gateway, journal, clock)
    assert window.stack.currentWidget() is window.login_screen
    sign_in_and_claim(qtbot, window, bench, "PL0001001")
    assert bench.screen is Screen.PICK and window.stack.currentWidget() is window.pick_screen
    assert status.snapshot.order == "PL0001001" and status.snapshot.operator == "Demo Picker"
    assert window.pick_screen.instruction.text() == "Scan 2 x Mug-Blue (MUG-BLUE) from A-01-01"

    bench.handle_scan(scan(f"]E0{MUG}"))
    assert window.overlay.isVisible() and window.overlay.colour == GREEN
    assert window.pick_screen.count.text() == "1 / 12"

    bench.handle_scan(scan(f"]E0{SOCK}"))  # the next scan replaces the green at once
    assert window.overlay.isVisible() and window.overlay.colour == RED
    assert "Not on this order" in window.overlay.words
    assert window.pick_screen.count.text() == "1 / 12"
    assert sounds.played["error"] >= 1 and sounds.played["good"] >= 2  # hello + the mug
    qtbot.waitUntil(lambda: not window.overlay.isVisible(), timeout=WAIT_MS)  # clears itself


def test_pick_then_pack_to_done_with_enter_closing_the_box(qtbot, journal, clock) -> None:
    from station.sync.fake_gateway import FakeGateway

    task = order(mugs(qty=1), number="PL0001002").model_copy(update={"state": "released"})
    window, bench, _, _ = build(qtbot, FakeGateway(tasks=[task]), journal, clock)
    sign_in_and_claim(qtbot, window, bench, "PL0001002")
    bench.handle_scan(scan(f"]E0{MUG}"))  # the only unit: pick done, pack starts
    assert bench.screen is Screen.PACK and window.stack.currentWidget() is window.pack_screen
    assert window.pack_screen.instruction.text() == "Scan the tote or order number PL0001002"
    for text in ("PL0001002", f"]E0{MUG}", "BOX-S"):
        bench.handle_scan(scan(text))
    assert window.pack_screen.instruction.text() == "Weigh box 1 and press Enter to close it"
    qtbot.keyClick(window, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: bench.screen is Screen.DONE, timeout=WAIT_MS)
    assert window.stack.currentWidget() is window.done_screen
    assert "PackCompleted" in journal.kinds() and "PickCompleted" in journal.kinds()


def test_virtual_scanner_buttons_write_their_barcode(qtbot, gateway, journal, clock) -> None:
    written: list[str] = []
    window, *_ = build(
        qtbot,
        gateway,
        journal,
        clock,
        demo_barcodes=[DemoBarcode(label="Badge", text=BADGE), DemoBarcode(label="Mug", text=MUG)],
        demo_write=written.append,
    )
    assert window.demo_dock is not None
    qtbot.mouseClick(window.demo_dock.buttons[1], Qt.MouseButton.LeftButton)
    assert written == [MUG]


def test_an_order_cancelled_at_the_office_stops_the_bench_with_words(
    qtbot, gateway, journal, clock
) -> None:
    from shared.contract.events import OrderChanged

    window, bench, _status, _sounds = build(qtbot, gateway, journal, clock)
    sign_in_and_claim(qtbot, window, bench, "PL0001001")
    bench.handle_scan(scan(f"]E0{MUG}"))
    order_id = bench.task.order_id
    verdicts: list[tuple[str, str]] = []
    bench.verdict.connect(lambda kind, words: verdicts.append((kind, words)))
    # Another order changing does not disturb the work in hand.
    bench.on_order_changed(OrderChanged(order_id=order_id + 1, state="cancelled",
                                        change="cancelled"))  # fmt: skip
    assert bench.screen is Screen.PICK and verdicts == []
    bench.on_order_changed(OrderChanged(order_id=order_id, state="cancelled", change="cancelled"))
    assert bench.screen is Screen.TASKS and bench.task is None
    kind, words = verdicts[-1]
    assert kind == "rejected" and "PL0001001" in words and "cancelled" in words
    assert window.overlay.isVisible() and window.overlay.colour == RED
    # A scan of the cancelled order's item no longer counts anywhere.
    bench.handle_scan(scan(f"]E0{MUG}"))
    assert bench.screen is Screen.TASKS
