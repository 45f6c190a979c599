"""The label scan at the bench, pure: which package is asked for, what matches, what is refused
(with words) and what is journaled."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.tracking import tracking_matches
from station.sync.label_events import label_to_wire
from station.work.events import PackCompleted
from station.work.labelling import (
    LabellingSession,
    LabelPackage,
    LabelScanRejected,
    PackageLabelled,
)
from station.work.verdict import Accepted, Reason, Rejected
from tests.station.work.builders import MUG, FakeClock

UPS = "1Z999AA10123456784"
POSTAL = "RR123456785NL"
USPS = "9400111899223100012345"


def session(*tracking: str, done: tuple[int, ...] = ()) -> LabellingSession:
    packages = [
        LabelPackage(package_id=100 + n, package_no=n, tracking_number=t, carrier="UPS")
        for n, t in enumerate(tracking, start=1)
    ]
    return LabellingSession(order_id=7, order_number="PL0000007", packages=packages,
                            clock=FakeClock(), already_labelled=done)  # fmt: skip


def test_two_packages_in_any_order_then_complete_with_one_event_each() -> None:
    s = session(UPS, POSTAL)
    assert (s.done, s.total, s.next.package_no if s.next else None) == (0, 2, 1)
    first = s.scan_text(POSTAL)  # package 2's carton came first: fine
    assert isinstance(first, Accepted)
    assert first.message == "Package 2 labelled: scan the label of package 1 of 2"
    assert s.next is not None and s.next.package_no == 1 and not s.complete
    last = s.scan_text(UPS)
    assert isinstance(last, Accepted) and last.message == "All 2 label(s) scanned: order done"
    assert s.complete and s.next is None
    events = s.drain_events()
    assert [(type(e), e.package_no) for e in events] == [  # type: ignore[attr-defined]
        (PackageLabelled, 2), (PackageLabelled, 1)]  # fmt: skip
    assert s.drain_events() == []
    assert [p.scanned for p in s.progress()] == [True, True]


def test_an_already_scanned_label_is_red_and_counts_nothing() -> None:
    s = session(UPS, POSTAL)
    s.scan_text(UPS)
    s.drain_events()
    again = s.scan_text(UPS)
    assert isinstance(again, Rejected) and again.reason is Reason.ALREADY_COMPLETE
    assert again.words == "Package 1 is already scanned: scan the label of package 2 of 2"
    assert s.done == 1
    [event] = s.drain_events()
    assert isinstance(event, LabelScanRejected) and event.raw == UPS


@pytest.mark.parametrize(
    ("text", "reason", "words"),
    [
        ("1Z999AA10123456799", Reason.WRONG_ORDER, "That label is not for order PL0000007"),
        ("RR999999999NL", Reason.WRONG_ORDER, "That label is not for order PL0000007"),
        (MUG, Reason.UNEXPECTED_SCAN, "That is not the shipping label"),
        ("PL0000007", Reason.UNEXPECTED_SCAN, "That is not the shipping label"),
        ("BOX-M", Reason.UNEXPECTED_SCAN, "Not used now"),
        ("PL0000007-2", Reason.UNEXPECTED_SCAN, "That is the carton label, not the shipping"),
        ("\x00\x07garbage", Reason.UNKNOWN_BARCODE, "Unknown barcode"),
        (UPS[:-1], Reason.UNKNOWN_BARCODE, "The label did not read completely: scan it"),
        (POSTAL[2:], Reason.UNKNOWN_BARCODE, "The label did not read completely: scan it"),
    ],
)
def test_anything_but_one_of_the_orders_labels_is_refused_with_words(
    text: str, reason: Reason, words: str
) -> None:
    s = session(UPS, POSTAL)
    verdict = s.scan_text(text)
    assert isinstance(verdict, Rejected) and verdict.reason is reason
    assert verdict.words.startswith(words)
    assert verdict.words.endswith("scan the label of package 1 of 2") or reason in (
        Reason.UNKNOWN_BARCODE,
    )
    assert s.done == 0
    assert [type(e) for e in s.drain_events()] == [LabelScanRejected]


def test_usps_impb_with_its_routing_prefix_matches_the_bare_number() -> None:
    s = session(USPS)
    verdict = s.scan_text("42010001\x1d" + USPS, symbology_id="]C1")
    assert isinstance(verdict, Accepted) and s.complete
    [event] = s.drain_events()
    assert isinstance(event, PackageLabelled) and event.tracking_number == USPS


def test_packages_the_server_has_as_labelled_are_not_asked_for_again() -> None:
    s = session(UPS, POSTAL, done=(101,))
    assert s.done == 1 and s.next is not None and s.next.package_no == 2
    assert isinstance(s.scan_text(UPS), Rejected)


def test_a_session_without_packages_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="no package"):
        LabellingSession(order_id=1, order_number="PL0000001", packages=[], clock=FakeClock())


def test_label_facts_go_to_the_wire_as_package_labelled_and_scan_rejected() -> None:
    s = session(UPS)
    s.scan_text("4006381333931")
    s.scan_text(UPS)
    rejected, labelled = (label_to_wire(e, operator_id=3) for e in s.drain_events())
    assert rejected is not None and labelled is not None
    assert rejected.kind == "scan_rejected" and rejected.payload["reason_code"] == "unexpected_scan"
    assert labelled.kind == "package_labelled" and labelled.order_id == 7
    assert labelled.payload == {"package_id": 101, "tracking_number": UPS, "scanned": UPS}
    assert labelled.operator_id == 3
    other = PackCompleted(at=FakeClock()(), order_id=7, order_number="PL0000007", boxes=(),
                          units=0)  # fmt: skip
    assert label_to_wire(other, operator_id=None) is None  # outbound.py's business


@given(number=st.from_regex(r"[A-Z0-9]{8,30}", fullmatch=True), cut=st.integers(1, 7))
def test_a_number_never_matches_a_strict_part_of_itself(number: str, cut: int) -> None:
    assert tracking_matches(scanned=number, tracking_number=number)
    assert tracking_matches(scanned=number.lower(), tracking_number=number)
    assert not tracking_matches(scanned=number[cut:], tracking_number=number)
    assert not tracking_matches(scanned=number[:-cut], tracking_number=number)
    assert not tracking_matches(scanned="X" + number, tracking_number=number)
