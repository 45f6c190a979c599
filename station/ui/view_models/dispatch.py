"""The dispatch door on screen: scans in, the session decides what to ask the server, the call
runs on the background pool, the answer comes back as a verdict and a fresh picture of the door.

A handover's verdict waits for the server (only it knows voids and bench scans made elsewhere);
while it is on its way the door says so, and further scans queue behind it in order on the
single background thread. Everything the session can refuse by itself is answered at once.

Each list refresh also asks after the voids waiting for a supervisor, and re-reads the open
pickup's count (a carton voided after handover leaves the truck).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from shared.contract.custody import HandoverOut, PickupOut, WaitingPackageOut
from shared.contract.orders import ExceptionOut
from shared.contract.shipping import PackageOut
from shared.contract.stations import ApprovalOut
from station.devices.scanner import RawScan
from station.sync.client import ServerRefused, ServerUnavailable
from station.sync.dispatch_client import DispatchClient
from station.ui.background import Background
from station.ui.signals import emit
from station.work.dispatch import DispatchSession
from station.work.door import (
    Carton,
    ClosePickup,
    Command,
    DoorVerdict,
    Failure,
    HandOver,
    OpenPickup,
    Refused,
    Reprint,
    Request,
    Unreachable,
    Void,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

# Queue one label for the printer; answers the print job id (PrintQueue.submit's shape).
PrintLabel = Callable[[bytes, str], int]


@dataclass(frozen=True, kw_only=True)
class Loaded:
    """One list refresh: what the server has now, read in one background job."""

    waiting: list[WaitingPackageOut]
    handed: list[WaitingPackageOut]
    exceptions: list[ExceptionOut]
    approvals: list[ApprovalOut]  # the pending voids' requests that could be read
    pickup: PickupOut | None  # the open pickup, when there is one and it could be read


@dataclass(frozen=True, kw_only=True)
class DoorView:
    heading: str
    instruction: str
    count: str
    cartons: int  # on the open pickup
    waiting: tuple[str, ...]  # labelled (or bought) and not handed over, this carrier first
    exceptions: tuple[str, ...]  # custody exceptions from the server's queue
    attention: tuple[str, ...]  # scans that never reached the server, voids awaiting approval
    note: str  # the server is being asked / the lists could not be refreshed


class DispatchViewModel(QObject):
    verdict = Signal(str, str)  # VerdictKind value, operator words
    changed = Signal(object)  # DoorView

    def __init__(
        self,
        *,
        client: DispatchClient,
        background: Background,
        print_label: PrintLabel | None,
        remember_pickup: Callable[[int | None], None] = lambda _: None,
        resume_pickup_id: int | None = None,
        refresh_delay_ms: int = 1000,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._client = client
        self._background = background
        self._print_label = print_label
        self._remember = remember_pickup
        self._resume = resume_pickup_id
        self.session = DispatchSession(can_print=print_label is not None)
        self._refresh_note = ""
        self._soon = QTimer(self)
        self._soon.setSingleShot(True)
        self._soon.setInterval(refresh_delay_ms)
        self._soon.timeout.connect(self.refresh)
        self._view = self._build_view()

    @property
    def view(self) -> DoorView:
        return self._view

    # -- input -------------------------------------------------------------------------------
    def enter(self) -> None:
        """The door's screen is shown (after a sign-in): resume a pickup, load the lists."""
        resume, self._resume = self._resume, None
        if resume is not None and self.session.pickup is None:
            self._background.submit(
                lambda: self._client.pickup(pickup_id=resume),
                on_result=self._resumed,
                on_error=lambda exc: self._resume_failed(resume, exc),
            )
        self.refresh()

    @Slot(object)
    def handle_scan(self, scan: RawScan) -> None:
        self._answer(self.session.scan_text(scan.text, symbology_id=scan.symbology_id))

    @Slot()
    def request_reprint(self) -> None:
        self._answer(self.session.request("reprint"))

    @Slot()
    def request_void(self) -> None:
        self._answer(self.session.request("void"))

    def request(self, command: Command) -> None:
        self._answer(self.session.request(command))

    @Slot()
    def cancel(self) -> bool:
        cancelled = self.session.cancel()
        self._publish()
        return cancelled

    @Slot()
    def refresh_soon(self) -> None:
        """Refresh once after a burst of live order events, not once per event."""
        if not self._soon.isActive():
            self._soon.start()

    @Slot()
    def refresh(self) -> None:
        # Read here, on the GUI thread: the session belongs to it, not to the background job.
        asked = self.session.waiting_approvals()
        pickup_id = self.session.pickup.id if self.session.pickup is not None else None
        c = self._client

        def load() -> Loaded:
            lists = c.waiting(), c.awaiting_carrier(), c.custody_exceptions()
            approvals: list[ApprovalOut] = []
            for approval_id in asked:
                got = _unless_refused(partial(c.approval, approval_id=approval_id))
                if got is not None:
                    approvals.append(got)
            pickup = None
            if pickup_id is not None:
                pickup = _unless_refused(lambda: c.pickup(pickup_id=pickup_id))
            return Loaded(
                waiting=lists[0],
                handed=lists[1],
                exceptions=lists[2],
                approvals=approvals,
                pickup=pickup,
            )

        self._background.submit(load, on_result=self._loaded, on_error=self._load_failed)

    # -- the server's answers ----------------------------------------------------------------
    def _answer(self, step: DoorVerdict | Request) -> None:
        if isinstance(step, DoorVerdict):
            self._say(step)
            return
        self.session.began(step)
        request = step
        self._background.submit(
            self._work(request),
            on_result=lambda out: self._done(request, out),
            on_error=lambda exc: self._failed(request, exc),
        )
        self._publish()

    def _work(self, request: Request) -> Callable[[], object]:
        client = self._client
        if isinstance(request, OpenPickup):
            return lambda: client.open_pickup(carrier=request.carrier)
        if isinstance(request, ClosePickup):
            return lambda: client.close_pickup(pickup_id=request.pickup_id)
        if isinstance(request, HandOver):
            return lambda: client.hand_over(pickup_id=request.pickup_id, barcode=request.barcode)
        if isinstance(request, Reprint):
            printer = self._print_label
            assert printer is not None  # the session refuses a reprint without one
            carton = request.carton
            # Download first, queue second: a server that fails mid-way queues nothing.
            return lambda: printer(
                client.label(package_id=carton.package_id), f"{carton.name} reprint"
            )
        return lambda: client.void(package_id=request.carton.package_id, reason=request.reason)

    def _done(self, request: Request, out: object) -> None:
        s = self.session
        if isinstance(request, OpenPickup) and isinstance(out, PickupOut):
            self._say(s.opened(out))
            self._remember(out.id)
            self.refresh()  # what waits for this carrier, as of now
        elif isinstance(request, ClosePickup) and isinstance(out, PickupOut):
            self._say(s.closed(out))
            self._remember(None)
            self.refresh()
        elif isinstance(request, HandOver) and isinstance(out, HandoverOut):
            self._say(s.handed_over(request, out))
        elif isinstance(request, Reprint):
            self._say(s.reprinted(request))
        elif isinstance(request, Void) and isinstance(out, ApprovalOut):
            self._say(s.void_requested(request, out))
        elif isinstance(request, Void) and isinstance(out, PackageOut):
            self._say(s.voided(request, out))
            self.refresh()
        else:  # an answer of the wrong shape is the server's fault, never counted
            self._failed(request, ServerUnavailable(f"unexpected answer {type(out).__name__}"))

    def _failed(self, request: Request, exc: BaseException) -> None:
        failure: Failure
        if isinstance(exc, ServerUnavailable):
            failure = Unreachable(detail=str(exc))
        elif isinstance(exc, ServerRefused):
            failure = Refused(status=exc.status, detail=exc.detail)
        else:  # the print queue's disk, a bug: said plainly, logged for the supervisor
            log.error("dispatch request %s failed", request, exc_info=exc)
            failure = Refused(status=0, detail=f"call a supervisor ({type(exc).__name__})")
        had_pickup = self.session.pickup is not None
        self._say(self.session.failed(request, failure))
        if had_pickup and self.session.pickup is None:
            self._remember(None)  # the server says it is closed: forget it here too
        if isinstance(failure, Refused) and isinstance(request, HandOver | Void):
            self.refresh()  # the server knows better than the list: a void elsewhere, a scan

    def _resumed(self, pickup: PickupOut) -> None:
        self.session.resumed(pickup)
        if self.session.pickup is None:
            self._remember(None)  # closed meanwhile
        self._publish()

    def _resume_failed(self, pickup_id: int, exc: BaseException) -> None:
        if isinstance(exc, ServerRefused):
            self._remember(None)  # the server does not know it (any more)
        else:
            self._resume = pickup_id  # try again at the next enter
        self._publish()

    def _loaded(self, got: Loaded) -> None:
        s = self.session
        s.waiting_loaded(got.waiting)
        s.handed_loaded(got.handed)
        s.exceptions_loaded(got.exceptions)
        self._refresh_note = ""
        if got.pickup is not None:
            had_pickup = s.pickup is not None
            s.pickup_loaded(got.pickup)
            if had_pickup and s.pickup is None:
                self._remember(None)  # closed elsewhere meanwhile
        decided = [v for v in map(s.void_decided, got.approvals) if v is not None]
        for verdict in decided:
            # Said aloud once (someone must act, or know the carton ships); kept on the list.
            self._say(verdict)
        if not decided:
            self._publish()

    def _load_failed(self, exc: BaseException) -> None:
        if isinstance(exc, ServerUnavailable):
            self._refresh_note = "Server not reachable: the lists below may be out of date"
        else:
            self._refresh_note = f"Lists not refreshed: {getattr(exc, 'detail', exc)}"
        self._publish()

    # -- output ------------------------------------------------------------------------------
    def _say(self, verdict: DoorVerdict) -> None:
        emit(self.verdict, verdict.kind, verdict.words)
        self._publish()

    def _publish(self) -> None:
        self._view = self._build_view()
        emit(self.changed, self._view)

    def _build_view(self) -> DoorView:
        s = self.session
        pickup = s.pickup
        carrier = pickup.carrier if pickup else ""
        if pickup is not None:
            heading = f"DISPATCH  {pickup.carrier} pickup {pickup.id}"
            count = f"{pickup.cartons} on the truck   {len(s.waiting_for(carrier))} waiting"
        else:
            heading = "DISPATCH  no pickup open"
            by = ", ".join(f"{n} {c}" for c, n in sorted(s.waiting_by_carrier().items()))
            count = f"{len(s.waiting)} waiting ({by})" if by else "Nothing waiting"
        # This carrier's cartons first: they are the ones the loader is looking for.
        ordered = sorted(s.waiting, key=lambda c: (carrier == "" or c.carrier != carrier,))
        attention = tuple(
            [f"NOT handed over: {b} - scan it again" for b in s.not_sent]
            + [
                f"{p.carton.name}: void waits for approval (request {p.approval_id})"
                for p in s.pending_voids.values()
            ]
            + list(s.void_notices.values())
        )
        note = "Asking the server..." if s.in_flight else self._refresh_note
        return DoorView(
            heading=heading,
            instruction=s.instruction(),
            count=count,
            cartons=pickup.cartons if pickup else 0,
            waiting=tuple(_waiting_row(c) for c in ordered),
            exceptions=tuple(
                f"{x.order_number}: {x.reason}"
                + (f" - {x.recommendation}" if x.recommendation else "")
                for x in s.exceptions
            ),
            attention=attention,
            note=note,
        )


def _unless_refused(call: Callable[[], T]) -> T | None:
    """One follow-up read of a refresh: a refusal (a request this server no longer knows) is
    logged and skipped, so it cannot keep the lists from refreshing; the line stays as it is.
    An unreachable server still fails the whole refresh (the note says so)."""
    try:
        return call()
    except ServerRefused as exc:
        log.warning("dispatch refresh: %s", exc.detail)
        return None


def _waiting_row(c: Carton) -> str:
    unchecked = "   LABEL NOT SCANNED AT THE BENCH" if c.state == "bought" else ""
    return f"{c.name}   {c.carrier}   {c.tracking_number}{unchecked}"
