"""Triage at the returns desk, pure: picking the unit by its label, its barcode or its bin,
decision cards, the shelf bin of a restock, look-alikes, garbage, and what happens when the server
answers, refuses, asks for approval, or does not answer at all."""

from __future__ import annotations

import itertools

from shared.contract.returns import ReturnUnitOut, TriageIn, TriageOut
from shared.labels.returns import (
    bin_label_text,
    condition_card_text,
    decision_card_text,
    unit_label_text,
)
from station.work.returns import Tone
from station.work.returns_scan import DecisionScan, UnitLabelScan, read_triage
from station.work.triage import TriageSession, TriageStep

MUG = "04006381333931"
SOCK = "05012345678900"
RESTOCK, DAMAGED, SCRAP, VENDOR = (
    decision_card_text(d)  # type: ignore[arg-type]
    for d in ("restock", "damaged", "scrap", "vendor")
)
Q1, Q2, SHELF = bin_label_text("Q-01"), bin_label_text("Q-02"), bin_label_text("A-01")


def unit(
    unit_id: int,
    *,
    barcode: str = MUG,
    sku: str | None = "MUG",
    location: str = "Q-01",
    condition: str = "sellable",
    flag: str | None = None,
    lot: str = "",
    serial: str = "",
) -> ReturnUnitOut:
    return ReturnUnitOut(
        id=unit_id, rma_id=7, line_no=None if flag else 1, sku=sku, barcode=barcode, lot=lot,
        serial=serial, condition=condition, flag=flag, location=location, state="quarantined",
        refund=None,
    )  # type: ignore[arg-type]  # fmt: skip


def session(*units: ReturnUnitOut) -> TriageSession:
    keys = (f"key-{n:04d}" for n in itertools.count(1))
    s = TriageSession(new_key=lambda: next(keys))
    assert s.wants_list and s.step is TriageStep.LOADING
    s.fetching()
    assert s.scan_text(Q1).words.startswith("Wait") and s.wants_list  # asked for again
    s.fetching()
    first = s.listed(list(units))
    assert first is not None and s.step is TriageStep.UNIT and not s.wants_list
    return s


def out(unit_id: int, state: str, decision: str, location: str | None, approval=None):
    return TriageOut(unit_id=unit_id, state=state, decision=decision, location=location,
                     approval_id=approval)  # type: ignore[arg-type]  # fmt: skip


def test_triage_cards_and_labels_are_read_before_the_floor_rules() -> None:
    assert read_triage(SCRAP) == DecisionScan(raw=SCRAP, decision="scrap")
    assert read_triage(unit_label_text(12)) == UnitLabelScan(raw="RTN-0000012", unit_id=12)


def test_a_unit_label_then_restock_to_a_shelf_bin_is_one_request_with_one_key() -> None:
    s = session(unit(1), unit(2, location="Q-02"))
    chosen = s.scan_text(unit_label_text(2))
    assert chosen.tone is Tone.ACCEPTED and "from Q-02" in chosen.words
    assert s.step is TriageStep.DECISION and [r.chosen for r in s.rows()] == [False, True]
    answer = s.scan_text(RESTOCK)
    assert answer.tone is Tone.ACCEPTED and s.step is TriageStep.SHELF and s.to_send is None
    assert "scan the shelf's bin" in s.instruction()
    s.scan_text(SHELF)
    assert s.to_send == (2, TriageIn(key="key-0001", decision="restock", bin="A-01"))
    assert s.scan_text(Q1).words == "Wait: the decision is being recorded"
    assert s.sent(out(2, "restocked", "restock", "A-01"), key="another") is None
    done = s.sent(out(2, "restocked", "restock", "A-01"), key="key-0001")
    assert done is not None and done.tone is Tone.ACCEPTED
    assert done.words == "MUG back on the shelf in A-01"
    assert [u.id for u in s.waiting] == [1] and s.wants_list and s.step is TriageStep.UNIT
    assert len(s.decided) == 1


def test_a_bin_with_one_unit_picks_it_and_a_bin_with_several_asks_which() -> None:
    s = session(unit(1), unit(2, barcode=SOCK, sku="SOCK"), unit(3, location="Q-02"))
    assert s.scan_text(Q2).tone is Tone.ACCEPTED and s.chosen is not None
    assert s.chosen.unit.id == 3
    assert s.escape() is not None and s.step is TriageStep.UNIT and s.chosen is None
    several = s.scan_text(Q1)
    assert several.tone is Tone.NEEDS and "2 units in Q-01" in several.words
    assert s.bin_filter == "Q-01" and [r.unit_id for r in s.rows()] == [1, 2]
    s.scan_text(f"]E0{SOCK[1:]}")  # the sock's EAN-13, as the scanner reads it
    assert s.chosen is not None and s.chosen.unit.id == 2
    assert s.scan_text(SCRAP).tone is Tone.NEEDS
    assert s.to_send == (2, TriageIn(key="key-0001", decision="scrap"))
    s.sent(out(2, "scrapped", "scrap", "ADJUSTMENT-LOSS"), key="key-0001")
    assert s.bin_filter == "Q-01"  # the mug is still in it
    assert s.scan_text(bin_label_text("Q-09")).words == "No unit waits for triage in Q-09"


def test_look_alikes_take_the_oldest_and_different_units_need_their_label() -> None:
    s = session(unit(5), unit(4), unit(6, condition="damaged", location="Q-02"))
    ambiguous = s.scan_text(MUG)
    assert ambiguous.tone is Tone.NEEDS and "3 different units" in ambiguous.words
    assert s.chosen is None
    s.scan_text(Q1)  # two sellable mugs in one bin: the same to the books
    s.scan_text(MUG)
    assert s.chosen is not None and s.chosen.unit.id == 4
    lots = session(unit(1, lot="L1"), unit(2, lot="L2"))
    lots.scan_text("]d2010400638133393110L2")  # GS1: GTIN + lot L2
    assert lots.chosen is not None and lots.chosen.unit.id == 2


def test_garbage_and_the_wrong_cards_are_refused_with_words() -> None:
    s = session(unit(1))
    for text, words in (
        (RESTOCK, "Scan the unit first"),
        (condition_card_text("damaged"), "condition card"),
        ("\x00\x01junk", "Unknown barcode"),
        (SOCK, "No unit with this barcode"),
        (unit_label_text(99), "Unit 99 is not waiting"),
        ("BADGE-0042", "badge"),
        ("PL0000003", "Scan a unit's label"),
    ):
        answer = s.scan_text(text)
        assert answer.tone is Tone.REJECTED and words in answer.words, (text, answer)
        assert s.chosen is None and s.step is TriageStep.UNIT
    assert s.wants_list  # an unknown unit label refreshes the list
    s.scan_text(MUG)
    wrong = s.scan_text(bin_label_text("B-07"))  # a shelf bin before the RESTOCK card
    assert wrong.tone is Tone.REJECTED and "RESTOCK card first" in wrong.words


def test_flagged_units_say_so_and_the_server_refusal_comes_back_in_its_words() -> None:
    s = session(unit(1, condition="damaged", flag="not_on_order"))
    chosen = s.scan_text(Q1)
    assert chosen.tone is Tone.NEEDS and "FLAGGED (NOT ON THIS ORDER)" in chosen.words
    s.scan_text(RESTOCK)
    s.scan_text(SHELF)
    sending = s.to_send
    assert sending is not None
    refused = s.send_failed(
        "Server said no: a unit recorded as damaged cannot go back to stock",
        key=sending[1].key, retry=False,
    )  # fmt: skip
    assert refused is not None and refused.tone is Tone.REJECTED
    assert "cannot go back to stock" in refused.words and s.step is TriageStep.SHELF
    assert s.wants_list
    s.scan_text(DAMAGED)  # the clerk decides otherwise: a new key, no bin
    again = s.to_send
    assert again is not None and again[1] == TriageIn(key="key-0002", decision="damaged")
    refused = s.send_failed("Server said no: x", key="key-0002", retry=False)
    assert refused is not None and s.step is TriageStep.DECISION and s.to_send is None


def test_a_high_value_restock_waits_for_approval_in_amber_and_the_unit_stays() -> None:
    s = session(unit(1))
    for text in (Q1, RESTOCK, SHELF):
        s.scan_text(text)
    answer = s.sent(out(1, "awaiting_approval", "restock", "A-01", approval=12), key="key-0001")
    assert answer is not None and answer.tone is Tone.NEEDS
    assert "supervisor's approval (request 12): leave it in Q-01" in answer.words
    assert [u.id for u in s.waiting] == [1] and s.decided == [] and s.step is TriageStep.UNIT


def test_no_answer_keeps_the_key_until_the_same_scan_or_enter() -> None:
    s = session(unit(1), unit(2, location="Q-02"))
    for text in (Q1, VENDOR):
        s.scan_text(text)
    first = s.to_send
    assert first is not None
    failed = s.send_failed("Server not reachable", key=first[1].key, retry=True)
    assert failed is not None and "scan the RETURN TO VENDOR card again" in failed.words
    assert s.step is TriageStep.RETRY and s.to_send is None
    assert s.escape() is not None and s.step is TriageStep.RETRY  # it may have landed
    assert s.scan_text(SCRAP).tone is Tone.REJECTED and s.step is TriageStep.RETRY
    assert s.scan_text(Q2).tone is Tone.REJECTED  # no other unit before this one is answered
    s.scan_text(VENDOR)
    assert s.to_send == first
    s.send_failed("Server not reachable", key=first[1].key, retry=True)
    s.retry()  # Enter does the same
    assert s.to_send == first


def test_a_list_that_no_longer_holds_the_unit_in_hand_drops_it() -> None:
    s = session(unit(1), unit(2))
    s.scan_text(unit_label_text(1))
    gone = s.listed([unit(2)])  # decided at another desk meanwhile
    assert gone is not None and gone.tone is Tone.REJECTED and s.chosen is None
    assert s.listed([unit(2)]) is None  # a refresh says nothing when nothing changed
    assert s.list_failed("Server not reachable") is None  # the list we have still holds
    fresh = TriageSession()
    failed = fresh.list_failed("Server not reachable")
    assert failed is not None and "Triage needs the server" in failed.words


def test_escape_steps_back_then_says_there_is_nothing_to_drop() -> None:
    s = session(unit(1), unit(2))
    s.scan_text(Q1)
    s.scan_text(MUG)
    s.scan_text(RESTOCK)
    assert s.escape() is not None and s.step is TriageStep.UNIT and s.bin_filter == "Q-01"
    assert s.escape() is not None and s.bin_filter is None
    assert s.escape() is None  # the desk leaves triage
