"""The returns desk session, pure: parcel -> unit -> condition card -> bin -> sent, the flags,
garbage, and what happens when the server answers late, refuses, or does not answer at all."""

from __future__ import annotations

import itertools
from decimal import Decimal

from shared.contract.returns import (
    ReturnBarcodeOut,
    ReturnUnitIn,
    ReturnUnitOut,
    RmaLineOut,
    RmaOut,
)
from shared.labels.returns import bin_label_text, condition_card_text
from station.work.returns import ReturnsSession, Step, Tone
from station.work.returns_scan import ConditionScan, RmaScan, read_desk
from station.work.scan import BinScan

MUG = "4006381333931"
SOCK = "5012345678900"
OTHER = "9780201379624"
DAMAGED = condition_card_text("damaged")
SELLABLE = condition_card_text("sellable")
Q1 = bin_label_text("Q-01")


def rma(*, received: int = 0) -> RmaOut:
    return RmaOut(
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
                qty=2,
                received=received,
                unit_price=Decimal("9.50"),
                track_lot=False,
                barcodes=[
                    ReturnBarcodeOut(value=MUG, units=1),
                    ReturnBarcodeOut(value="MUG-OLD", units=1),
                    ReturnBarcodeOut(value="MUG-6", units=6),
                ],
            ),
        ],
        units=[],
    )


def session() -> ReturnsSession:
    keys = (f"key-{n:04d}" for n in itertools.count(1))
    return ReturnsSession(new_key=lambda: next(keys))


def opened(*, received: int = 0) -> ReturnsSession:
    s = session()
    s.scan_text("RMA0000007")
    assert s.step is Step.LOOKING_UP and s.lookup_code == "RMA0000007"
    answer = s.opened(rma(received=received), code="RMA0000007")
    assert answer is not None and answer.tone is Tone.ACCEPTED
    return s


def served(unit: ReturnUnitIn, *, line_no: int | None = 1, flag: str | None = None):
    return ReturnUnitOut(
        id=1,
        rma_id=7,
        line_no=line_no,
        sku="MUG" if line_no else None,
        barcode=unit.barcode,
        lot=unit.lot,
        serial=unit.serial,
        condition=unit.condition,
        flag=flag,
        location=unit.bin,
        state="quarantined",
        refund="triggered" if line_no else None,
    )  # type: ignore[arg-type]


def test_desk_cards_are_recognised_before_the_floor_rules() -> None:
    assert read_desk(DAMAGED) == ConditionScan(raw=DAMAGED, condition="damaged")
    assert read_desk(" RMA0000007 ") == RmaScan(raw=" RMA0000007 ", number="RMA0000007")
    assert read_desk(Q1) == BinScan(raw=Q1, location="Q-01")  # the printed bin label


def test_a_matched_unit_goes_condition_then_bin_then_to_the_server() -> None:
    s = opened()
    assert s.scan_text(MUG).tone is Tone.ACCEPTED and s.step is Step.CONDITION
    assert s.scan_text(Q1).tone is Tone.REJECTED and s.step is Step.CONDITION  # card first
    assert s.scan_text(DAMAGED).tone is Tone.ACCEPTED and s.step is Step.BIN
    assert s.to_send is None
    s.scan_text(Q1)
    sent = s.to_send
    assert sent == ReturnUnitIn(key="key-0001", barcode="0" + MUG, condition="damaged", bin="Q-01")
    assert s.scan_text(MUG).words == "Wait: the unit is being recorded"
    answer = s.sent(served(sent), key=sent.key)
    assert answer is not None and answer.tone is Tone.ACCEPTED and "Q-01" in answer.words
    assert s.step is Step.UNIT and s.lines()[0].received == 1


def test_units_not_on_the_rma_are_flagged_loudly_and_still_recorded() -> None:
    s = opened(received=1)
    first = s.scan_text(OTHER)
    assert first.tone is Tone.REJECTED and "NOT ON THIS ORDER" in first.words
    assert s.pending is not None and s.pending.flag == "not_on_order"
    s.scan_text(SELLABLE)
    s.scan_text(Q1)
    unit = s.to_send
    assert unit is not None and unit.barcode == "0" + OTHER
    flagged = s.sent(served(unit, line_no=None, flag="not_on_order"), key=unit.key)
    assert flagged is not None and flagged.tone is Tone.NEEDS and "FLAGGED" in flagged.words
    assert s.flagged == 1

    s.scan_text("MUG-OLD")  # an old internal alias is still the mug
    s.scan_text(SELLABLE)
    s.scan_text(Q1)
    unit = s.to_send
    assert unit is not None and s.sent(served(unit), key=unit.key) is not None
    extra = s.scan_text(MUG)  # authorised 2: one before, one now, this is a third
    assert extra.tone is Tone.REJECTED and "THAN AUTHORISED" in extra.words
    assert s.pending is not None and s.pending.flag == "not_authorised"


def test_garbage_cases_and_cards_are_not_units() -> None:
    s = opened()
    for text, words in (
        ("4006381333932", "Unknown barcode"),  # bad check digit
        ("\x00\x01junk", "Unknown barcode"),
        ("MUG-6", "case barcode"),
        (DAMAGED, "Scan the unit first"),
        ("PL0000099", "Another parcel"),
        ("BADGE-0042", "badge"),
    ):
        answer = s.scan_text(text)
        assert answer.tone is Tone.REJECTED and words in answer.words, (text, answer)
        assert s.step is Step.UNIT and s.pending is None


def test_parcel_codes_and_what_cannot_be_one() -> None:
    for code in ("PL0000003", "1Z999AA10123456784", "RMA0000007", "JD014600006281234567"):
        s = session()
        assert s.scan_text(code).tone is Tone.NEEDS and s.lookup_code == code.strip()
    for text in (DAMAGED, Q1, "BADGE-0001", "\x07bell", "ab"):
        s = session()
        assert s.scan_text(text).tone is Tone.REJECTED and s.step is Step.PARCEL


def test_a_late_or_failed_lookup_and_escape() -> None:
    s = session()
    s.scan_text("PL0000003")
    assert s.scan_text(MUG).words.startswith("Wait")
    failed = s.lookup_failed("Server said no: no open RMA", code="PL0000003")
    assert failed is not None and failed.tone is Tone.REJECTED and s.step is Step.PARCEL
    s.scan_text("PL0000003")
    assert s.escape() is not None and s.step is Step.PARCEL
    assert s.opened(rma(), code="PL0000003") is None  # cancelled: the late answer is ignored
    assert s.escape() is None  # nothing to drop: the bench may sign the clerk out


def test_no_answer_keeps_the_unit_and_its_key_until_the_same_bin_is_scanned_again() -> None:
    s = opened()
    for text in (MUG, SELLABLE, Q1):
        s.scan_text(text)
    first = s.to_send
    assert first is not None
    assert s.sent(served(first), key="another-key") is None  # not this unit's answer
    answer = s.send_failed("Server not reachable", key=first.key, retry=True)
    assert answer is not None and answer.tone is Tone.REJECTED and s.step is Step.RETRY
    assert s.escape() is not None and s.step is Step.RETRY  # it may be recorded already
    assert s.scan_text(bin_label_text("Q-02")).tone is Tone.REJECTED
    assert s.step is Step.RETRY
    s.scan_text(Q1)
    assert s.to_send == first  # the same request, the same key
    s.send_failed("Server not reachable", key=first.key, retry=True)
    s.retry()  # Enter does the same
    assert s.to_send == first


def test_a_refusal_means_nothing_was_recorded_so_another_bin_gets_a_new_key() -> None:
    s = opened()
    for text in (MUG, SELLABLE, bin_label_text("A-01")):
        s.scan_text(text)
    first = s.to_send
    assert first is not None
    s.send_failed("Server said no: A-01 is not a quarantine bin", key=first.key, retry=False)
    assert s.step is Step.BIN and s.to_send is None
    s.scan_text(Q1)
    second = s.to_send
    assert second is not None and second.key != first.key and second.bin == "Q-01"
    refused = s.escape()
    assert refused is not None and refused.tone is Tone.REJECTED and s.step is Step.SENDING


def test_escape_drops_a_unit_in_hand_then_closes_the_parcel() -> None:
    s = opened()
    s.scan_text(MUG)
    assert s.escape() is not None and s.step is Step.UNIT and s.pending is None
    closed = s.escape()
    assert closed is not None and "RMA0000007 closed" in closed.words
    assert s.step is Step.PARCEL and s.rma is None
