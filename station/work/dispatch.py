"""The dispatch door: which carrier's pickup is open, what each scan there means, the words for
every outcome, and the counts the door shows.

Unlike the packing bench, the door cannot verify a carton on its own: only the server knows
whether a label was voided at another station, never scanned onto its carton at the bench, or is
ours at all. So a carton scan becomes a request (`HandOver`) and its verdict arrives with the
server's answer (`handed_over` / `failed`). The session refuses locally, at once and without the
network, only what it knows for certain: no pickup open, a floor card instead of a label, a
carton from the waiting list that goes with another carrier, a label this door voided itself.

A carton counts only when the server has confirmed the handover. When the server cannot be
reached the carton is *not* counted and stays on a "scan again" list; nothing is queued to be
sent later, because a handover is a physical act the loader must confirm again.

Cards (Code 128, the floor's own): `PICKUP:<carrier>` opens that carrier's pickup,
`PICKUP:CLOSE` closes it when the truck leaves, `CMD:REPRINT` / `CMD:VOID` then the carton (or
its order number) reprint or void a label; a void then takes a reason card. With no pickup open
a scanned carton is selected, and a command card that follows acts on it.

A void of a carton already handed over waits for a supervisor's approval; the door asks after
it at each list refresh and says, once and then on its attention list, what became of it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import replace

from shared.contract.approvals import ApprovalItemOut
from shared.contract.custody import HandoverOut, PickupOut, WaitingPackageOut
from shared.contract.orders import ExceptionOut
from shared.contract.shipping import PackageOut
from shared.contract.stations import ApprovalOut
from shared.tracking import tracking_matches
from station.work.door import (
    Carton,
    ClosePickup,
    Command,
    CustodyException,
    DoorReason,
    DoorVerdict,
    Failure,
    HandOver,
    OpenPickup,
    PendingVoid,
    Pickup,
    Refused,
    Reprint,
    Request,
    Unreachable,
    Void,
    carton_of,
    refusal_reason,
)
from station.work.scan import (
    BadgeScan,
    BinScan,
    BoxTypeScan,
    OrderScan,
    ReasonScan,
    ToteScan,
    read_text,
)

PICKUP_PREFIX = "PICKUP:"
CLOSE_CARD = "PICKUP:CLOSE"
REPRINT_CARD = "CMD:REPRINT"
VOID_CARD = "CMD:VOID"
# Carrier names as the carriers spell them ("USPS", "UPS", "FedEx", "DHL Express").
_CARRIER = re.compile(r"[A-Za-z0-9][A-Za-z0-9 &._-]{0,59}")
MAX_BARCODE = 120  # HandoverIn's limit: longer is no label of ours


def pickup_card(carrier: str) -> str:
    """The text of the card that opens `carrier`'s pickup, as the door reads it (the printed
    card sheets build theirs here); ValueError, in words, for a name the door would not read
    as that carrier."""
    name = carrier.strip()
    if not _CARRIER.fullmatch(name):
        raise ValueError(
            f"carrier {carrier!r} cannot go on a card: letters, digits, spaces and & . _ - "
            "only, at most 60 characters"
        )
    text = PICKUP_PREFIX + name
    if text.upper() == CLOSE_CARD:  # the door would close the pickup instead
        raise ValueError(f"a carrier cannot be called {name!r}: {CLOSE_CARD} closes a pickup")
    return text


class DispatchSession:
    def __init__(self, *, can_print: bool = True) -> None:
        self.can_print = can_print
        self.pickup: Pickup | None = None
        self.waiting: tuple[Carton, ...] = ()
        self.exceptions: tuple[CustodyException, ...] = ()
        # Cartons this door handed over since it started (a void of one needs approval).
        self.handed: dict[int, Carton] = {}
        self.pending_voids: dict[int, PendingVoid] = {}  # package id -> the approval asked
        # What became of those approvals, in words, until the truck leaves (PICKUP:CLOSE).
        self.void_notices: dict[int, str] = {}  # package id -> words
        # Handover scans the server never answered: NOT counted, the loader scans them again.
        self.not_sent: dict[str, str] = {}  # barcode as scanned -> when/why, in words
        self._voided: set[str] = set()  # tracking numbers voided here
        self._opening: str | None = None
        self._armed: Command | None = None
        self._void_target: Carton | None = None
        self._selected: Carton | None = None
        self.in_flight = 0

    # -- reading -------------------------------------------------------------------------------
    @property
    def armed(self) -> Command | None:
        return self._armed

    @property
    def void_target(self) -> Carton | None:
        return self._void_target

    @property
    def selected(self) -> Carton | None:
        return self._selected

    def waiting_for(self, carrier: str) -> tuple[Carton, ...]:
        return tuple(c for c in self.waiting if _same(c.carrier, carrier))

    def waiting_by_carrier(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for c in self.waiting:
            counts[c.carrier] = counts.get(c.carrier, 0) + 1
        return counts

    def instruction(self) -> str:
        if self._void_target is not None:
            return f"Scan a reason card for the void of {self._void_target.name} (Escape cancels)"
        if self._armed is not None:
            return (
                f"Scan the carton (or its order number) to {self._armed} its label (Escape cancels)"
            )
        if self._opening is not None:
            return f"Opening the {self._opening} pickup..."
        if self.pickup is None:
            if self._selected is not None:
                return (
                    f"{self._selected.name} selected: scan {REPRINT_CARD} or {VOID_CARD}, "
                    "or a carrier card to start a pickup"
                )
            return f"Scan the carrier's card ({PICKUP_PREFIX}<carrier>) to start a pickup"
        return (
            f"{self.pickup.carrier} pickup: scan each carton as it is handed over "
            f"({CLOSE_CARD} when the truck leaves)"
        )

    # -- scans -----------------------------------------------------------------------------
    def scan_text(self, text: str, *, symbology_id: str | None = None) -> DoorVerdict | Request:
        raw = text.strip()
        if not raw or len(raw) > MAX_BARCODE or not raw.isprintable():
            return _no(DoorReason.UNREADABLE, "Unreadable barcode: scan it again")
        card = raw.upper()
        if card == CLOSE_CARD:
            return self._close()
        if card.startswith(PICKUP_PREFIX):
            return self._open(raw[len(PICKUP_PREFIX) :].strip())
        if card == REPRINT_CARD:
            return self.request("reprint")
        if card == VOID_CARD:
            return self.request("void")
        if self._void_target is not None:
            return self._void_reason(raw, symbology_id)
        meaning = read_text(raw, symbology_id=symbology_id)
        if isinstance(meaning, BadgeScan | BinScan | ToteScan | BoxTypeScan | ReasonScan):
            return _no(DoorReason.NOT_A_LABEL, f"That is not a shipping label: {self._ask()}")
        if self._armed is not None:
            return self._command_target(raw, meaning)
        if isinstance(meaning, OrderScan):
            if self.pickup is None:
                return self._command_target(raw, meaning, select=True)
            return _no(
                DoorReason.NOT_A_LABEL,
                "That is the order number: scan the carrier label on the carton",
            )
        carton = self._find(raw)
        if self.pickup is None:
            if self._opening is not None:
                return _no(
                    DoorReason.PICKUP_BUSY, f"Wait: the {self._opening} pickup is being opened"
                )
            if carton is not None:
                self._selected = carton
                return DoorVerdict(kind="needs", words=self.instruction())
            return _no(
                DoorReason.NO_PICKUP,
                f"No pickup is open: scan the carrier's card ({PICKUP_PREFIX}<carrier>) first",
            )
        if any(tracking_matches(scanned=raw, tracking_number=n) for n in self._voided):
            return _no(
                DoorReason.VOIDED,
                "This label was VOIDED: do not ship this carton, take it back to the "
                "bench for a new label",
            )
        if carton is not None and not _same(carton.carrier, self.pickup.carrier):
            return _no(
                DoorReason.WRONG_CARRIER,
                f"This carton goes with {carton.carrier}, not {self.pickup.carrier}: keep it back",
            )
        return HandOver(pickup_id=self.pickup.id, barcode=raw)

    def request(self, command: Command) -> DoorVerdict | Request:
        """A command card or its key: act on the selected carton, or wait for one."""
        if command == "reprint" and not self.can_print:
            return _no(DoorReason.NO_PRINTER, "No label printer at this door: reprint at a bench")
        self._void_target = None
        target, self._selected = self._selected, None
        if target is not None:
            return self._act(command, target)
        self._armed = command
        return DoorVerdict(kind="needs", words=self.instruction())

    def cancel(self) -> bool:
        """Escape: drop an armed command, a void waiting for its reason or a selection."""
        had = self._armed is not None or self._void_target is not None or self._selected
        self._armed = self._void_target = self._selected = None
        return bool(had)

    def _open(self, carrier: str) -> DoorVerdict | Request:
        if not _CARRIER.fullmatch(carrier):
            return _no(DoorReason.UNREADABLE, "Carrier card is unreadable: scan it again")
        if self._opening is not None:
            return _no(DoorReason.PICKUP_BUSY, f"Wait: the {self._opening} pickup is being opened")
        if self.pickup is not None:
            if _same(self.pickup.carrier, carrier):
                return DoorVerdict(
                    kind="accepted",
                    words=f"The {self.pickup.carrier} pickup is open: scan the cartons",
                )
            return _no(
                DoorReason.PICKUP_BUSY,
                f"The {self.pickup.carrier} pickup is still open "
                f"({self.pickup.cartons} cartons): scan {CLOSE_CARD} first",
            )
        self._opening = carrier
        self._selected = None
        return OpenPickup(carrier=carrier)

    def _close(self) -> DoorVerdict | Request:
        if self.pickup is None:
            return _no(DoorReason.NO_PICKUP, "No pickup is open: nothing to close")
        return ClosePickup(pickup_id=self.pickup.id, carrier=self.pickup.carrier)

    def _command_target(
        self, raw: str, meaning: object, *, select: bool = False
    ) -> DoorVerdict | Request:
        if isinstance(meaning, OrderScan):
            cartons = [
                c
                for c in (*self.waiting, *self.handed.values())
                if c.order_number == meaning.number
            ]
            if not cartons:
                return _no(
                    DoorReason.NOT_WAITING, f"Order {meaning.number} has no carton waiting here"
                )
            if len(cartons) > 1:
                return _no(
                    DoorReason.AMBIGUOUS,
                    f"Order {meaning.number} has {len(cartons)} cartons: scan the "
                    "label of the one you mean",
                )
            carton: Carton | None = cartons[0]
        else:
            carton = self._find(raw)
        if carton is None:
            return _no(
                DoorReason.NOT_WAITING,
                "That carton is not waiting at this door: scan its label or its order number",
            )
        if select:
            self._selected = carton
            return DoorVerdict(kind="needs", words=self.instruction())
        command, self._armed = self._armed, None
        assert command is not None
        return self._act(command, carton)

    def _act(self, command: Command, carton: Carton) -> DoorVerdict | Request:
        if command == "reprint":
            return Reprint(carton=carton)
        pending = self.pending_voids.get(carton.package_id)
        if pending is not None:
            return _no(
                DoorReason.AWAITING_APPROVAL,
                f"The void of {carton.name} already waits for a supervisor "
                f"(request {pending.approval_id})",
            )
        self._void_target = carton
        return DoorVerdict(kind="needs", words=self.instruction())

    def _void_reason(self, raw: str, symbology_id: str | None) -> DoorVerdict | Request:
        meaning = read_text(raw, symbology_id=symbology_id)
        target = self._void_target
        assert target is not None
        if not isinstance(meaning, ReasonScan):
            return _no(
                DoorReason.NEEDS_REASON,
                f"Scan a reason card for the void of {target.name} (Escape cancels)",
            )
        self._void_target = None
        return Void(carton=target, reason=f"voided at the dispatch door: {meaning.code}")

    def _find(self, raw: str) -> Carton | None:
        for c in (*self.waiting, *self.handed.values()):
            if tracking_matches(scanned=raw, tracking_number=c.tracking_number):
                return c
        return None

    def _ask(self) -> str:
        if self._armed is not None:
            return f"scan the carton to {self._armed}"
        if self.pickup is None:
            return f"scan the carrier's card ({PICKUP_PREFIX}<carrier>)"
        return "scan the carrier label on the carton"

    # -- the server's answers --------------------------------------------------------------
    def began(self, request: Request) -> None:
        self.in_flight += 1

    def resumed(self, pickup: PickupOut) -> None:
        """The pickup this door had open before a restart, as the server has it now."""
        if pickup.state == "open" and self.pickup is None and self._opening is None:
            self.pickup = Pickup(id=pickup.id, carrier=pickup.carrier, cartons=pickup.cartons)

    def opened(self, pickup: PickupOut) -> DoorVerdict:
        self._done()
        self._opening = None
        self.pickup = Pickup(id=pickup.id, carrier=pickup.carrier, cartons=pickup.cartons)
        waiting = len(self.waiting_for(pickup.carrier))
        return DoorVerdict(
            kind="accepted",
            words=f"{pickup.carrier} pickup open: {waiting} carton(s) waiting. "
            "Scan each carton as it is handed over",
        )

    def closed(self, pickup: PickupOut) -> DoorVerdict:
        self._done()
        if self.pickup is not None and self.pickup.id == pickup.id:
            self.pickup = None
        unsent = len(self.not_sent)
        self.not_sent.clear()  # they are still on the waiting list: nothing is lost with them
        self.void_notices.clear()  # the truck has left: too late to act on them at this door
        left = (
            f" {unsent} scan(s) never reached the server: those cartons are still waiting."
            if unsent
            else ""
        )
        return DoorVerdict(
            kind="accepted",
            words=f"{pickup.carrier} pickup closed: {pickup.cartons} carton(s) handed over.{left}",
        )

    def handed_over(self, request: HandOver, out: HandoverOut) -> DoorVerdict:
        self._done()
        # Asked before and never answered: the server may have taken that first scan (the
        # answer was lost, not the request). Its "duplicate" then is news to this door's count.
        answer_lost = self.not_sent.pop(request.barcode, None) is not None
        known = next((c for c in self.waiting if c.package_id == out.package.id), None)
        known = known or self.handed.get(out.package.id)
        number = known.order_number if known else f"order {out.order_id}"
        carton = Carton(
            package_id=out.package.id,
            order_id=out.order_id,
            order_number=number,
            package_no=out.package.package_no,
            tracking_number=out.package.tracking_number,
            carrier=out.package.carrier,
            state=out.package.state,
        )
        self.waiting = tuple(c for c in self.waiting if c.package_id != carton.package_id)
        self.handed[carton.package_id] = carton
        more = (
            f"{out.remaining} more carton(s) of {number} to come"
            if out.remaining
            else f"{number} complete"
        )
        if out.duplicate and not answer_lost:
            return _no(
                DoorReason.DUPLICATE,
                f"{carton.name} is already on this pickup: not counted twice ({more})",
            )
        if self.pickup is not None and self.pickup.id == request.pickup_id:
            self.pickup = replace(self.pickup, cartons=self.pickup.cartons + 1)
        return DoorVerdict(
            kind="accepted", counted=True, words=f"{carton.name} handed over: {more}"
        )

    def reprinted(self, request: Reprint) -> DoorVerdict:
        self._done()
        return DoorVerdict(
            kind="accepted",
            words=f"Label of {request.carton.name} sent to the printer: stick it over the old one",
        )

    def voided(self, request: Void, out: PackageOut) -> DoorVerdict:
        self._done()
        self._forget(request.carton)
        self._voided.add(out.tracking_number)
        return DoorVerdict(
            kind="accepted",
            words=f"Label of {request.carton.name} voided: take the carton back "
            "to the bench for a new label",
        )

    def void_requested(self, request: Void, approval: ApprovalOut) -> DoorVerdict:
        """The carton was handed over already: the server asked a supervisor instead."""
        self._done()
        self.pending_voids[request.carton.package_id] = PendingVoid(
            carton=request.carton, approval_id=approval.id
        )
        return DoorVerdict(
            kind="needs",
            reason=DoorReason.AWAITING_APPROVAL,
            words=f"{request.carton.name} was already handed over: the void "
            f"waits for a supervisor's approval (request {approval.id})",
        )

    def waiting_approvals(self) -> tuple[int, ...]:
        """The approval requests to ask the server about at the next list refresh."""
        return tuple(p.approval_id for p in self.pending_voids.values())

    def void_decided(self, approval: ApprovalOut) -> DoorVerdict | None:
        """A pending void's approval as the server has it now. None while a supervisor has not
        decided (or it is being carried out), and for a request this door is not waiting for
        (answered twice by overlapping refreshes): the words come once."""
        pending = next(
            (p for p in self.pending_voids.values() if p.approval_id == approval.id), None
        )
        if pending is None or approval.state not in _DECIDED:
            return None
        carton = pending.carton
        del self.pending_voids[carton.package_id]
        if approval.state == "executed":
            self._forget(carton)
            self._voided.add(carton.tracking_number)  # scanned again here: refused at once
            verdict = DoorVerdict(
                kind="needs",
                reason=DoorReason.VOIDED,
                words=f"Void of {carton.name} APPROVED: its label is VOIDED. Take the carton "
                f"off the {carton.carrier} pickup and back to the bench for a new label",
            )
        elif approval.state == "refused":
            verdict = _no(
                DoorReason.REFUSED,
                f"Void of {carton.name} REFUSED{_by(approval)}"
                f"{_because(approval.decision_reason)}: the label stays valid, the carton ships",
            )
        else:
            detail = (approval.result or {}).get("detail")
            verdict = _no(
                DoorReason.REFUSED,
                f"Void of {carton.name} FAILED{_because(detail)}: the label is NOT voided, "
                "ask a supervisor",
            )
        self.void_notices[carton.package_id] = verdict.words
        return verdict

    def pickup_loaded(self, pickup: PickupOut) -> None:
        """The open pickup as the server counts it now (a carton voided after handover has left
        it; another door may have added one)."""
        if self.pickup is None or self.pickup.id != pickup.id:
            return
        if pickup.state == "open":
            self.pickup = replace(self.pickup, cartons=pickup.cartons)
        else:
            self._lost_pickup(pickup.id)

    def failed(self, request: Request, failure: Failure) -> DoorVerdict:
        self._done()
        offline = isinstance(failure, Unreachable)
        if isinstance(request, OpenPickup):
            self._opening = None
            if offline:
                return _offline(
                    f"the {request.carrier} pickup is NOT open. Scan the carrier "
                    "card again in a moment"
                )
        elif isinstance(request, ClosePickup):
            if offline:
                return _offline(
                    f"the {request.carrier} pickup is still open. Scan "
                    f"{CLOSE_CARD} again in a moment"
                )
            if isinstance(failure, Refused) and refusal_reason(failure) is DoorReason.PICKUP_CLOSED:
                self._lost_pickup(request.pickup_id)
        elif isinstance(request, HandOver):
            if offline:
                self.not_sent[request.barcode] = "server not reachable"
                return _offline("this carton is NOT handed over. Keep it back and scan it again")
            assert isinstance(failure, Refused)
            reason = refusal_reason(failure)
            if reason is DoorReason.PICKUP_CLOSED:
                self._lost_pickup(request.pickup_id)
            self.not_sent.pop(request.barcode, None)  # answered: the words say what to do
            return _no(reason, failure.detail)
        elif isinstance(request, Reprint):
            if offline:
                return _offline(
                    f"the label of {request.carton.name} is NOT reprinted. Try again in a moment"
                )
            return _no(DoorReason.REFUSED, f"Label not reprinted: {_detail(failure)}")
        elif isinstance(request, Void):
            if offline:
                return _offline(
                    f"the label of {request.carton.name} is NOT voided. Try again in a moment"
                )
            return _no(DoorReason.REFUSED, f"Label not voided: {_detail(failure)}")
        return _no(DoorReason.REFUSED, _detail(failure))

    def waiting_loaded(self, rows: Iterable[WaitingPackageOut]) -> None:
        self.waiting = tuple(carton_of(r) for r in rows)
        live = {c.tracking_number for c in self.waiting}
        # A scan left unanswered whose carton the server no longer lists as waiting was handed
        # over after all (or voided): the list is the authority, the reminder goes.
        for barcode in list(self.not_sent):
            if not any(tracking_matches(scanned=barcode, tracking_number=n) for n in live):
                self.not_sent.pop(barcode)

    def handed_loaded(self, rows: Iterable[WaitingPackageOut]) -> None:
        """The server's cartons handed over and not yet with a carrier, from any door: a void
        of one of them (which needs approval) can start here too."""
        self.handed = {c.package_id: c for c in map(carton_of, rows)}

    def exceptions_loaded(self, rows: Sequence[ExceptionOut]) -> None:
        self.exceptions = tuple(
            CustodyException(
                id=x.id,
                order_number=x.order_number or f"order {x.order_id}",
                reason=x.reason,
                recommendation=x.recommendation or "",
                created_at=x.created_at,
            )
            for x in rows
            if x.kind == "custody"
        )

    def _done(self) -> None:
        self.in_flight = max(0, self.in_flight - 1)

    def _forget(self, carton: Carton) -> None:
        self.waiting = tuple(c for c in self.waiting if c.package_id != carton.package_id)
        self.handed.pop(carton.package_id, None)
        if self._selected is not None and self._selected.package_id == carton.package_id:
            self._selected = None

    def _lost_pickup(self, pickup_id: int) -> None:
        # Closed elsewhere (a supervisor, another door): the next carrier card opens a new one.
        if self.pickup is not None and self.pickup.id == pickup_id:
            self.pickup = None


_DECIDED = frozenset({"executed", "refused", "failed"})  # "approved" is still being carried out


def _by(approval: ApprovalOut) -> str:
    name = approval.decided_by_name if isinstance(approval, ApprovalItemOut) else None
    return f" by {name}" if name else ""


def _because(why: object) -> str:
    text = str(why).strip() if why is not None else ""
    return f" ({text[:200]})" if text else ""


def _same(a: str, b: str) -> bool:
    return a.casefold() == b.casefold()


def _no(reason: DoorReason, words: str) -> DoorVerdict:
    return DoorVerdict(kind="rejected", reason=reason, words=words)


def _offline(what: str) -> DoorVerdict:
    return DoorVerdict(
        kind="rejected", reason=DoorReason.OFFLINE, words=f"Server not reachable: {what}"
    )


def _detail(failure: Failure) -> str:
    return failure.detail if isinstance(failure, Refused) else "server not reachable"
