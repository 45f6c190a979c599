"""The label fetch after packing, against a real journal: it waits for the pack event to leave
the journal, never buys for a pack the server refused, downloads every label before queueing
any, never queues a label twice, and reports the packing slip without failing the labels."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from shared.contract.events import PackCompleted, PackedBox, new_event
from shared.contract.shipping import PackageOut
from station.sync.bench_labels import BenchLabels, PackNotSent, PackRefused
from station.sync.client import ServerUnavailable
from station.sync.journal import Journal
from station.sync.shipping_client import FakeShipping, label_zpl
from tests.station.sync.events_factory import AT

ORDER = 1001


def package(n: int, state: str = "bought") -> PackageOut:
    return PackageOut(id=50 + n, package_no=n, provider="shippo", carrier="UPS",
                      service="ground", tracking_number=f"1Z999AA1012345678{n}",
                      state=state)  # fmt: skip


class Printer:
    def __init__(self) -> None:
        self.jobs: list[tuple[bytes, str]] = []

    def __call__(self, data: bytes, title: str) -> int:
        self.jobs.append((data, title))
        return len(self.jobs)


def journaled_pack(journal: Journal) -> str:
    boxes = [PackedBox(box_type="BOX-S", units=1)]
    event = new_event(kind="pack_completed", at=AT, order_id=ORDER,
                      payload=PackCompleted(boxes=boxes))  # fmt: skip
    journal.append(event)
    return event.key


def labels_for(
    shipping: FakeShipping, journal: Journal | None, **kw
) -> tuple[BenchLabels, Printer, Printer]:  # type: ignore[no-untyped-def]
    labels, slips = Printer(), Printer()
    bench = BenchLabels(shipping=shipping, print_label=labels, print_document=slips,
                        journal=journal, wait_s=kw.pop("wait_s", 5.0), poll_s=0.01,
                        **kw)  # fmt: skip
    return bench, labels, slips


def test_waits_for_the_pack_to_leave_the_journal_before_buying(tmp_path: Path) -> None:
    journal = Journal(path=tmp_path / "journal.sqlite3")
    key = journaled_pack(journal)
    shipping = FakeShipping(packages={ORDER: [package(1), package(2)]})
    woken = threading.Event()

    def pusher_sends() -> None:  # what the pusher does once woken: the server took it
        if not woken.is_set():
            woken.set()
            threading.Timer(0.2, lambda: journal.mark_sent([key])).start()

    bench, labels, slips = labels_for(shipping, journal, wake_pusher=pusher_sends)
    batch = bench.fetch(order_id=ORDER, order_number="PL0001001", pack_key=key, queued={})
    assert woken.is_set() and shipping.calls[0] == "ship 1001"
    assert [p.package_no for p in batch.packages] == [1, 2]
    assert batch.jobs == {51: 1, 52: 2} and batch.labelled == frozenset()
    assert labels.jobs[0][0] == label_zpl(package(1).tracking_number, 1)
    assert labels.jobs[1][1] == f"PL0001001 package 2/2 {package(2).tracking_number}"
    assert batch.slip is not None and batch.slip.words == "Packing slip printing"
    assert [t for _, t in slips.jobs] == ["PL0001001 packing slip"]


def test_a_pack_still_queued_is_not_bought_for_and_says_so(tmp_path: Path) -> None:
    journal = Journal(path=tmp_path / "journal.sqlite3")
    key = journaled_pack(journal)
    shipping = FakeShipping(packages={ORDER: [package(1)]})
    bench, labels, _ = labels_for(shipping, journal, wait_s=0.2)
    with pytest.raises(PackNotSent, match="not reached the server"):
        bench.fetch(order_id=ORDER, order_number="PL0001001", pack_key=key, queued={})
    assert shipping.calls == [] and labels.jobs == []
    assert isinstance(PackNotSent("x"), ServerUnavailable)  # the bench retries it by itself


def test_a_pack_the_server_refused_is_never_bought_for(tmp_path: Path) -> None:
    journal = Journal(path=tmp_path / "journal.sqlite3")
    key = journaled_pack(journal)
    journal.mark_rejected(key, detail="order 1001 was cancelled meanwhile")
    shipping = FakeShipping(packages={ORDER: [package(1)]})
    bench, _, _ = labels_for(shipping, journal)
    with pytest.raises(PackRefused, match="cancelled meanwhile"):
        bench.fetch(order_id=ORDER, order_number="PL0001001", pack_key=key, queued={})
    assert shipping.calls == []


class DiesAfterOneLabel(FakeShipping):
    def __init__(self, **kw) -> None:  # type: ignore[no-untyped-def]
        super().__init__(**kw)
        self.fail_labels = True

    def label(self, *, package_id: int) -> bytes:
        if self.fail_labels and package_id == 52:
            raise ServerUnavailable("connection reset")
        return super().label(package_id=package_id)


def test_a_server_lost_mid_download_prints_nothing_and_a_retry_prints_each_once() -> None:
    shipping = DiesAfterOneLabel(packages={ORDER: [package(1), package(2)]})
    bench, labels, slips = labels_for(shipping, None)
    with pytest.raises(ServerUnavailable):
        bench.fetch(order_id=ORDER, order_number="PL0001001", pack_key=None, queued={})
    assert labels.jobs == [] and slips.jobs == []  # nothing half-printed
    shipping.fail_labels = False
    batch = bench.fetch(order_id=ORDER, order_number="PL0001001", pack_key=None, queued={})
    assert len(labels.jobs) == 2 and batch.jobs == {51: 1, 52: 2}
    again = bench.fetch(order_id=ORDER, order_number="PL0001001", pack_key=None,
                        queued=batch.jobs, with_slip=False)  # fmt: skip
    assert len(labels.jobs) == 2 and again.jobs == batch.jobs  # queued once, ever
    assert shipping.calls.count("ship 1001") == 3 and len(shipping.bought) == 1


def test_labels_already_scanned_on_the_server_are_not_printed_again() -> None:
    shipping = FakeShipping(packages={ORDER: [package(1, "labelled"), package(2),
                                              package(3, "voided")]})  # fmt: skip
    bench, labels, _ = labels_for(shipping, None)
    batch = bench.fetch(order_id=ORDER, order_number="PL0001001", pack_key=None, queued={})
    assert [p.package_no for p in batch.packages] == [1, 2]  # the voided one is gone
    assert batch.labelled == frozenset({51})
    assert [t for _, t in labels.jobs] == [f"PL0001001 package 2/2 {package(2).tracking_number}"]


def test_the_packing_slip_never_fails_the_labels() -> None:
    shipping = FakeShipping(packages={ORDER: [package(1)]})
    shipping.slip = None  # the server has no slip for it (404)
    bench, labels, slips = labels_for(shipping, None)
    batch = bench.fetch(order_id=ORDER, order_number="PL0001001", pack_key=None, queued={})
    assert len(labels.jobs) == 1 and slips.jobs == []
    assert batch.slip is not None and batch.slip.retry and "Enter tries again" in batch.slip.words
    shipping.slip = b"%PDF-1.4 slip"
    again = bench.print_slip(order_id=ORDER, order_number="PL0001001")
    assert not again.retry and slips.jobs == [(b"%PDF-1.4 slip", "PL0001001 packing slip")]
    no_printer = BenchLabels(shipping=shipping, print_label=labels, print_document=None)
    outcome = no_printer.print_slip(order_id=ORDER, order_number="PL0001001")
    assert not outcome.retry and "No document printer" in outcome.words
