"""An in-memory returns server for tests and the demo: it answers like the real one (flags what is
not on the RMA, lands a replayed key once, refuses a bin that is not quarantine) and can be
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


class FakeReturns:
    def __init__(
        self, *, rmas: Iterable[RmaOut] = (), bins: Iterable[str] = ("Q-01", "Q-02")
    ) -> None:
        self.online = True
        # Record the next receipt, then fail as if the answer was lost on the way back.
        self.drop_next_answer = False
        self._lock = threading.Lock()
        self._rmas = {r.id: r for r in rmas}
        self._bins = list(bins)
        self.units: dict[str, ReturnUnitOut] = {}  # by idempotency key, each unit once
        self.lookups: list[str] = []

    def _check(self) -> None:
        if not self.online:
            raise ServerUnavailable("fake returns server is offline")

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
            done = self.units.get(unit.key)
            if done is None:
                done = self._record(rma_id, unit)
                self.units[unit.key] = done
            if self.drop_next_answer:
                self.drop_next_answer = False
                raise ServerUnavailable("the answer was lost")
            return done

    def _record(self, rma_id: int, unit: ReturnUnitIn) -> ReturnUnitOut:
        rma = self._rmas.get(rma_id)
        if rma is None:
            raise ServerRefused(status=404, detail=f"RMA {rma_id} does not exist")
        if unit.bin not in self._bins:
            raise ServerRefused(status=422, detail=f"{unit.bin} is not a quarantine bin")
        counted = [u for u in self.units.values() if u.rma_id == rma_id and u.line_no]
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
            id=len(self.units) + 1, rma_id=rma_id, line_no=line_no, sku=sku,
            barcode=unit.barcode, lot=unit.lot, serial=unit.serial, condition=unit.condition,
            flag=flag, location=unit.bin, state="quarantined",
            refund="triggered" if line_no else None,
        )  # fmt: skip

    def triage(self, *, unit_id: int, decision: TriageIn) -> TriageOut:
        self._check()
        return TriageOut(unit_id=unit_id, state="restocked", decision=decision.decision,
                         location=decision.bin)  # fmt: skip

    def quarantine_bins(self) -> list[QuarantineBinOut]:
        self._check()
        return [QuarantineBinOut(code=b, warehouse="AMS") for b in self._bins]
