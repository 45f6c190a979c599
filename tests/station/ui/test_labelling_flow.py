"""The whole window from pack to label, driven by scans and keys as on the floor: the label is
bought in the background, two labels print with the packing slip, a wrong label is red with
words, F5 prints the asked-for label again, both scans make the order done. A server that cannot
be reached keeps the order on the bench and is retried; a refused purchase sends the packer to
the supervisor and can be set aside."""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import Qt

from shared.contract.orders import TaskOut
from shared.contract.shipping import PackageOut
from station.sync.bench_labels import BenchLabels
from station.sync.fake_gateway import FakeGateway
from station.sync.shipping_client import FakeShipping
from station.ui.background import Background
from station.ui.sounds import SilentSounds
from station.ui.view_models.bench import BenchViewModel, Screen
from station.ui.view_models.labelling import LabelPhase, LabelViewModel
from station.ui.view_models.status import StatusViewModel
from station.ui.widgets.theme import AMBER, GREEN, RED
from station.work.labelling import LabelScanRejected, PackageLabelled
from station.work.pack import PackSession
from station.work.pick import PickSession
from tests.station.ui.conftest import BADGE, TOLERANCE, WAIT_MS, scan
from tests.station.work.builders import MUG, mugs, order

UPS_1, UPS_2 = "1Z999AA10123456784", "1Z999AA10123456793"


@dataclass
class Printed:
    """Stands in for the print queue: submit and reprint as the bench calls them."""

    jobs: list[tuple[bytes, str]] = field(default_factory=list)
    reprinted: list[int] = field(default_factory=list)

    def submit(self, data: bytes, title: str) -> int:
        self.jobs.append((data, title))
        return len(self.jobs)

    def reprint(self, job: int) -> int:
        self.reprinted.append(job)
        return 100 + job


def packages() -> list[PackageOut]:
    return [
        PackageOut(id=51, package_no=1, provider="shippo", carrier="UPS", service="ground",
                   tracking_number=UPS_1, state="bought"),
        PackageOut(id=52, package_no=2, provider="shippo", carrier="UPS", service="ground",
                   tracking_number=UPS_2, state="bought"),
    ]  # fmt: skip


def build(qtbot, journal, clock, shipping: FakeShipping, labels: Printed, slips: Printed,  # type: ignore[no-untyped-def]
          state: str = "released"):  # fmt: skip
    from station.ui.main_window import MainWindow

    task = order(mugs(qty=2), number="PL0001001").model_copy(update={"state": state})
    background = Background()
    bench_labels = BenchLabels(shipping=shipping, print_label=labels.submit,
                               print_document=slips.submit)  # fmt: skip

    def make_labelling(t: TaskOut, pack_key: str | None) -> LabelViewModel:
        # The PackCompleted the label step waits for (none when resuming a packed order).
        assert (pack_key is None) == (state == "packed")
        return LabelViewModel(
            order_id=t.order_id, order_number=t.number,
            fetch=lambda queued: bench_labels.fetch(order_id=t.order_id, order_number=t.number,
                                                    pack_key=None, queued=queued),
            fetch_slip=lambda: bench_labels.print_slip(order_id=t.order_id,
                                                       order_number=t.number),
            background=background, clock=clock, journal_append=journal,
            reprint=labels.reprint, retry_ms=100,
        )  # fmt: skip

    status = StatusViewModel()
    bench = BenchViewModel(
        gateway=FakeGateway(tasks=[task]), background=background, journal_append=journal,
        make_pick=lambda tk, op: PickSession(tk, clock=clock, operator_badge=op.badge),
        make_pack=lambda tk, op: PackSession(tk, clock=clock, scale_tolerance=TOLERANCE),
        status=status, make_labelling=make_labelling,
    )  # fmt: skip
    window = MainWindow(bench=bench, status=status, sounds=SilentSounds())
    qtbot.addWidget(window)
    window.resize(1024, 768)
    window.show()
    return window, bench


def pack_two_boxes(qtbot, window, bench) -> None:  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(bench.tasks.tasks_changed, timeout=WAIT_MS):
        bench.handle_scan(scan(BADGE))
    with qtbot.waitSignal(bench.work_started, timeout=WAIT_MS):
        bench.handle_scan(scan("PL0001001"))
    for _ in range(2):
        bench.handle_scan(scan(f"]E0{MUG}"))  # picked
    assert bench.screen is Screen.PACK
    bench.handle_scan(scan("PL0001001"))
    for _ in range(2):  # one mug per box
        bench.handle_scan(scan(f"]E0{MUG}"))
        bench.handle_scan(scan("BOX-S"))
        with qtbot.waitSignal(bench.verdict, timeout=WAIT_MS):
            qtbot.keyClick(window, Qt.Key.Key_Return)


def label_vm(bench: BenchViewModel) -> LabelViewModel:
    assert isinstance(bench.work, LabelViewModel)
    return bench.work


def test_pack_two_boxes_then_two_labels_print_and_scan_back_to_done(qtbot, journal, clock) -> None:
    shipping = FakeShipping(packages={1001: packages()})
    labels, slips = Printed(), Printed()
    window, bench = build(qtbot, journal, clock, shipping, labels, slips)
    pack_two_boxes(qtbot, window, bench)
    vm = label_vm(bench)
    assert bench.screen is Screen.PACK and window.stack.currentWidget() is window.pack_screen
    qtbot.waitUntil(lambda: vm.phase is LabelPhase.SCANNING, timeout=WAIT_MS)
    assert [title for _, title in labels.jobs] == [
        f"PL0001001 package 1/2 {UPS_1}", f"PL0001001 package 2/2 {UPS_2}"]  # fmt: skip
    assert UPS_1.encode() in labels.jobs[0][0] and UPS_2.encode() in labels.jobs[1][0]
    assert [title for _, title in slips.jobs] == ["PL0001001 packing slip"]
    screen = window.pack_screen
    assert screen.instruction.text().startswith(f"Scan the label of package 1 of 2 ({UPS_1})")
    assert "Packing slip printing" in screen.instruction.text()
    assert screen.count.text() == "0 / 2" and screen.lines.count() == 2
    assert screen.reprint_button.isVisibleTo(screen)
    assert not screen.override_button.isVisibleTo(screen)

    bench.handle_scan(scan("1Z999AA10123456799"))  # another parcel's label
    assert window.overlay.colour == RED and "not for order PL0001001" in window.overlay.words
    bench.handle_scan(scan(UPS_2))
    assert window.overlay.colour == GREEN and screen.count.text() == "1 / 2"
    assert screen.instruction.text().startswith("Scan the label of package 1 of 2")
    qtbot.keyClick(window, Qt.Key.Key_F5)  # the label of package 1 is torn: again
    assert labels.reprinted == [1] and "printing again" in window.overlay.words
    bench.handle_scan(scan(UPS_2))  # the same carton twice
    assert window.overlay.colour == RED and "already scanned" in window.overlay.words
    with qtbot.waitSignal(bench.screen_changed, timeout=WAIT_MS):
        bench.handle_scan(scan(UPS_1))
    assert bench.screen is Screen.DONE
    labelled = [e for e in journal.events if isinstance(e, PackageLabelled)]
    assert [(e.package_id, e.scanned) for e in labelled] == [(52, UPS_2), (51, UPS_1)]
    assert sum(isinstance(e, LabelScanRejected) for e in journal.events) == 2
    assert journal.kinds().index("PackCompleted") < journal.kinds().index("PackageLabelled")
    assert shipping.calls.count("ship 1001") == 1


def test_server_down_keeps_the_order_on_the_bench_and_retries_by_itself(
    qtbot, journal, clock
) -> None:
    shipping = FakeShipping(packages={1001: packages()})
    shipping.online = False
    labels, slips = Printed(), Printed()
    window, bench = build(qtbot, journal, clock, shipping, labels, slips)
    pack_two_boxes(qtbot, window, bench)
    vm = label_vm(bench)
    qtbot.waitUntil(lambda: vm.phase is LabelPhase.WAITING, timeout=WAIT_MS)
    words = window.pack_screen.instruction.text()
    assert "server cannot be reached" in words and "tried again by itself" in words
    assert window.overlay.colour == AMBER and labels.jobs == []
    bench.handle_scan(scan(UPS_1))  # nothing to scan yet: refused, never counted
    assert window.overlay.colour == RED and "server cannot be reached" in window.overlay.words
    assert not any(isinstance(e, PackageLabelled) for e in journal.events)
    qtbot.waitUntil(lambda: shipping.calls.count("ship 1001") >= 2, timeout=WAIT_MS)  # retried
    shipping.online = True
    qtbot.waitUntil(lambda: vm.phase is LabelPhase.SCANNING, timeout=WAIT_MS)
    assert bench.screen is Screen.PACK and len(labels.jobs) == 2
    for tracking in (UPS_1, UPS_2):
        bench.handle_scan(scan(tracking))
    qtbot.waitUntil(lambda: bench.screen is Screen.DONE, timeout=WAIT_MS)


def test_a_purchase_still_running_is_waited_for_then_printed_once(qtbot, journal, clock) -> None:
    shipping = FakeShipping(packages={1001: packages()})
    shipping.busy_times = 2
    labels, slips = Printed(), Printed()
    window, bench = build(qtbot, journal, clock, shipping, labels, slips)
    pack_two_boxes(qtbot, window, bench)
    vm = label_vm(bench)
    qtbot.waitUntil(lambda: vm.phase is LabelPhase.SCANNING, timeout=WAIT_MS)
    assert shipping.calls.count("ship 1001") == 3 and len(labels.jobs) == 2


def test_a_refused_purchase_is_red_sends_for_the_supervisor_and_can_be_set_aside(
    qtbot, journal, clock
) -> None:
    shipping = FakeShipping(packages={1001: packages()})
    shipping.refusal = "shippo refused the purchase: Address not deliverable"
    labels, slips = Printed(), Printed()
    window, bench = build(qtbot, journal, clock, shipping, labels, slips)
    pack_two_boxes(qtbot, window, bench)
    vm = label_vm(bench)
    qtbot.waitUntil(lambda: vm.phase is LabelPhase.REFUSED, timeout=WAIT_MS)
    words = window.pack_screen.instruction.text()
    assert "Address not deliverable" in words and "Call the supervisor" in words
    assert window.overlay.colour == RED and labels.jobs == []
    qtbot.wait(300)  # no automatic retry after a refusal: the supervisor decides
    assert shipping.calls.count("ship 1001") == 1
    shipping.refusal = ""
    qtbot.keyClick(window, Qt.Key.Key_Return)  # the supervisor fixed the address: try again
    qtbot.waitUntil(lambda: vm.phase is LabelPhase.SCANNING, timeout=WAIT_MS)
    assert len(labels.jobs) == 2


def test_escape_after_a_refusal_sets_the_order_aside_with_words(qtbot, journal, clock) -> None:
    shipping = FakeShipping(packages={1001: packages()})
    shipping.refusal = "no carrier rate could be chosen"
    window, bench = build(qtbot, journal, clock, shipping, Printed(), Printed())
    pack_two_boxes(qtbot, window, bench)
    vm = label_vm(bench)
    qtbot.waitUntil(lambda: vm.phase is LabelPhase.REFUSED, timeout=WAIT_MS)
    with qtbot.waitSignal(bench.screen_changed, timeout=WAIT_MS):
        qtbot.keyClick(window, Qt.Key.Key_Escape)
    assert bench.screen is Screen.TASKS and bench.task is None
    assert window.overlay.colour == RED and "packed but has no label" in window.overlay.words


def test_a_bench_without_the_label_step_ends_at_done_after_packing(qtbot, journal, clock) -> None:
    from station.ui.main_window import MainWindow

    task = order(mugs(qty=1), number="PL0001001").model_copy(update={"state": "released"})
    status = StatusViewModel()
    bench = BenchViewModel(
        gateway=FakeGateway(tasks=[task]), background=Background(), journal_append=journal,
        make_pick=lambda tk, op: PickSession(tk, clock=clock),
        make_pack=lambda tk, op: PackSession(tk, clock=clock, scale_tolerance=TOLERANCE),
        status=status,
    )  # fmt: skip
    window = MainWindow(bench=bench, status=status, sounds=SilentSounds())
    qtbot.addWidget(window)
    with qtbot.waitSignal(bench.tasks.tasks_changed, timeout=WAIT_MS):
        bench.handle_scan(scan(BADGE))
    with qtbot.waitSignal(bench.work_started, timeout=WAIT_MS):
        bench.handle_scan(scan("PL0001001"))
    for text in (f"]E0{MUG}", "PL0001001", f"]E0{MUG}", "BOX-S"):
        bench.handle_scan(scan(text))
    bench.enter()
    assert bench.screen is Screen.DONE


def test_a_packed_order_resumed_after_a_restart_goes_straight_to_its_labels(
    qtbot, journal, clock
) -> None:
    shipping = FakeShipping(packages={1001: packages()})
    labels, slips = Printed(), Printed()
    _, bench = build(qtbot, journal, clock, shipping, labels, slips, state="packed")
    with qtbot.waitSignal(bench.tasks.tasks_changed, timeout=WAIT_MS):
        bench.handle_scan(scan(BADGE))
    with qtbot.waitSignal(bench.work_started, timeout=WAIT_MS):
        bench.handle_scan(scan("PL0001001"))
    vm = label_vm(bench)  # no picking or packing again: the cartons are already closed
    qtbot.waitUntil(lambda: vm.phase is LabelPhase.SCANNING, timeout=WAIT_MS)
    assert len(labels.jobs) == 2 and shipping.calls.count("ship 1001") == 1
    bench.handle_scan(scan(UPS_1))
    with qtbot.waitSignal(bench.screen_changed, timeout=WAIT_MS):
        bench.handle_scan(scan(UPS_2))
    assert bench.screen is Screen.DONE
