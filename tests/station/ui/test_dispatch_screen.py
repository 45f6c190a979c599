"""The dispatch door, driven as on the floor: a loader's badge, a carrier card opens the pickup,
each carton scanned at handover (green and counted, or red with the server's words and nothing
counted), reprint to a real print queue, void before and after handover (and what a
supervisor decided, at the next refresh), custody exceptions, a dead server that loses nothing,
and a pickup that survives a restart.

Against FakeDispatch, which tests/station/sync/test_dispatch_client.py holds to the real
server's answers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from shared.contract.orders import ExceptionOut
from station.devices.fake_printer import FakePrinter
from station.devices.print_queue import PrintQueue
from station.sync.dispatch_client import FakeDispatch, FakeParcel, PickupMemory, fake_label
from station.sync.fake_gateway import FakeGateway
from station.ui.background import Background
from station.ui.sounds import SilentSounds
from station.ui.view_models.bench import BenchViewModel, Screen
from station.ui.view_models.dispatch import DispatchViewModel
from station.ui.view_models.status import StatusViewModel
from station.ui.widgets.theme import AMBER, GREEN, RED
from station.work.pack import PackSession
from station.work.pick import PickSession
from tests.station.ui.conftest import TOLERANCE, WAIT_MS, scan

LOADER = "BADGE-DOOR-1"
A1, A2 = "EZ1000000001", "EZ1000000002"  # PL0000001: two USPS cartons, labels scanned
B1 = "1Z999AA10123456784"  # PL0000002: UPS
C1 = "EZ3000000001"  # PL0000003: USPS, label bought but never scanned at the bench
D1 = "EZ4000000001"  # PL0000004: USPS, voided at a bench
E1 = "EZ5000000001"  # PL0000005: USPS
AT = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def parcels() -> list[FakeParcel]:
    def p(pid: int, order: int, no: int, tracking: str, carrier: str, state: str = "labelled"):
        return FakeParcel(
            id=pid,
            order_id=order,
            order_number=f"PL{order:07d}",
            package_no=no,
            tracking_number=tracking,
            carrier=carrier,
            state=state,
        )

    return [
        p(11, 1, 1, A1, "USPS"),
        p(12, 1, 2, A2, "USPS"),
        p(21, 2, 1, B1, "UPS"),
        p(31, 3, 1, C1, "USPS", "bought"),
        p(41, 4, 1, D1, "USPS", "voided"),
        p(51, 5, 1, E1, "USPS"),
    ]


def exception(n: int, kind: str) -> ExceptionOut:
    return ExceptionOut(
        id=n,
        order_id=n,
        order_number=f"PL{n:07d}",
        kind=kind,
        reason=f"USPS has not scanned EZ{n} 25 h after handover",
        detail={},
        recommendation="ask the carrier to trace the pickup",
        state="open",
        actions=[],
        created_at=AT,
    )


@pytest.fixture
def server() -> FakeDispatch:
    fake = FakeDispatch(parcels=parcels())
    fake.exceptions = [exception(8, "custody"), exception(9, "stock_conflict")]
    return fake


@pytest.fixture
def printer() -> FakePrinter:
    return FakePrinter()


@pytest.fixture
def queue(tmp_path: Path, printer: FakePrinter) -> Iterator[PrintQueue]:
    q = PrintQueue(printer=printer, store=tmp_path / "labels.sqlite3", on_event=lambda e: None)
    q.start()
    yield q
    q.stop()


def build(qtbot, server: FakeDispatch, queue: PrintQueue | None, memory: PickupMemory):  # type: ignore[no-untyped-def]
    from station.ui.main_window import MainWindow

    background = Background()
    door = DispatchViewModel(
        client=server,
        background=background,
        print_label=(lambda zpl, title: queue.submit(zpl, title=title)) if queue else None,
        remember_pickup=memory.save,
        resume_pickup_id=memory.load(),
    )
    status = StatusViewModel()
    bench = BenchViewModel(
        gateway=FakeGateway(badges={LOADER: (4, "Dee Loader", ("dispatch",))}),
        background=background,
        journal_append=lambda e: None,
        make_pick=lambda task, op: PickSession(task, clock=lambda: AT),
        make_pack=lambda task, op: PackSession(task, clock=lambda: AT, scale_tolerance=TOLERANCE),
        status=status,
        dispatch=door,
    )
    sounds = SilentSounds()
    window = MainWindow(bench=bench, status=status, sounds=sounds)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    return window, bench, door, sounds


def answer(qtbot, bench: BenchViewModel, door: DispatchViewModel, text: str) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """Scan, and wait for the door's verdict (at once, or when the server has answered)."""
    with qtbot.waitSignal(door.verdict, timeout=WAIT_MS) as got:
        bench.handle_scan(scan(text))
    kind, words = got.args
    return str(kind), str(words)


def sign_in(qtbot, window, bench: BenchViewModel, *, waiting: int = 5) -> None:  # type: ignore[no-untyped-def]
    bench.handle_scan(scan(LOADER))
    screen = window.dispatch_screen
    qtbot.waitUntil(lambda: bench.screen is Screen.DISPATCH, timeout=WAIT_MS)
    qtbot.waitUntil(
        lambda: screen.waiting.count() == waiting and "PL" in screen.waiting.item(0).text(),
        timeout=WAIT_MS,
    )
    assert window.stack.currentWidget() is screen


def rows(view) -> list[str]:  # type: ignore[no-untyped-def]
    return [view.item(i).text() for i in range(view.count())]


def test_a_pickup_from_carrier_card_to_closing_with_every_refusal_in_words(
    qtbot, server: FakeDispatch, queue: PrintQueue, printer: FakePrinter, tmp_path: Path
) -> None:
    memory = PickupMemory(path=tmp_path / "dispatch-pickup.json")
    window, bench, door, sounds = build(qtbot, server, queue, memory)
    sign_in(qtbot, window, bench)
    screen = window.dispatch_screen
    assert screen.heading.text() == "DISPATCH  no pickup open"
    assert "PICKUP:<carrier>" in screen.instruction.text()
    assert screen.count.text() == "5 waiting (1 UPS, 4 USPS)"
    assert any("LABEL NOT SCANNED AT THE BENCH" in r and C1 in r for r in rows(screen.waiting))
    # Custody exceptions from the server's queue; other kinds are not the door's business.
    assert rows(screen.exceptions) == [
        "PL0000008: USPS has not scanned EZ8 25 h after handover - ask the carrier to trace "
        "the pickup"
    ]

    kind, words = answer(qtbot, bench, door, "EZ9999999999")
    assert kind == "rejected" and "No pickup is open" in words
    assert window.overlay.colour == RED and sounds.played["error"] == 1

    kind, words = answer(qtbot, bench, door, "PICKUP:USPS")
    assert kind == "accepted" and "USPS pickup open: 4 carton(s) waiting" in words
    assert window.overlay.colour == GREEN
    assert screen.heading.text().startswith("DISPATCH  USPS pickup")
    assert memory.load() == next(iter(server.pickups))  # kept for a restart

    # A carton: green, counted, gone from the waiting list.
    kind, words = answer(qtbot, bench, door, A1)
    assert kind == "accepted" and "PL0000001 box 1 handed over: 1 more carton(s)" in words
    assert window.overlay.colour == GREEN
    assert screen.count.text() == "1 on the truck   3 waiting"
    assert not any(A1 in r for r in rows(screen.waiting)) and len(rows(screen.waiting)) == 4
    assert server.parcels[11].state == "handed_over"

    # Red, the server's words, nothing counted: voided, never label-scanned, not ours; another
    # carrier's carton is refused at once, without asking.
    for text, expected in (
        (D1, "VOIDED: do not ship this carton"),
        (C1, "never scanned onto the carton at the bench"),
        ("1Z-NOT-OURS", "is not one of our labels: keep the carton back"),
        (B1, "This carton goes with UPS, not USPS: keep it back"),
    ):
        # Only scans count: a debounced list refresh may run in the background meanwhile.
        calls = sum(c.startswith("scan ") for c in server.calls)
        kind, words = answer(qtbot, bench, door, text)
        assert kind == "rejected" and expected in words, (text, words)
        assert window.overlay.colour == RED and expected in window.overlay.words
        assert screen.count.text().startswith("1 on the truck"), text
        if text == B1:
            # Decided on the bench, no round trip.
            assert sum(c.startswith("scan ") for c in server.calls) == calls
    assert [p.pickup_id for p in server.parcels.values() if p.pickup_id] == [
        server.parcels[11].pickup_id
    ]

    # Reprint: F6, then the carton; the label's ZPL reaches the printer through the queue.
    qtbot.keyClick(window, Qt.Key.Key_F6)
    assert "to reprint its label" in screen.instruction.text()
    kind, words = answer(qtbot, bench, door, A2)
    assert kind == "accepted" and "Label of PL0000001 box 2 sent to the printer" in words
    qtbot.waitUntil(lambda: len(printer.labels) == 1, timeout=WAIT_MS)
    assert printer.labels == [fake_label(A2, "USPS")]
    assert server.parcels[12].state == "labelled"  # a reprint hands nothing over

    # Void before handover: command card, the carton, a reason card; it leaves the list.
    assert answer(qtbot, bench, door, "CMD:VOID")[0] == "needs"
    kind, words = answer(qtbot, bench, door, A2)
    assert kind == "needs" and "reason card" in words and window.overlay.colour == AMBER
    kind, words = answer(qtbot, bench, door, "REASON-DAMAGED-LABEL")
    assert kind == "accepted" and "voided: take the carton back to the bench" in words
    assert server.parcels[12].state == "voided"
    qtbot.waitUntil(lambda: not any(A2 in r for r in rows(screen.waiting)), timeout=WAIT_MS)

    # Void after handover (F7): the server asks a supervisor; the door says it waits.
    qtbot.keyClick(window, Qt.Key.Key_F7)
    answer(qtbot, bench, door, A1)
    kind, words = answer(qtbot, bench, door, "REASON-ADDRESS-CHANGED")
    assert kind == "needs" and "waits for a supervisor's approval" in words
    assert window.overlay.colour == AMBER
    assert server.parcels[11].state == "handed_over"  # nothing voided without the approval
    assert [a.operation for a in server.approvals] == ["void_after_handover"]
    assert any("void waits for approval" in r for r in rows(screen.attention))

    # Escape drops an armed command; the door stays open.
    answer(qtbot, bench, door, "CMD:REPRINT")
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    assert bench.screen is Screen.DISPATCH and door.session.armed is None

    # The closing card: the pickup is closed on the server and forgotten here.
    kind, words = answer(qtbot, bench, door, "PICKUP:CLOSE")
    assert kind == "accepted" and "USPS pickup closed: 1 carton(s) handed over" in words
    assert screen.heading.text() == "DISPATCH  no pickup open"
    assert all(p.state == "closed" for p in server.pickups.values())
    assert memory.load() is None


def test_server_down_the_scan_is_not_counted_and_nothing_is_lost(
    qtbot, server: FakeDispatch, queue: PrintQueue, tmp_path: Path
) -> None:
    window, bench, door, _ = build(qtbot, server, queue, PickupMemory(path=tmp_path / "p.json"))
    sign_in(qtbot, window, bench)
    screen = window.dispatch_screen
    answer(qtbot, bench, door, "PICKUP:USPS")
    qtbot.waitUntil(lambda: screen.count.text() == "0 on the truck   4 waiting", timeout=WAIT_MS)

    server.online = False
    kind, words = answer(qtbot, bench, door, E1)
    assert kind == "rejected" and "Server not reachable" in words and "NOT handed over" in words
    assert window.overlay.colour == RED
    assert screen.count.text() == "0 on the truck   4 waiting"
    assert rows(screen.attention) == [f"NOT handed over: {E1} - scan it again"]
    assert any(E1 in r for r in rows(screen.waiting))
    assert server.parcels[51].state == "labelled"
    # A reprint and a refresh while down say so too.
    answer(qtbot, bench, door, "CMD:REPRINT")
    kind, words = answer(qtbot, bench, door, A1)
    assert kind == "rejected" and "NOT reprinted" in words
    qtbot.keyClick(window, Qt.Key.Key_F8)
    qtbot.waitUntil(lambda: "may be out of date" in screen.note.text(), timeout=WAIT_MS)

    server.online = True
    kind, words = answer(qtbot, bench, door, E1)  # scanned again: now it counts
    assert kind == "accepted" and "PL0000005 complete" in words
    assert screen.count.text() == "1 on the truck   3 waiting"
    assert rows(screen.attention) == []
    assert server.parcels[51].state == "handed_over"


def test_an_open_pickup_survives_a_restart_and_a_door_without_a_printer(
    qtbot, server: FakeDispatch, tmp_path: Path
) -> None:
    memory = PickupMemory(path=tmp_path / "dispatch-pickup.json")
    opened = server.open_pickup(carrier="USPS")
    server.hand_over(pickup_id=opened.id, barcode=A1)
    memory.save(opened.id)
    window, bench, door, _ = build(qtbot, server, None, memory)
    sign_in(qtbot, window, bench, waiting=4)
    screen = window.dispatch_screen
    qtbot.waitUntil(
        lambda: screen.heading.text() == f"DISPATCH  USPS pickup {opened.id}", timeout=WAIT_MS
    )
    assert screen.count.text() == "1 on the truck   3 waiting"
    kind, words = answer(qtbot, bench, door, A2)
    assert kind == "accepted" and "PL0000001 complete" in words
    assert not screen.buttons["reprint"].isEnabled()
    kind, words = answer(qtbot, bench, door, "CMD:REPRINT")
    assert kind == "rejected" and "No label printer" in words
    # A pickup closed elsewhere meanwhile: the door learns it from the server and forgets it.
    server.close_pickup(pickup_id=opened.id)
    kind, words = answer(qtbot, bench, door, E1)
    assert kind == "rejected" and "is closed: open a new one" in words
    assert screen.heading.text() == "DISPATCH  no pickup open" and memory.load() is None
    # Nothing armed: Escape signs the loader out, as on the task list.
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    assert bench.screen is Screen.LOGIN


def test_a_station_in_dispatch_mode_opens_on_the_door(qtbot, tmp_path: Path) -> None:
    from station.app import build as build_station
    from station.settings import StationSettings

    for mode, is_door in (("dispatch", True), ("bench", False)):
        PickupMemory(path=tmp_path / mode / "dispatch-pickup.json").save(3)
        settings = StationSettings(data_dir=tmp_path / mode, mode=mode, printer="tcp://127.0.0.1:9")
        station = build_station(settings, token="t", with_window=True)
        try:
            assert station.window is not None
            qtbot.addWidget(station.window)
            assert (station.bench.dispatch is not None) is is_door
            assert (station.window.dispatch_screen is not None) is is_door
            if station.bench.dispatch is not None:
                assert station.bench.dispatch.session.can_print  # reprints go to the queue
                assert station.bench.dispatch._resume == 3  # the pickup kept before a restart
        finally:
            station.stop()


def test_live_order_events_refresh_the_waiting_list_once_per_burst(
    qtbot, server: FakeDispatch, queue: PrintQueue, tmp_path: Path
) -> None:
    from shared.contract.events import OrderChanged

    window, bench, _door, _ = build(qtbot, server, queue, PickupMemory(path=tmp_path / "p.json"))
    sign_in(qtbot, window, bench)
    screen = window.dispatch_screen
    # A bench scans the label of a new carton onto it: the server says so on the live stream.
    server.parcels[61] = FakeParcel(
        id=61,
        order_id=6,
        order_number="PL0000006",
        package_no=1,
        tracking_number="EZ6000000001",
        carrier="USPS",
    )
    before = server.calls.count("waiting")
    for _ in range(3):
        bench.on_order_changed(OrderChanged(order_id=6, state="labelled", change="labelled"))
    qtbot.waitUntil(lambda: any("PL0000006" in r for r in rows(screen.waiting)), timeout=WAIT_MS)
    assert server.calls.count("waiting") == before + 1
    assert bench.screen is Screen.DISPATCH


def test_voids_waiting_for_a_supervisor_are_followed_up_at_each_refresh(
    qtbot, server: FakeDispatch, queue: PrintQueue, tmp_path: Path
) -> None:
    window, bench, door, _ = build(qtbot, server, queue, PickupMemory(path=tmp_path / "p.json"))
    sign_in(qtbot, window, bench)
    screen = window.dispatch_screen
    answer(qtbot, bench, door, "PICKUP:USPS")
    for text in (A1, A2, E1):
        assert answer(qtbot, bench, door, text)[0] == "accepted"
    for text in (A1, A2, E1):  # each one: a void after handover, which waits for approval
        answer(qtbot, bench, door, "CMD:VOID")
        answer(qtbot, bench, door, text)
        kind, words = answer(qtbot, bench, door, "REASON-ADDRESS-CHANGED")
        assert kind == "needs" and "waits for a supervisor's approval" in words
    assert screen.count.text() == "3 on the truck   1 waiting"
    first, second, third = server.approvals
    assert sum("void waits for approval" in r for r in rows(screen.attention)) == 3
    said: list[tuple[str, str]] = []
    door.verdict.connect(lambda kind, words: said.append((kind, words)))

    # Nobody has decided yet: the refresh asks after each one and says nothing.
    with qtbot.waitSignal(door.changed, timeout=WAIT_MS):
        qtbot.keyClick(window, Qt.Key.Key_F8)
    assert all(f"approval {a.id}" in server.calls for a in (first, second, third))
    assert said == [] and sum("void waits" in r for r in rows(screen.attention)) == 3

    # A supervisor approves one, refuses one, and approves one the carrier has taken meanwhile.
    server.decide(approval_id=first.id, approve=True, reason="CHECKED")
    server.decide(approval_id=second.id, approve=False, reason="the address is fine")
    server.parcels[51].state = "in_transit"
    server.decide(approval_id=third.id, approve=True, reason="CHECKED")
    assert [a.state for a in server.approvals] == ["executed", "refused", "failed"]
    qtbot.keyClick(window, Qt.Key.Key_F8)
    qtbot.waitUntil(lambda: len(said) == 3, timeout=WAIT_MS)
    assert said[0] == (
        "needs",
        "Void of PL0000001 box 1 APPROVED: its label is VOIDED. Take the carton off the USPS "
        "pickup and back to the bench for a new label",
    )
    assert said[1] == (
        "rejected",
        "Void of PL0000001 box 2 REFUSED by Sam (the address is fine): the label stays valid, "
        "the carton ships",
    )
    assert said[2][0] == "rejected" and said[2][1].startswith("Void of PL0000005 box 1 FAILED")
    assert "package 51 is in_transit now: nothing voided" in said[2][1]
    # The waiting lines are gone, each with its words; the truck holds one carton fewer.
    assert rows(screen.attention) == [words for _, words in said]
    assert screen.count.text() == "2 on the truck   1 waiting"
    assert door.session.pending_voids == {}

    # The voided carton turns up at the truck: refused at the door, without asking the server.
    scans = sum(c.startswith("scan ") for c in server.calls)
    kind, words = answer(qtbot, bench, door, A1)
    assert kind == "rejected" and "This label was VOIDED" in words
    assert sum(c.startswith("scan ") for c in server.calls) == scans
    # Asked again later: nothing is said twice.
    asked = server.calls.count(f"approval {first.id}")
    with qtbot.waitSignal(door.changed, timeout=WAIT_MS):
        qtbot.keyClick(window, Qt.Key.Key_F8)
    assert len(said) == 4  # only the A1 scan's answer
    assert server.calls.count(f"approval {first.id}") == asked  # decided: not asked again
    # The truck leaves: the notices have done their work.
    answer(qtbot, bench, door, "PICKUP:CLOSE")
    assert rows(screen.attention) == []


def test_a_void_request_the_server_no_longer_knows_keeps_its_line_and_the_lists_refresh(
    qtbot, server: FakeDispatch, queue: PrintQueue, tmp_path: Path
) -> None:
    window, bench, door, _ = build(qtbot, server, queue, PickupMemory(path=tmp_path / "p.json"))
    sign_in(qtbot, window, bench)
    screen = window.dispatch_screen
    answer(qtbot, bench, door, "PICKUP:USPS")
    answer(qtbot, bench, door, A1)
    answer(qtbot, bench, door, "CMD:VOID")
    answer(qtbot, bench, door, A1)
    assert answer(qtbot, bench, door, "REASON-X")[0] == "needs"
    server.approvals.clear()  # say, a server restored from a backup
    server.parcels[61] = FakeParcel(
        id=61,
        order_id=6,
        order_number="PL0000006",
        package_no=1,
        tracking_number="EZ6000000001",
        carrier="USPS",
    )
    qtbot.keyClick(window, Qt.Key.Key_F8)
    qtbot.waitUntil(lambda: any("PL0000006" in r for r in rows(screen.waiting)), timeout=WAIT_MS)
    assert screen.note.text() == ""
    assert rows(screen.attention) == [
        f"PL0000001 box 1: void waits for approval (request {door_request(door)})"
    ]
    # A dead server: the refresh says so, and the line still waits.
    server.online = False
    qtbot.keyClick(window, Qt.Key.Key_F8)
    qtbot.waitUntil(lambda: "may be out of date" in screen.note.text(), timeout=WAIT_MS)
    assert len(rows(screen.attention)) == 1 and door.session.pending_voids


def door_request(door: DispatchViewModel) -> int:
    [pending] = door.session.pending_voids.values()
    return pending.approval_id


def test_a_refresh_rereads_the_open_pickup_and_forgets_one_closed_elsewhere(
    qtbot, server: FakeDispatch, queue: PrintQueue, tmp_path: Path
) -> None:
    memory = PickupMemory(path=tmp_path / "p.json")
    window, bench, door, _ = build(qtbot, server, queue, memory)
    sign_in(qtbot, window, bench)
    screen = window.dispatch_screen
    answer(qtbot, bench, door, "PICKUP:USPS")
    answer(qtbot, bench, door, A1)
    [pickup_id] = server.pickups
    server.hand_over(pickup_id=pickup_id, barcode=A2)  # another door, same truck
    qtbot.keyClick(window, Qt.Key.Key_F8)
    qtbot.waitUntil(lambda: screen.count.text() == "2 on the truck   2 waiting", timeout=WAIT_MS)
    assert memory.load() == pickup_id
    server.close_pickup(pickup_id=pickup_id)  # a supervisor closed it
    qtbot.keyClick(window, Qt.Key.Key_F8)
    qtbot.waitUntil(lambda: screen.heading.text() == "DISPATCH  no pickup open", timeout=WAIT_MS)
    assert memory.load() is None
