"""The returns desk screen's view-model: scans go to the pure ReturnsSession; the look-up and each
unit's receipt run off the GUI thread through the returns gateway, and their answers come back
to the session, which says what the clerk sees next.

A unit is sent once its bin is scanned. If the server cannot be reached the unit stays in the
clerk's hand with the same idempotency key, and scanning the bin again (or Enter) sends the same
request: a receipt that landed before the answer was lost is then answered, not counted twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal, Slot

from shared.contract.returns import QuarantineBinOut
from shared.labels.returns import condition_cards, quarantine_bin_label
from station.devices.scanner import RawScan
from station.sync.client import ServerRefused, ServerUnavailable
from station.sync.returns_client import ReturnsGateway
from station.ui.background import Background
from station.ui.signals import emit
from station.work.returns import Answer, LineCount, ReturnsSession, Step, Tone

PrintLabel = Callable[[bytes, str], object]  # (ZPL, title): the print queue's submit


@dataclass(frozen=True, kw_only=True)
class DeskProgress:
    title: str  # "RMA0000012  order PL0000034", or "" between parcels
    lines: tuple[LineCount, ...]
    authorised: int
    received: int
    flagged: int  # flagged units this desk recorded in this parcel


def _failure(exc: BaseException, *, doing: str) -> str:
    if isinstance(exc, ServerRefused):
        return f"Server said no: {exc.detail}"
    if isinstance(exc, ServerUnavailable):
        return f"Server not reachable: cannot {doing} now"
    return f"Could not {doing}: call a supervisor ({type(exc).__name__})"


class ReturnsDeskViewModel(QObject):
    verdict = Signal(str, str)  # Tone value (same words as VerdictKind), operator words
    instruction = Signal(str)
    progress_changed = Signal(object)  # DeskProgress

    def __init__(
        self,
        *,
        client: ReturnsGateway,
        background: Background,
        print_label: PrintLabel | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._client = client
        self._background = background
        self._print = print_label
        self.session = ReturnsSession()
        # What is on its way to the server (a look-up's code, a unit's key): asked once only,
        # however many scans arrive meanwhile.
        self._in_flight: set[str] = set()

    # -- inputs ------------------------------------------------------------------------------
    @Slot(object)
    def handle_scan(self, scan: RawScan) -> None:
        self._answer(self.session.scan_text(scan.text, symbology_id=scan.symbology_id))

    @Slot()
    def enter(self) -> None:
        if self.session.step is Step.RETRY:
            self._answer(self.session.retry())

    @Slot()
    def escape(self) -> bool:
        """False when there was nothing to drop (the bench then signs the clerk out)."""
        answer = self.session.escape()
        if answer is None:
            return False
        self._answer(answer)
        return True

    @Slot()
    def reset(self) -> None:
        """A new clerk: a fresh desk (a unit still being sent keeps its key in the old session,
        whose late answer is simply not shown)."""
        self.session = ReturnsSession()
        self.refresh()

    def refresh(self) -> None:
        emit(self.progress_changed, self.progress())
        emit(self.instruction, self.session.instruction())

    def progress(self) -> DeskProgress:
        rma, lines = self.session.rma, self.session.lines()
        return DeskProgress(
            title=f"{rma.number}  order {rma.order_number}" if rma is not None else "",
            lines=lines,
            authorised=sum(x.authorised for x in lines),
            received=sum(min(x.received, x.authorised) for x in lines),
            flagged=self.session.flagged,
        )

    # -- printing -------------------------------------------------------------------------------
    @Slot()
    def print_condition_cards(self) -> None:
        if self._print is None:
            self._say(Tone.REJECTED, "No label printer is configured at this desk")
            return
        cards = condition_cards()
        for card in cards:
            self._print(card, "condition card")
        self._say(Tone.ACCEPTED, f"Printing {len(cards)} condition cards")

    @Slot()
    def print_bin_labels(self) -> None:
        printer = self._print
        if printer is None:
            self._say(Tone.REJECTED, "No label printer is configured at this desk")
            return

        def printed(bins: list[QuarantineBinOut]) -> None:
            for b in bins:
                printer(quarantine_bin_label(code=b.code), f"quarantine bin {b.code}")
            self._say(Tone.ACCEPTED, f"Printing {len(bins)} quarantine bin label(s)")

        client = self._client
        self._background.submit(
            client.quarantine_bins,
            on_result=printed,
            on_error=lambda exc: self._say(
                Tone.REJECTED, _failure(exc, doing="list the quarantine bins")
            ),
        )

    # -- the server's part -------------------------------------------------------------------------
    def _answer(self, answer: Answer | None) -> None:
        if answer is not None:
            self._say(answer.tone, answer.words)
        self.refresh()
        code, unit = self.session.lookup_code, self.session.to_send
        if self.session.step is Step.LOOKING_UP and code and code not in self._in_flight:
            self._look_up(code)
        elif unit is not None and unit.key not in self._in_flight:
            self._send()

    def _look_up(self, code: str) -> None:
        session, client = self.session, self._client
        self._in_flight.add(code)

        def done(answer: Callable[[], Answer | None]) -> None:
            self._in_flight.discard(code)
            if session is self.session:  # a desk reset meanwhile: the answer is nobody's
                self._answer(answer())

        self._background.submit(
            lambda: client.lookup(code=code),
            on_result=lambda rma: done(lambda: session.opened(rma, code=code)),
            on_error=lambda exc: done(
                lambda: session.lookup_failed(_failure(exc, doing="look up the parcel"), code=code)
            ),
        )

    def _send(self) -> None:
        session, client = self.session, self._client
        unit, rma = session.to_send, session.rma
        assert unit is not None and rma is not None
        rma_id, key = rma.id, unit.key
        self._in_flight.add(key)

        def done(answer: Callable[[], Answer | None]) -> None:
            self._in_flight.discard(key)
            if session is self.session:
                self._answer(answer())

        def failed(exc: BaseException) -> None:
            # Refused: nothing was recorded. Anything else: it may have been; send it again.
            retry = not isinstance(exc, ServerRefused)
            words = _failure(exc, doing="record the unit")
            done(lambda: session.send_failed(words, key=key, retry=retry))

        self._background.submit(
            lambda: client.receive(rma_id=rma_id, unit=unit),
            on_result=lambda out: done(lambda: session.sent(out, key=key)),
            on_error=failed,
        )

    def _say(self, tone: Tone, words: str) -> None:
        emit(self.verdict, tone.value, words)
