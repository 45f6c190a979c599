"""An in-memory returns server for tests and the demo: it answers like the real one (flags what is
not on the RMA, lands a replayed key once, refuses a bin that is not quarantine, refuses to restock
a damaged unit, lets a high-value restock wait for approval, all in the server's words) and can be
switched offline, or made to lose its answer after recording (a timeout after commit)."""

from __future__ import annotations

import threading
from collections.abc import Iterable

from shared.contract.returns import (
    Flag,
    QuarantineBinOut,
    ReturnUnitIn,
    ReturnUnitOut,
    RmaOut,
    TriageIn,
    TriageOut,
)
from station.sync.client import ServerRefused, ServerUnavailable
from station.work.scan import normalise_alias

_AFTER = {"restock": "restocked", "damaged": "damaged", "scrap": "scrapped", "vendor": "vendor"}
_VIRTUAL = {"damaged": "DAMAGED", "scrap": "ADJUSTMENT-LOSS", "vendor": "VENDOR"}


class FakeReturns:
    def __init__(
        self,
        *,
        rmas: Iterable[RmaOut] = (),
        bins: Iterable[str] = ("Q-01", "Q-02"),
        shelves: Iterable[str] = ("A-01", "A-02"),
        waiting: Iterable[ReturnUnitOut] = (),
        needs_approval: Iterable[int] = (),
    ) -> None:
        self.online = True
        # Record the next receipt or decision, then fail as if the answer was lost on the way.
        self.drop_next_answer = False
        self._lock = threading.Lock()
        self._rmas = {r.id: r for r in rmas}
        self._bins = list(bins)
        self._shelves = set(shelves)
        # Units whose restock is high-value (a second person must approve it).
        self._needs_approval = set(needs_approval)
        self.recorded: dict[str, ReturnUnitOut] = {}  # by idempotency key, each unit once
        for n, unit in enumerate(waiting):
            self.recorded[f"seeded-{n}"] = unit
        self.decisions: dict[str, TriageOut] = {}  # by idempotency key, each decision once
        self.lookups: list[str] = []

    def _check(self) -> None:
        if not self.online:
            raise ServerUnavailable("fake returns server is offline")

    def _answered(self) -> None:
        if self.drop_next_answer:
            self.drop_next_answer = False
            raise ServerUnavailable("the answer was lost")

    def lookup(self, *, code: str) -> RmaOut:
        self._check()
        with self._lock:
            self.lookups.append(code)
            for rma in self._rmas.values():
                if code in (rma.number, rma.order_number):
                    return rma
        raise ServerRefused(status=404, detail=f"no RMA, order or parcel is known as {code}")

    def receive(self, *, rma_id: int, unit: ReturnUnitIn) -> ReturnUnitOut:
        self._check()
        with self._lock:
            done = self.recorded.get(unit.key)
            if done is None:
                done = self._record(rma_id, unit)
                self.recorded[unit.key] = done
            self._answered()
            return done

    def _record(self, rma_id: int, unit: ReturnUnitIn) -> ReturnUnitOut:
        rma = self._rmas.get(rma_id)
        if rma is None:
            raise ServerRefused(status=404, detail=f"RMA {rma_id} does not exist")
        if unit.bin not in self._bins:
            raise ServerRefused(status=422, detail=f"{unit.bin} is not a quarantine bin")
        counted = [u for u in self.recorded.values() if u.rma_id == rma_id and u.line_no]
        line_no: int | None = None
        flag: Flag | None = "not_on_order"
        sku: str | None = None
        for line in rma.lines:
            if unit.barcode in {normalise_alias(b.value) for b in line.barcodes}:
                sku = line.sku
                if sum(1 for u in counted if u.line_no == line.line_no) < line.qty - line.received:
                    line_no, flag = line.line_no, None
                else:
                    flag = "not_authorised"
                break
        return ReturnUnitOut(
            id=max((u.id for u in self.recorded.values()), default=0) + 1, rma_id=rma_id,
            line_no=line_no, sku=sku, barcode=unit.barcode, lot=unit.lot, serial=unit.serial,
            condition=unit.condition, flag=flag, location=unit.bin, state="quarantined",
            refund="triggered" if line_no else None,
        )  # fmt: skip

    def triage(self, *, unit_id: int, decision: TriageIn) -> TriageOut:
        self._check()
        with self._lock:
            done = self.decisions.get(decision.key)
            if done is None:
                done = self._decide(unit_id, decision)
                self.decisions[decision.key] = done
            self._answered()
            return done

    def _decide(self, unit_id: int, decision: TriageIn) -> TriageOut:
        key, unit = next(
            ((k, u) for k, u in self.recorded.items() if u.id == unit_id), (None, None)
        )
        if key is None or unit is None:
            raise ServerRefused(status=404, detail=f"returned unit {unit_id} does not exist")
        if unit.state != "quarantined":
            raise ServerRefused(status=422, detail=f"this unit was already triaged ({unit.state})")
        choice = decision.decision
        if choice == "restock" and unit.condition not in ("sellable", "opened"):
            words = unit.condition.replace("_", " ")
            raise ServerRefused(
                status=422, detail=f"a unit recorded as {words} cannot go back to stock"
            )
        if unit.sku is None and choice in ("restock", "damaged"):
            raise ServerRefused(status=422, detail="the item is not in the catalog: it can only "
                                "be scrapped or sent to the vendor")  # fmt: skip
        if choice == "restock":
            if not decision.bin:
                raise ServerRefused(status=422, detail="a restock needs the bin the unit goes into")
            if decision.bin in self._bins:
                raise ServerRefused(status=422, detail=f"{decision.bin} is not a bin bin")
            if decision.bin not in self._shelves:
                raise ServerRefused(status=404, detail=f"there is no bin {decision.bin}")
        elif decision.bin:
            raise ServerRefused(status=422, detail=f"a {choice} decision takes no bin")
        if choice == "restock" and unit_id in self._needs_approval:
            return TriageOut(unit_id=unit_id, state="awaiting_approval", decision=choice,
                             location=decision.bin, approval_id=100 + unit_id)  # fmt: skip
        where = decision.bin or _VIRTUAL[choice]
        self.recorded[key] = unit.model_copy(update={"state": _AFTER[choice], "location": where})
        return TriageOut(unit_id=unit_id, state=_AFTER[choice], decision=choice, location=where)

    def quarantine_bins(self) -> list[QuarantineBinOut]:
        self._check()
        return [QuarantineBinOut(code=b, warehouse="AMS") for b in self._bins]

    def units(self, *, state: str) -> list[ReturnUnitOut]:
        self._check()
        with self._lock:
            found = [u for u in self.recorded.values() if u.state == state]
        return sorted(found, key=lambda u: u.id)
