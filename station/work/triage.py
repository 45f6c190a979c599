"""Triage at the returns desk, one unit at a time (floor.md: nothing goes back to stock without a
recorded triage decision):

    unit label / unit barcode / quarantine bin -> the unit waiting for triage
    decision card (RESTOCK, DAMAGED BIN, SCRAP, RETURN TO VENDOR) -> restock: the shelf's bin
    -> the decision is sent to the server -> next unit

Pure: the session decides what each scan means; the view-model does the I/O it asks for
(`wants_list`, `to_send`) and reports back (`listed`, `list_failed`, `sent`, `send_failed`). The
server is the authority on every rule (a damaged unit never restocks, a high-value restock waits
for a second person): its refusal comes back in its own words. A decision keeps one idempotency
key from the moment it is complete until the server answers, so a retry never decides twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from shared.contract.returns import Decision, ReturnUnitOut, TriageIn, TriageOut
from shared.labels.returns import CONDITION_WORDS, DECISION_WORDS
from station.work.returns import FLAG_WORDS, Answer, Tone
from station.work.returns_scan import (
    ConditionScan,
    DecisionScan,
    TriageScan,
    UnitLabelScan,
    read_triage,
)
from station.work.scan import (
    BadgeScan,
    BinScan,
    ItemScan,
    ScanContext,
    UnknownScan,
    normalise_alias,
)


class TriageStep(StrEnum):
    LOADING = "loading"  # the list of units waiting for triage is on its way
    UNIT = "unit"  # scan a unit's label or barcode, or its quarantine bin
    DECISION = "decision"  # scan a decision card
    SHELF = "shelf"  # restock: put it on the shelf and scan the shelf's bin
    SENDING = "sending"  # the server is recording the decision
    RETRY = "retry"  # the server did not answer: the same scan again (or Enter)


@dataclass(frozen=True, kw_only=True)
class Chosen:
    unit: ReturnUnitOut
    decision: Decision | None = None
    bin: str | None = None
    key: str | None = None  # minted when the decision is complete; kept across retries


@dataclass(frozen=True, kw_only=True)
class WaitingRow:
    unit_id: int
    location: str
    what: str  # the SKU, or "not in catalog"
    condition: str  # in the cards' words
    flag: str | None  # in the desk's words
    chosen: bool


_DONE_WORDS = {
    "restocked": "back on the shelf in",
    "damaged": "moved to",
    "scrapped": "written off to",
    "vendor": "set aside for the vendor in",
}


def _new_key() -> str:
    return str(uuid.uuid4())


def _what(unit: ReturnUnitOut) -> str:
    return unit.sku or "the item (not in catalog)"


class TriageSession:
    def __init__(self, *, new_key: Callable[[], str] = _new_key) -> None:
        self._new_key = new_key
        self.step = TriageStep.LOADING
        self.waiting: tuple[ReturnUnitOut, ...] = ()
        self.loaded = False
        self.wants_list = True  # the view-model fetches the list, then calls `fetching`
        self.bin_filter: str | None = None  # a quarantine bin holding several units
        self.chosen: Chosen | None = None
        self.decided: list[TriageOut] = []  # what this desk recorded since triage opened
        self._context = ScanContext()

    # -- what the screen shows ---------------------------------------------------------
    @property
    def to_send(self) -> tuple[int, TriageIn] | None:
        c = self.chosen
        if self.step is not TriageStep.SENDING or c is None:
            return None
        assert c.decision is not None and c.key is not None
        return c.unit.id, TriageIn(key=c.key, decision=c.decision, bin=c.bin)

    def rows(self) -> tuple[WaitingRow, ...]:
        chosen = self.chosen.unit.id if self.chosen is not None else None
        return tuple(
            WaitingRow(unit_id=u.id, location=u.location, what=u.sku or "not in catalog",
                       condition=CONDITION_WORDS[u.condition],
                       flag=FLAG_WORDS[u.flag] if u.flag else None, chosen=u.id == chosen)
            for u in sorted(self.waiting, key=lambda u: (u.location, u.id))
            if self.bin_filter is None or u.location == self.bin_filter
        )  # fmt: skip

    def instruction(self) -> str:
        c = self.chosen
        if self.step is TriageStep.LOADING:
            return "Loading the units waiting for triage..."
        if self.step is TriageStep.UNIT:
            if self.bin_filter is not None:
                n = len(self._in_bin(self.bin_filter))
                return f"{n} units in {self.bin_filter}: scan the unit's label or barcode"
            if not self.waiting:
                return "No unit waits for triage (F8: back to receiving parcels)"
            return (
                f"{len(self.waiting)} unit(s) wait for triage: scan a unit's label or barcode, "
                "or its quarantine bin"
            )
        assert c is not None
        what = _what(c.unit)
        if self.step is TriageStep.DECISION:
            return (
                f"{what} ({CONDITION_WORDS[c.unit.condition]}) from {c.unit.location}: "
                "scan a decision card"
            )
        if self.step is TriageStep.SHELF:
            return f"Put {what} on the shelf and scan the shelf's bin"
        assert c.decision is not None
        if self.step is TriageStep.SENDING:
            return f"Recording {DECISION_WORDS[c.decision]} for {what}..."
        return f"Not recorded yet: scan {self._again()} again (or press Enter) to retry"

    # -- scans -----------------------------------------------------------------------------
    def scan_text(self, text: str, *, symbology_id: str | None = None) -> Answer:
        return self.apply(read_triage(text, symbology_id=symbology_id, context=self._context))

    def apply(self, scan: TriageScan) -> Answer:
        if isinstance(scan, BadgeScan):
            return _no("A badge: sign in from the login screen")
        if self.step is TriageStep.LOADING:
            self.wants_list = True  # a list that never came is asked for again
            return _no("Wait: loading the units waiting for triage")
        if self.step is TriageStep.SENDING:
            return _no("Wait: the decision is being recorded")
        if self.step is TriageStep.RETRY:
            return self._retry_scan(scan)
        if isinstance(scan, DecisionScan):
            return self._decision(scan.decision)
        if isinstance(scan, UnitLabelScan):
            return self._label(scan.unit_id)
        if isinstance(scan, BinScan):
            return self._bin(scan.location)
        if isinstance(scan, ItemScan):
            return self._item(scan)
        if isinstance(scan, ConditionScan):
            return _no("That is a condition card: triage takes a decision card (RESTOCK, "
                       "DAMAGED BIN, SCRAP, RETURN TO VENDOR)")  # fmt: skip
        if isinstance(scan, UnknownScan):
            return _no(f"Unknown barcode ({scan.reason}): scan a unit, its bin or a decision card")
        return _no("Scan a unit's label or barcode, its quarantine bin, or a decision card")

    def _label(self, unit_id: int) -> Answer:
        found = next((u for u in self.waiting if u.id == unit_id), None)
        if found is None:
            self.wants_list = True
            return _no(f"Unit {unit_id} is not waiting for triage (decided already, or not "
                       "received yet): the list is refreshed")  # fmt: skip
        return self._choose(found)

    def _bin(self, location: str) -> Answer:
        c = self.chosen
        if self.step is TriageStep.SHELF and c is not None:
            self.chosen = replace(c, bin=location, key=self._new_key())
            self.step = TriageStep.SENDING
            return Answer(tone=Tone.NEEDS, words=f"Recording {_what(c.unit)} in {location}...")
        here = self._in_bin(location)
        if not here:
            if c is not None:
                return _no(f"No unit waits for triage in {location}. To restock {_what(c.unit)}, "
                           "scan the RESTOCK card first, then the shelf's bin")  # fmt: skip
            return _no(f"No unit waits for triage in {location}")
        if len(here) == 1:
            self.bin_filter = None
            return self._choose(here[0])
        self.bin_filter, self.chosen, self.step = location, None, TriageStep.UNIT
        words = f"{len(here)} units in {location}: scan the unit's label or barcode"
        return Answer(tone=Tone.NEEDS, words=words)

    def _item(self, scan: ItemScan) -> Answer:
        where = f" in {self.bin_filter}" if self.bin_filter else ""
        found = [
            u
            for u in self.waiting
            if normalise_alias(u.barcode) == scan.code
            and (self.bin_filter is None or u.location == self.bin_filter)
            and (not scan.lot or not u.lot or u.lot == scan.lot)
            and (not scan.serial or not u.serial or u.serial == scan.serial)
        ]
        if not found:
            return _no(f"No unit with this barcode waits for triage{where}")
        # Look-alikes (same item, lot, serial, condition and bin) are the same to the books and
        # to the floor: the oldest one is taken. Units that differ need their label or bin.
        if len({(u.sku, u.lot, u.serial, u.condition, u.flag, u.location) for u in found}) > 1:
            bins = ", ".join(sorted({u.location for u in found}))
            return Answer(tone=Tone.NEEDS,
                          words=f"{len(found)} different units with this barcode wait ({bins}): "
                          "scan the unit's label, or its bin first")  # fmt: skip
        return self._choose(min(found, key=lambda u: u.id))

    def _choose(self, unit: ReturnUnitOut) -> Answer:
        self.chosen, self.step = Chosen(unit=unit), TriageStep.DECISION
        flag = f" FLAGGED ({FLAG_WORDS[unit.flag]})." if unit.flag else ""
        return Answer(tone=Tone.ACCEPTED if not unit.flag else Tone.NEEDS,
                      words=f"{_what(unit)}, {CONDITION_WORDS[unit.condition]}, from "
                      f"{unit.location}.{flag} Scan a decision card")  # fmt: skip

    def _decision(self, decision: Decision) -> Answer:
        c = self.chosen
        if c is None or self.step not in (TriageStep.DECISION, TriageStep.SHELF):
            return _no("Scan the unit first: its label, its barcode or its quarantine bin")
        if decision == "restock":
            self.chosen, self.step = replace(c, decision=decision, bin=None), TriageStep.SHELF
            return Answer(tone=Tone.ACCEPTED,
                          words=f"RESTOCK: put {_what(c.unit)} on the shelf and scan the "
                          "shelf's bin")  # fmt: skip
        self.chosen = replace(c, decision=decision, bin=None, key=self._new_key())
        self.step = TriageStep.SENDING
        return Answer(tone=Tone.NEEDS, words=f"Recording {DECISION_WORDS[decision]}...")

    def _retry_scan(self, scan: TriageScan) -> Answer:
        c = self.chosen
        assert c is not None
        if c.decision == "restock" and isinstance(scan, BinScan) and scan.location == c.bin:
            return self.retry()
        if (
            isinstance(scan, DecisionScan)
            and c.decision != "restock"
            and scan.decision == c.decision
        ):
            return self.retry()
        if isinstance(scan, BinScan | DecisionScan):
            # The first attempt may have landed: it must be answered before anything else.
            return _no(f"Not recorded yet: scan {self._again()} again to retry")
        return Answer(tone=Tone.NEEDS, words=self.instruction())

    def _again(self) -> str:
        c = self.chosen
        assert c is not None and c.decision is not None
        if c.decision == "restock":
            return f"bin {c.bin}"
        return f"the {DECISION_WORDS[c.decision]} card"

    def _in_bin(self, location: str) -> list[ReturnUnitOut]:
        return [u for u in self.waiting if u.location == location]

    # -- keys ------------------------------------------------------------------------------
    def retry(self) -> Answer:
        if self.step is not TriageStep.RETRY or self.chosen is None:
            return Answer(tone=Tone.NEEDS, words=self.instruction())
        self.step = TriageStep.SENDING
        return Answer(tone=Tone.NEEDS, words="Recording the decision again...")

    def escape(self) -> Answer | None:
        """Drop what is in progress; None when there is nothing to drop (the desk then leaves
        triage)."""
        if self.step in (TriageStep.DECISION, TriageStep.SHELF):
            self.chosen, self.step = None, TriageStep.UNIT
            return Answer(tone=Tone.NEEDS, words="Nothing decided: put the unit back in its bin")
        if self.step is TriageStep.RETRY:
            return _no("The decision may be recorded already: scan again to retry")
        if self.step is TriageStep.SENDING:
            return _no("Wait: the decision is being recorded")
        if self.step is TriageStep.UNIT and self.bin_filter is not None:
            self.bin_filter = None
            return Answer(tone=Tone.NEEDS, words="Every quarantine bin again")
        return None

    # -- what the server said ------------------------------------------------------------------
    def fetching(self) -> None:
        self.wants_list = False

    def listed(self, units: Sequence[ReturnUnitOut]) -> Answer | None:
        self.waiting = tuple(u for u in units if u.state == "quarantined")
        aliases = {u.barcode for u in self.waiting if not u.barcode.isdigit()}
        self._context = ScanContext(aliases=frozenset(aliases))
        first = not self.loaded
        self.loaded = True
        if self.step is TriageStep.LOADING:
            self.step = TriageStep.UNIT
        if self.bin_filter is not None and not self._in_bin(self.bin_filter):
            self.bin_filter = None
        c = self.chosen
        deciding = self.step in (TriageStep.DECISION, TriageStep.SHELF)
        if c is not None and deciding and not any(u.id == c.unit.id for u in self.waiting):
            self.chosen, self.step = None, TriageStep.UNIT
            return _no(f"{_what(c.unit)} was decided meanwhile (another desk?): "
                       "scan the next unit")  # fmt: skip
        if first:
            return Answer(tone=Tone.NEEDS, words=self.instruction())
        return None

    def list_failed(self, words: str) -> Answer | None:
        if self.loaded:
            return None  # the list we have still holds; the next decision refreshes it
        return _no(f"{words}. Triage needs the server: scan again to retry")

    def sent(self, out: TriageOut, *, key: str) -> Answer | None:
        c = self.chosen
        if c is None or c.key != key or self.step is not TriageStep.SENDING:
            return None
        self.chosen, self.step, self.wants_list = None, TriageStep.UNIT, True
        if out.state == "awaiting_approval":
            words = (
                f"RESTOCK of {_what(c.unit)} waits for a supervisor's approval "
                f"(request {out.approval_id}): leave it in {c.unit.location}"
            )
            return Answer(tone=Tone.NEEDS, words=words)
        self.decided.append(out)
        self.waiting = tuple(u for u in self.waiting if u.id != out.unit_id)
        if self.bin_filter is not None and not self._in_bin(self.bin_filter):
            self.bin_filter = None
        done = _DONE_WORDS.get(out.state, f"{out.state} in")
        return Answer(tone=Tone.ACCEPTED, words=f"{_what(c.unit)} {done} {out.location}")

    def send_failed(self, words: str, *, key: str, retry: bool) -> Answer | None:
        """`retry`: the server could not be reached (the same request goes again); else it
        refused: nothing was decided, and the clerk decides again (with a new key)."""
        c = self.chosen
        if c is None or c.key != key or self.step is not TriageStep.SENDING:
            return None
        if retry:
            self.step = TriageStep.RETRY
            return _no(f"{words}. Keep the unit: scan {self._again()} again to retry")
        self.wants_list = True  # the unit may have been decided elsewhere meanwhile
        if c.decision == "restock":
            self.chosen, self.step = replace(c, bin=None, key=None), TriageStep.SHELF
            return _no(f"{words}. Scan another shelf bin, or another decision card")
        self.chosen, self.step = replace(c, decision=None, key=None), TriageStep.DECISION
        return _no(f"{words}. Scan another decision card (Escape: put it back)")


def _no(words: str) -> Answer:
    return Answer(tone=Tone.REJECTED, words=words)
