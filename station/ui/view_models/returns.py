"""The returns desk screen's view-model: scans go to the pure ReturnsSession (receiving parcels) or,
in triage mode (F8), to the TriageViewModel; the look-up and each unit's receipt run off the GUI
thread through the returns gateway, and their answers come back to the session, which says what
the clerk sees next.

A unit is sent once its bin is scanned, and written to the desk's durable outbox just before:
if the server cannot be reached the unit stays in the clerk's hand with the same idempotency key,
and scanning the bin again (or Enter) sends the same request. If the station restarts meanwhile,
the outbox sends it again after the next sign-in (and every `replay_every_s` while any wait), so
a receipt that landed before the answer was lost is answered, never counted twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from shared.contract.returns import QuarantineBinOut, ReturnUnitOut
from shared.labels.returns import (
    condition_cards,
    decision_cards,
    quarantine_bin_label,
    return_unit_label,
)
from station.devices.scanner import RawScan
from station.sync.client import ServerRefused
from station.sync.returns_client import ReturnsGateway
from station.sync.returns_outbox import OutboxUnavailable, ReplayReport, ReturnsOutbox, replay
from station.ui.background import Background
from station.ui.signals import emit
from station.ui.view_models.triage import TriageViewModel, failure_words
from station.work.returns import FLAG_WORDS, Answer, LineCount, ReturnsSession, Step, Tone

log = logging.getLogger(__name__)
PrintLabel = Callable[[bytes, str], object]  # (ZPL, title): the print queue's submit
_IN_HAND = (Step.CONDITION, Step.BIN, Step.SENDING, Step.RETRY)


class Mode(StrEnum):
    RECEIVING = "receiving"  # parcels, units into quarantine bins
    TRIAGE = "triage"  # one recorded decision per quarantined unit


@dataclass(frozen=True, kw_only=True)
class DeskProgress:
    title: str  # "RMA0000012  order PL0000034", or "" between parcels
    lines: tuple[LineCount, ...]
    authorised: int
    received: int
    flagged: int  # flagged units this desk recorded in this parcel


class ReturnsDeskViewModel(QObject):
    verdict = Signal(str, str)  # Tone value (same words as VerdictKind), operator words
    instruction = Signal(str)
    progress_changed = Signal(object)  # DeskProgress
    mode_changed = Signal(str)  # Mode value
    backlog_changed = Signal(int)  # receipts from before (a restart) not recorded yet

    def __init__(
        self,
        *,
        client: ReturnsGateway,
        background: Background,
        print_label: PrintLabel | None = None,
        outbox: ReturnsOutbox | None = None,
        replay_every_s: float = 30.0,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._client = client
        self._background = background
        self._print = print_label
        self._outbox = outbox
        self.session = ReturnsSession()
        self.mode = Mode.RECEIVING
        self.triage = TriageViewModel(client=client, background=background, parent=self)
        self.triage.verdict.connect(self.verdict)
        # What is on its way to the server (a look-up's code, a unit's key): asked once only,
        # however many scans arrive meanwhile.
        self._in_flight: set[str] = set()
        self._replaying = False
        self.backlog = 0
        self._replay_timer = QTimer(self)
        self._replay_timer.setInterval(int(replay_every_s * 1000))
        self._replay_timer.timeout.connect(self.replay_outbox)

    # -- inputs ------------------------------------------------------------------------------
    @Slot(object)
    def handle_scan(self, scan: RawScan) -> None:
        if self.mode is Mode.TRIAGE:
            self.triage.handle_scan(scan)
            return
        self._answer(self.session.scan_text(scan.text, symbology_id=scan.symbology_id))

    @Slot()
    def enter(self) -> None:
        if self.mode is Mode.TRIAGE:
            self.triage.enter()
        elif self.session.step is Step.RETRY:
            self._answer(self.session.retry())

    @Slot()
    def escape(self) -> bool:
        """False when there was nothing to drop (the bench then signs the clerk out)."""
        if self.mode is Mode.TRIAGE:
            if not self.triage.escape():
                self._set_mode(Mode.RECEIVING)
                self._say(Tone.NEEDS, "Back to receiving parcels")
            return True
        answer = self.session.escape()
        if answer is None:
            return False
        self._answer(answer)
        return True

    @Slot()
    def toggle_triage(self) -> None:
        """F8: between receiving parcels and triage of the units waiting in quarantine."""
        if self.mode is Mode.TRIAGE:
            if self.triage.busy:
                self._say(Tone.REJECTED, "Wait: the decision is not recorded yet")
                return
            self._set_mode(Mode.RECEIVING)
            self._say(Tone.NEEDS, "Back to receiving parcels")
            return
        if self.session.step in _IN_HAND:
            self._say(Tone.REJECTED, "Finish the unit in your hand first (Escape puts it aside)")
            return
        self._set_mode(Mode.TRIAGE)
        self.triage.start()

    @Slot()
    def reset(self) -> None:
        """A new clerk: a fresh desk (a unit still being sent keeps its key in the old session,
        and in the outbox, which sends it again)."""
        self.session = ReturnsSession()
        self._set_mode(Mode.RECEIVING)
        self.refresh()
        self.replay_outbox()

    def refresh(self) -> None:
        emit(self.progress_changed, self.progress())
        emit(self.instruction, self.session.instruction())
        if self.mode is Mode.TRIAGE:
            self.triage.refresh()

    def progress(self) -> DeskProgress:
        rma, lines = self.session.rma, self.session.lines()
        return DeskProgress(
            title=f"{rma.number}  order {rma.order_number}" if rma is not None else "",
            lines=lines,
            authorised=sum(x.authorised for x in lines),
            received=sum(min(x.received, x.authorised) for x in lines),
            flagged=self.session.flagged,
        )

    def _set_mode(self, mode: Mode) -> None:
        if mode is not self.mode:
            self.mode = mode
            emit(self.mode_changed, mode.value)

    # -- printing -------------------------------------------------------------------------------
    @Slot()
    def print_cards(self) -> None:
        """F6: the cards of the current mode (condition cards, or decision cards in triage)."""
        if self.mode is Mode.TRIAGE:
            self.print_decision_cards()
        else:
            self.print_condition_cards()

    @Slot()
    def print_condition_cards(self) -> None:
        self._print_all(condition_cards(), "condition card")

    @Slot()
    def print_decision_cards(self) -> None:
        self._print_all(decision_cards(), "decision card")

    def _print_all(self, cards: list[bytes], title: str) -> None:
        if self._print is None:
            self._say(Tone.REJECTED, "No label printer is configured at this desk")
            return
        for card in cards:
            self._print(card, title)
        self._say(Tone.ACCEPTED, f"Printing {len(cards)} {title}s")

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
                Tone.REJECTED, failure_words(exc, doing="list the quarantine bins")
            ),
        )

    def _print_unit_label(self, unit: ReturnUnitOut, rma_number: str) -> None:
        # The unit's license plate: triage scans it to pick exactly this unit.
        if self._print is not None:
            label = return_unit_label(unit_id=unit.id, sku=unit.sku, condition=unit.condition,
                                      rma=rma_number)  # fmt: skip
            self._print(label, f"return unit {unit.id}")

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
                lambda: session.lookup_failed(
                    failure_words(exc, doing="look up the parcel"), code=code
                )
            ),
        )

    def _send(self) -> None:
        session, client, outbox = self.session, self._client, self._outbox
        unit, rma = session.to_send, session.rma
        assert unit is not None and rma is not None
        rma_id, rma_number, key = rma.id, rma.number, unit.key
        self._in_flight.add(key)
        if outbox is not None:
            try:
                outbox.put(rma_id=rma_id, rma_number=rma_number, unit=unit)  # on disk first
            except OutboxUnavailable as exc:
                log.error("returns outbox: %s", exc)
                words = (
                    "This desk cannot keep units on disk: do not switch it off before the unit "
                    f"is recorded. Call a supervisor ({exc})"
                )
                self._say(Tone.REJECTED, words)

        def done(answer: Callable[[], Answer | None]) -> None:
            self._in_flight.discard(key)
            if session is self.session:
                self._answer(answer())

        def recorded(out: ReturnUnitOut) -> None:
            self._forget(key)
            self._print_unit_label(out, rma_number)
            done(lambda: session.sent(out, key=key))
            if self.backlog:
                self.replay_outbox()  # the server answers again: send what waits from before

        def failed(exc: BaseException) -> None:
            # Refused (other than for an expired sign-in): nothing was recorded, and the clerk
            # goes on with a new key. Anything else: it may have been; send it again.
            refused = isinstance(exc, ServerRefused) and exc.status not in (401, 403)
            if refused:
                self._forget(key)
            words = failure_words(exc, doing="record the unit")
            done(lambda: session.send_failed(words, key=key, retry=not refused))

        self._background.submit(
            lambda: client.receive(rma_id=rma_id, unit=unit), on_result=recorded, on_error=failed
        )

    def _forget(self, key: str) -> None:
        if self._outbox is not None:
            try:
                self._outbox.done(key)
            except OutboxUnavailable as exc:  # sent again later, and answered: no harm
                log.error("returns outbox: %s", exc)

    # -- receipts from before a restart --------------------------------------------------------
    @Slot()
    def replay_outbox(self) -> None:
        """Send again what the outbox holds from before (a restart, a reset), except the unit in
        the clerk's hand, which its own send handles."""
        outbox, client = self._outbox, self._client
        if outbox is None or self._replaying:
            return
        mine = self.session.pending
        skip = frozenset({mine.key}) if mine is not None else frozenset()
        try:
            waiting = [r for r in outbox.pending() if r.key not in skip]
        except OutboxUnavailable as exc:
            log.error("returns outbox: %s", exc)
            return
        self._set_backlog(len(waiting))
        if not waiting:
            return
        self._replaying = True

        def failed(exc: BaseException) -> None:
            self._replaying = False
            log.error("returns outbox replay failed: %s", exc)
            self._replay_timer.start()

        self._background.submit(
            lambda: replay(outbox, client, skip=skip), on_result=self._replayed, on_error=failed
        )

    def _replayed(self, report: ReplayReport) -> None:
        self._replaying = False
        for receipt, unit in report.recorded:
            self._print_unit_label(unit, receipt.rma_number)
            flag = f" FLAGGED ({FLAG_WORDS[unit.flag]})" if unit.flag else ""
            self._say(Tone.NEEDS if unit.flag else Tone.ACCEPTED,
                      f"Recorded from before: {unit.sku or unit.barcode} in {unit.location} "
                      f"({receipt.rma_number}){flag}")  # fmt: skip
        for receipt, detail in report.refused:
            what = f"{receipt.unit.barcode}, {receipt.rma_number}"
            self._say(Tone.REJECTED, f"A unit scanned before ({what}) was refused: {detail}. "
                      f"Find it in {receipt.unit.bin} and scan it again")  # fmt: skip
        left = self.backlog - len(report.recorded) - len(report.refused)
        self._set_backlog(max(left, 0))
        if report.unreachable is not None and self.backlog:
            self._replay_timer.start()
        else:
            self._replay_timer.stop()

    def _set_backlog(self, n: int) -> None:
        if n != self.backlog:
            self.backlog = n
            emit(self.backlog_changed, n)

    def _say(self, tone: Tone, words: str) -> None:
        emit(self.verdict, tone.value, words)
