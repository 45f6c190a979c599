"""The dispatch door's session, pure: what each scan means, what it asks of the server, and what
the server's answers (or silence) do to the counts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.contract.approvals import ApprovalItemOut
from shared.contract.custody import HandedOverPackage, HandoverOut, PickupOut, WaitingPackageOut
from shared.contract.orders import ExceptionOut
from shared.contract.shipping import PackageOut
from shared.contract.stations import ApprovalOut
from station.work.dispatch import DispatchSession, pickup_card
from station.work.door import (
    ClosePickup,
    DoorReason,
    DoorVerdict,
    HandOver,
    OpenPickup,
    Refused,
    Reprint,
    Unreachable,
    Void,
    refusal_reason,
)

AT = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
A1, A2 = "EZ1000000001", "EZ1000000002"  # order PL0000001, two cartons, USPS
B1 = "1Z999AA10123456784"  # order PL0000002, UPS
C1 = "EZ3000000001"  # order PL0000003, USPS, bought: the bench never scanned its label


def row(pid: int, order: int, no: int, tracking: str, carrier: str, state: str = "labelled"):
    return WaitingPackageOut(
        id=pid,
        order_id=order,
        order_number=f"PL{order:07d}",
        package_no=no,
        tracking_number=tracking,
        carrier=carrier,
        service="Ground",
        state=state,
        created_at=AT,
    )


ROWS = [
    row(11, 1, 1, A1, "USPS"),
    row(12, 1, 2, A2, "USPS"),
    row(21, 2, 1, B1, "UPS"),
    row(31, 3, 1, C1, "USPS", "bought"),
]


def pickup_out(pid: int = 7, carrier: str = "USPS", cartons: int = 0, state: str = "open"):
    return PickupOut(
        id=pid, carrier=carrier, state=state, cartons=cartons, opened_at=AT, closed_at=None
    )


def handover_out(
    pid: int,
    tracking: str,
    *,
    order: int = 1,
    no: int = 1,
    remaining: int = 1,
    duplicate: bool = False,
) -> HandoverOut:
    return HandoverOut(
        package=HandedOverPackage(
            id=pid, package_no=no, tracking_number=tracking, carrier="USPS", state="handed_over"
        ),
        order_id=order,
        order_state="labelled",
        duplicate=duplicate,
        remaining=remaining,
    )


def verdict(step: object) -> DoorVerdict:
    assert isinstance(step, DoorVerdict), step
    return step


@pytest.fixture
def door() -> DispatchSession:
    s = DispatchSession()
    s.waiting_loaded(ROWS)
    return s


@pytest.fixture
def open_door(door: DispatchSession) -> DispatchSession:
    assert door.scan_text("PICKUP:USPS") == OpenPickup(carrier="USPS")
    door.opened(pickup_out())
    return door


def test_no_pickup_open_a_carton_is_selected_and_anything_else_refused(door) -> None:
    assert "PICKUP:<carrier>" in door.instruction()
    unknown = verdict(door.scan_text("EZ9999999999"))
    assert (unknown.kind, unknown.reason) == ("rejected", DoorReason.NO_PICKUP)
    picked = verdict(door.scan_text(A1))
    assert picked.kind == "needs" and "PL0000001 box 1 selected" in picked.words
    assert door.selected is not None and door.selected.package_id == 11
    assert door.pickup is None and not door.handed


def test_carrier_card_opens_a_pickup_and_the_door_waits_for_the_answer(door) -> None:
    request = door.scan_text("PICKUP:USPS")
    assert request == OpenPickup(carrier="USPS")
    door.began(request)
    busy = verdict(door.scan_text(A1))
    assert busy.reason is DoorReason.PICKUP_BUSY and "being opened" in busy.words
    assert verdict(door.scan_text("PICKUP:UPS")).reason is DoorReason.PICKUP_BUSY
    answer = door.opened(pickup_out())
    assert answer.kind == "accepted" and "3 carton(s) waiting" in answer.words
    assert door.pickup is not None and door.pickup.id == 7 and door.in_flight == 0
    assert "USPS pickup" in door.instruction()


def test_bad_carrier_cards_and_a_second_carrier_while_one_is_open(open_door) -> None:
    assert verdict(open_door.scan_text("PICKUP:")).reason is DoorReason.UNREADABLE
    assert verdict(open_door.scan_text("PICKUP:<script>")).reason is DoorReason.UNREADABLE
    other = verdict(open_door.scan_text("PICKUP:UPS"))
    assert other.reason is DoorReason.PICKUP_BUSY and "PICKUP:CLOSE first" in other.words
    same = verdict(open_door.scan_text("pickup:usps"))  # case does not make a second pickup
    assert same.kind == "accepted" and open_door.pickup.id == 7


def test_a_carton_scan_asks_the_server_and_counts_only_on_its_answer(open_door) -> None:
    request = open_door.scan_text(f"  {A1}\r\n")
    assert request == HandOver(pickup_id=7, barcode=A1)
    assert open_door.pickup.cartons == 0  # nothing counted before the server said yes
    answer = open_door.handed_over(request, handover_out(11, A1, remaining=1))
    assert answer.kind == "accepted" and answer.counted
    assert "PL0000001 box 1 handed over" in answer.words and "1 more carton" in answer.words
    assert open_door.pickup.cartons == 1
    assert [c.package_id for c in open_door.waiting] == [12, 21, 31]

    again = open_door.handed_over(request, handover_out(11, A1, remaining=1, duplicate=True))
    assert again.reason is DoorReason.DUPLICATE and not again.counted
    assert open_door.pickup.cartons == 1


def test_what_the_door_refuses_without_the_network(open_door) -> None:
    wrong = verdict(open_door.scan_text(B1))
    assert wrong.reason is DoorReason.WRONG_CARRIER and "goes with UPS, not USPS" in wrong.words
    for card in ("BADGE-0003", "BOX-M", "BIN-A-01-01", "TOTE-0042", "REASON-DAMAGED"):
        assert verdict(open_door.scan_text(card)).reason is DoorReason.NOT_A_LABEL, card
    order = verdict(open_door.scan_text("PL0000001"))
    assert order.reason is DoorReason.NOT_A_LABEL and "order number" in order.words
    for garbage in ("", "   ", "EZ1\x00\x01", "9" * 121):
        assert verdict(open_door.scan_text(garbage)).reason is DoorReason.UNREADABLE
    assert open_door.pickup.cartons == 0 and open_door.in_flight == 0


def test_an_unknown_label_goes_to_the_server_which_has_the_last_word(open_door) -> None:
    # Another station may have voided it, or it is no label of ours: only the server knows.
    request = open_door.scan_text("1Z-NOT-OURS")
    assert request == HandOver(pickup_id=7, barcode="1Z-NOT-OURS")
    answer = open_door.failed(
        request,
        Refused(status=404, detail="'1Z-NOT-OURS' is not one of our labels: keep the carton back"),
    )
    assert answer.kind == "rejected" and answer.reason is DoorReason.NOT_OURS
    assert answer.words.startswith("'1Z-NOT-OURS' is not one of our labels")
    assert open_door.pickup.cartons == 0 and not open_door.not_sent


def test_usps_routing_prefix_still_finds_the_carton(open_door) -> None:
    assert open_door.scan_text("42010001" + A1) == HandOver(pickup_id=7, barcode="42010001" + A1)
    open_door.cancel()
    assert verdict(open_door.scan_text("42010001" + B1)).reason is DoorReason.WRONG_CARRIER


def test_server_down_nothing_counted_and_the_carton_stays_on_a_scan_again_list(open_door) -> None:
    request = open_door.scan_text(A1)
    open_door.began(request)
    answer = open_door.failed(request, Unreachable(detail="ConnectError"))
    assert answer.reason is DoorReason.OFFLINE and "NOT handed over" in answer.words
    assert open_door.pickup.cartons == 0 and open_door.in_flight == 0
    assert A1 in open_door.not_sent and any(c.tracking_number == A1 for c in open_door.waiting)
    # The list from the server still has it waiting: the reminder stays.
    open_door.waiting_loaded(ROWS)
    assert A1 in open_door.not_sent
    # Scanned again once the server is back: counted, reminder gone.
    open_door.handed_over(request, handover_out(11, A1))
    assert open_door.pickup.cartons == 1 and not open_door.not_sent


def test_an_answer_lost_on_the_way_back_is_counted_once_on_the_rescan(open_door) -> None:
    # The server took the scan, the answer never arrived: the rescan is a "duplicate" for the
    # server but the first this door hears of it, so it counts here now, once.
    request = open_door.scan_text(A1)
    open_door.failed(request, Unreachable(detail="ReadTimeout"))
    assert open_door.pickup.cartons == 0
    rescan = open_door.handed_over(request, handover_out(11, A1, duplicate=True))
    assert rescan.kind == "accepted" and rescan.counted and open_door.pickup.cartons == 1
    again = open_door.handed_over(request, handover_out(11, A1, duplicate=True))
    assert again.reason is DoorReason.DUPLICATE and open_door.pickup.cartons == 1


def test_a_reminder_goes_when_the_server_no_longer_lists_the_carton_as_waiting(open_door) -> None:
    request = open_door.scan_text(A2)
    open_door.failed(request, Unreachable(detail="timeout"))
    open_door.waiting_loaded([r for r in ROWS if r.tracking_number != A2])
    assert open_door.not_sent == {}


@pytest.mark.parametrize(
    ("detail", "status", "reason"),
    [
        (
            "label EZ1 was VOIDED: do not ship this carton, take it back to the bench for a new "
            "label",
            422,
            DoorReason.VOIDED,
        ),
        (
            "the label EZ1 was never scanned onto the carton at the bench: take it back to be "
            "checked",
            422,
            DoorReason.NOT_LABELLED,
        ),
        ("this carton goes with UPS, not USPS: keep it back", 422, DoorReason.WRONG_CARRIER),
        ("pickup 7 is closed: open a new one", 422, DoorReason.PICKUP_CLOSED),
        ("'X' is not one of our labels: keep the carton back", 404, DoorReason.NOT_OURS),
        ("sign in with a badge first (X-Operator-Token)", 401, DoorReason.REFUSED),
    ],
)
def test_refusals_keep_the_servers_words(detail: str, status: int, reason: DoorReason) -> None:
    assert refusal_reason(Refused(status=status, detail=detail)) is reason


def test_a_pickup_closed_elsewhere_is_forgotten_here(open_door) -> None:
    request = open_door.scan_text(A1)
    answer = open_door.failed(
        request, Refused(status=422, detail="pickup 7 is closed: open a new one")
    )
    assert answer.reason is DoorReason.PICKUP_CLOSED and open_door.pickup is None
    assert open_door.scan_text("PICKUP:USPS") == OpenPickup(carrier="USPS")


def test_closing_card_closes_and_says_what_went(open_door) -> None:
    open_door.failed(open_door.scan_text(A2), Unreachable(detail="down"))
    request = open_door.scan_text("PICKUP:CLOSE")
    assert request == ClosePickup(pickup_id=7, carrier="USPS")
    offline = open_door.failed(request, Unreachable(detail="down"))
    assert "still open" in offline.words and open_door.pickup is not None
    answer = open_door.closed(pickup_out(cartons=4, state="closed"))
    assert answer.kind == "accepted" and "4 carton(s) handed over" in answer.words
    assert "1 scan(s) never reached the server" in answer.words
    assert open_door.pickup is None and open_door.not_sent == {}
    assert verdict(open_door.scan_text("PICKUP:CLOSE")).reason is DoorReason.NO_PICKUP


def test_offline_open_can_be_tried_again(door) -> None:
    request = door.scan_text("PICKUP:USPS")
    answer = door.failed(request, Unreachable(detail="down"))
    assert answer.reason is DoorReason.OFFLINE and "NOT open" in answer.words
    assert door.pickup is None
    assert door.scan_text("PICKUP:USPS") == OpenPickup(carrier="USPS")


def test_reprint_card_then_carton_or_its_order_number(open_door) -> None:
    armed = verdict(open_door.scan_text("CMD:REPRINT"))
    assert armed.kind == "needs" and "to reprint" in open_door.instruction()
    step = open_door.scan_text(A1)  # not a handover while a command waits for its carton
    assert isinstance(step, Reprint) and step.carton.package_id == 11
    assert open_door.armed is None
    done = open_door.reprinted(step)
    assert done.kind == "accepted" and "PL0000001 box 1" in done.words

    open_door.scan_text("CMD:REPRINT")
    by_order = open_door.scan_text("PL0000002")  # a smudged label: the order number will do
    assert isinstance(by_order, Reprint) and by_order.carton.tracking_number == B1
    open_door.scan_text("CMD:REPRINT")
    two = verdict(open_door.scan_text("PL0000001"))
    assert two.reason is DoorReason.AMBIGUOUS and "2 cartons" in two.words
    assert verdict(open_door.scan_text("PL0009999")).reason is DoorReason.NOT_WAITING


def test_with_no_pickup_open_carton_first_then_the_command(door) -> None:
    door.scan_text(B1)
    step = door.scan_text("CMD:REPRINT")
    assert isinstance(step, Reprint) and step.carton.tracking_number == B1
    door.scan_text("PL0000002")  # an order number selects its only carton
    assert door.selected is not None and door.selected.tracking_number == B1


def test_no_printer_no_reprint() -> None:
    door = DispatchSession(can_print=False)
    door.waiting_loaded(ROWS)
    assert verdict(door.scan_text("CMD:REPRINT")).reason is DoorReason.NO_PRINTER
    assert door.armed is None


def test_void_before_handover_takes_a_reason_card_and_the_carton_leaves_the_list(
    open_door,
) -> None:
    open_door.scan_text("CMD:VOID")
    ask = verdict(open_door.scan_text(A2))
    assert ask.kind == "needs" and "reason card" in ask.words
    wrong = verdict(open_door.scan_text(A1))  # still the reason step: nothing handed over
    assert wrong.reason is DoorReason.NEEDS_REASON and open_door.void_target is not None
    step = open_door.scan_text("REASON-DAMAGED-LABEL")
    assert isinstance(step, Void) and step.carton.tracking_number == A2
    assert "DAMAGED-LABEL" in step.reason
    out = PackageOut(
        id=12,
        package_no=2,
        provider="easypost",
        carrier="USPS",
        service="Ground",
        tracking_number=A2,
        state="voided",
    )
    done = open_door.voided(step, out)
    assert done.kind == "accepted" and "back to the bench" in done.words
    assert A2 not in {c.tracking_number for c in open_door.waiting}
    # The voided label turns up at the truck anyway: refused here, without the network.
    again = verdict(open_door.scan_text(A2))
    assert again.reason is DoorReason.VOIDED and "VOIDED" in again.words


def test_void_after_handover_waits_for_approval(open_door) -> None:
    request = open_door.scan_text(A1)
    open_door.handed_over(request, handover_out(11, A1))
    open_door.scan_text("CMD:VOID")
    open_door.scan_text(A1)  # handed over at this door: still known here
    step = open_door.scan_text("REASON-ADDRESS")
    assert isinstance(step, Void) and step.carton.package_id == 11
    approval = ApprovalOut(
        id=5,
        operation="void_after_handover",
        payload={},
        payload_hash="x",
        reason=step.reason,
        requested_by=1,
        state="pending",
        decided_by=None,
        decision_reason=None,
        result=None,
        created_at=AT,
    )
    answer = open_door.void_requested(step, approval)
    assert answer.kind == "needs" and "supervisor's approval (request 5)" in answer.words
    assert open_door.pending_voids[11].approval_id == 5
    open_door.scan_text("CMD:VOID")
    twice = verdict(open_door.scan_text(A1))
    assert twice.reason is DoorReason.AWAITING_APPROVAL


def test_escape_drops_what_is_armed(open_door) -> None:
    assert open_door.cancel() is False
    open_door.scan_text("CMD:VOID")
    open_door.scan_text(A1)
    assert open_door.void_target is not None
    assert open_door.cancel() is True
    assert open_door.void_target is None and open_door.armed is None
    assert open_door.scan_text(A1) == HandOver(pickup_id=7, barcode=A1)


def test_failed_reprint_and_void_say_so(open_door) -> None:
    open_door.scan_text("CMD:REPRINT")
    reprint = open_door.scan_text(A1)
    assert isinstance(reprint, Reprint)
    down = open_door.failed(reprint, Unreachable(detail="down"))
    assert down.reason is DoorReason.OFFLINE and "NOT reprinted" in down.words
    open_door.scan_text("CMD:VOID")
    open_door.scan_text(A1)
    void = open_door.scan_text("REASON-X")
    assert isinstance(void, Void)
    no = open_door.failed(void, Refused(status=422, detail="easypost refused the void: nope"))
    assert no.reason is DoorReason.REFUSED and "Label not voided: easypost refused" in no.words
    assert any(c.package_id == 11 for c in open_door.waiting)


def test_resume_only_an_open_pickup(door) -> None:
    door.resumed(pickup_out(state="closed"))
    assert door.pickup is None
    door.resumed(pickup_out(pid=9, cartons=3))
    assert door.pickup is not None and (door.pickup.id, door.pickup.cartons) == (9, 3)


def test_custody_exceptions_only(door) -> None:
    def ex(kind: str, n: int) -> ExceptionOut:
        return ExceptionOut(
            id=n,
            order_id=n,
            order_number=f"PL{n:07d}",
            kind=kind,
            reason=f"reason {n}",
            detail={},
            recommendation="trace it",
            state="open",
            actions=[],
            created_at=AT,
        )

    door.exceptions_loaded([ex("custody", 1), ex("stock_conflict", 2), ex("custody", 3)])
    assert [x.order_number for x in door.exceptions] == ["PL0000001", "PL0000003"]
    assert door.waiting_by_carrier() == {"USPS": 3, "UPS": 1}


def test_a_carton_handed_over_at_another_door_can_be_voided_with_approval(open_door) -> None:
    other_door = row(41, 4, 1, "EZ4000000001", "USPS", "handed_over")
    open_door.scan_text("CMD:VOID")
    unknown = verdict(open_door.scan_text(other_door.tracking_number))
    assert unknown.reason is DoorReason.NOT_WAITING  # not known here before the list arrives
    open_door.handed_loaded([other_door])
    open_door.scan_text("CMD:VOID")
    assert verdict(open_door.scan_text(other_door.tracking_number)).kind == "needs"
    step = open_door.scan_text("REASON-ADDRESS")
    assert isinstance(step, Void) and step.carton.package_id == 41


# -- voids waiting for a supervisor: what the door does with the decision ----------------------
def asked_void(
    door: DispatchSession, tracking: str, pid: int, approval_id: int, *, no: int = 1
) -> Void:
    """Hand the carton over, then ask for its void: the server answers with an approval."""
    request = door.scan_text(tracking)
    assert isinstance(request, HandOver)
    door.handed_over(request, handover_out(pid, tracking, no=no))
    door.scan_text("CMD:VOID")
    door.scan_text(tracking)
    step = door.scan_text("REASON-ADDRESS-CHANGED")
    assert isinstance(step, Void)
    door.void_requested(step, approval(approval_id, "pending"))
    return step


def approval(
    approval_id: int, state: str, *, reason: str | None = None, result: dict | None = None
) -> ApprovalItemOut:
    return ApprovalItemOut(
        id=approval_id,
        operation="void_after_handover",
        payload={},
        payload_hash="x",
        reason="voided at the dispatch door: ADDRESS-CHANGED",
        requested_by=1,
        state=state,
        decided_by=None if state == "pending" else 2,
        decision_reason=reason,
        result=result,
        created_at=AT,
        decided_by_name=None if state == "pending" else "Sam",
    )


def test_an_approved_void_voids_the_carton_at_the_door(open_door) -> None:
    asked_void(open_door, A1, 11, approval_id=5)
    assert open_door.pickup is not None and open_door.pickup.cartons == 1
    assert open_door.waiting_approvals() == (5,)
    # Undecided, or approved and still being carried out: nothing changes, nothing is said.
    for state in ("pending", "approved"):
        assert open_door.void_decided(approval(5, state)) is None
        assert 11 in open_door.pending_voids and 11 in open_door.handed
    said = open_door.void_decided(approval(5, "executed", reason="CHECKED"))
    assert said is not None and (said.kind, said.reason) == ("needs", DoorReason.VOIDED)
    assert said.words == (
        "Void of PL0000001 box 1 APPROVED: its label is VOIDED. Take the carton off the USPS "
        "pickup and back to the bench for a new label"
    )
    assert open_door.pending_voids == {} and open_door.waiting_approvals() == ()
    assert 11 not in open_door.handed and open_door.void_notices == {11: said.words}
    # The carton turns up at the truck again: refused here, without asking the server.
    again = verdict(open_door.scan_text(A1))
    assert again.reason is DoorReason.VOIDED
    # Said once: an overlapping refresh bringing the same answer says nothing more.
    assert open_door.void_decided(approval(5, "executed")) is None
    # The server's count of the open pickup (the voided carton has left it).
    open_door.pickup_loaded(pickup_out(cartons=0))
    assert open_door.pickup.cartons == 0
    # The truck leaves: the notice has done its work.
    open_door.closed(pickup_out(state="closed"))
    assert open_door.void_notices == {}


def test_a_refused_or_failed_void_says_why_and_the_carton_ships(open_door) -> None:
    asked_void(open_door, A1, 11, approval_id=5)
    asked_void(open_door, A2, 12, approval_id=6, no=2)
    assert open_door.waiting_approvals() == (5, 6)
    refused = open_door.void_decided(approval(6, "refused", reason="the address is fine"))
    assert refused is not None and (refused.kind, refused.reason) == (
        "rejected",
        DoorReason.REFUSED,
    )
    assert refused.words == (
        "Void of PL0000001 box 2 REFUSED by Sam (the address is fine): the label stays "
        "valid, the carton ships"
    )
    failure = {"error": "ValidationFailed", "detail": "easypost refused the void: too late"}
    failed = open_door.void_decided(approval(5, "failed", result=failure))
    assert failed is not None and failed.kind == "rejected"
    assert failed.words == (
        "Void of PL0000001 box 1 FAILED (easypost refused the void: too late): the label is "
        "NOT voided, ask a supervisor"
    )
    assert open_door.pending_voids == {}
    assert list(open_door.void_notices.values()) == [refused.words, failed.words]
    # Neither label was voided: both cartons stay handed over and scan as before.
    assert {11, 12} <= set(open_door.handed)
    assert open_door.scan_text(A1) == HandOver(pickup_id=7, barcode=A1)


def test_a_decision_without_words_and_a_request_this_door_never_made(open_door) -> None:
    asked_void(open_door, A1, 11, approval_id=5)
    assert open_door.void_decided(approval(99, "executed")) is None  # not ours: ignored
    assert 11 in open_door.pending_voids
    bare = ApprovalOut(**approval(5, "refused").model_dump(exclude={"words", "requested_by_name",
                       "decided_by_name", "decided_at"}))  # fmt: skip
    said = open_door.void_decided(bare)
    assert said is not None
    assert said.words == "Void of PL0000001 box 1 REFUSED: the label stays valid, the carton ships"


def test_the_open_pickups_count_from_the_server(open_door) -> None:
    open_door.pickup_loaded(pickup_out(pid=99, cartons=5))  # another pickup: not this door's
    assert open_door.pickup is not None and open_door.pickup.cartons == 0
    open_door.pickup_loaded(pickup_out(cartons=3))
    assert open_door.pickup.cartons == 3
    open_door.pickup_loaded(pickup_out(cartons=3, state="closed"))  # closed elsewhere
    assert open_door.pickup is None


@pytest.mark.parametrize(
    ("carrier", "card"),
    [("UPS", "PICKUP:UPS"), (" DHL Express ", "PICKUP:DHL Express"), ("A&B_1.2-3", None)],
)
def test_pickup_card_is_what_the_door_reads(carrier: str, card: str | None) -> None:
    text = pickup_card(carrier)
    assert card is None or text == card
    assert DispatchSession().scan_text(text) == OpenPickup(carrier=carrier.strip())


@pytest.mark.parametrize(
    ("carrier", "words"),
    [
        ("Close", "PICKUP:CLOSE closes a pickup"),
        ("close ", "PICKUP:CLOSE closes a pickup"),
        ("", "cannot go on a card"),
        ("Müller", "cannot go on a card"),
        ("<script>", "cannot go on a card"),
        ("X" * 61, "at most 60 characters"),
    ],
)
def test_pickup_card_refuses_what_the_door_would_misread(carrier: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        pickup_card(carrier)
