"""Triage mode of the returns desk: scans go to the pure TriageSession; the list of units waiting
for triage and each decision run off the GUI thread through the returns gateway, and their answers
come back to the session, which says what the clerk sees next.

A decision whose answer never came keeps its key: scanning the same card (or shelf bin) again, or
Enter, sends the same request, so a decision that landed before the answer was lost is answered,
never taken twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal, Slot

from shared.contract.returns import ReturnUnitOut
from station.devices.scanner import RawScan
from station.sync.client import ServerRefused, ServerUnavailable
from station.sync.returns_client import ReturnsGateway
from station.ui.background import Background
from station.ui.signals import emit
from station.work.returns import Answer
from station.work.triage import TriageSession, TriageStep, WaitingRow


@dataclass(frozen=True, kw_only=True)
class TriageProgress:
    rows: tuple[WaitingRow, ...]  # the units waiting (in the scanned bin, when one was)
    waiting: int  # every unit waiting for triage
    bin_filter: str | None
    decided: int  # decisions recorded at this desk since triage opened


def failure_words(exc: BaseException, *, doing: str) -> str:
    if isinstance(exc, ServerRefused):
        return f"Server said no: {exc.detail}"
    if isinstance(exc, ServerUnavailable):
        return f"Server not reachable: cannot {doing} now"
    return f"Could not {doing}: call a supervisor ({type(exc).__name__})"


class TriageViewModel(QObject):
    verdict = Signal(str, str)  # Tone value, operator words
    instruction = Signal(str)
    progress_changed = Signal(object)  # TriageProgress

    def __init__(
        self, *, client: ReturnsGateway, background: Background, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._client = client
        self._background = background
        self.session = TriageSession()
        self._in_flight: set[str] = set()

    @property
    def busy(self) -> bool:
        """A decision is on its way or unanswered: the desk must not leave triage now."""
        return self.session.step in (TriageStep.SENDING, TriageStep.RETRY)

    def start(self) -> None:
        """Triage opens: a fresh session and the current list from the server."""
        self.session = TriageSession()
        self._answer(None)

    # -- inputs ------------------------------------------------------------------------------
    @Slot(object)
    def handle_scan(self, scan: RawScan) -> None:
        self._answer(self.session.scan_text(scan.text, symbology_id=scan.symbology_id))

    @Slot()
    def enter(self) -> None:
        if self.session.step is TriageStep.RETRY:
            self._answer(self.session.retry())

    def escape(self) -> bool:
        """False when there was nothing to drop (the desk then leaves triage)."""
        answer = self.session.escape()
        if answer is None:
            return False
        self._answer(answer)
        return True

    def refresh(self) -> None:
        emit(self.progress_changed, self.progress())
        emit(self.instruction, self.session.instruction())

    def progress(self) -> TriageProgress:
        s = self.session
        return TriageProgress(rows=s.rows(), waiting=len(s.waiting), bin_filter=s.bin_filter,
                              decided=len(s.decided))  # fmt: skip

    # -- the server's part -------------------------------------------------------------------------
    def _answer(self, answer: Answer | None) -> None:
        if answer is not None:
            emit(self.verdict, answer.tone.value, answer.words)
        self.refresh()
        if self.session.wants_list and self._list_marker() not in self._in_flight:
            self._fetch()
        sending = self.session.to_send
        if sending is not None and sending[1].key not in self._in_flight:
            self._send()

    def _fetch(self) -> None:
        session, client = self.session, self._client
        session.fetching()
        marker = self._list_marker()
        self._in_flight.add(marker)

        def done(answer: Callable[[], Answer | None]) -> None:
            self._in_flight.discard(marker)
            if session is self.session:  # triage reopened meanwhile: nobody's answer
                self._answer(answer())

        def listed(units: list[ReturnUnitOut]) -> None:
            done(lambda: session.listed(units))

        self._background.submit(
            lambda: client.units(state="quarantined"),
            on_result=listed,
            on_error=lambda exc: done(
                lambda: session.list_failed(failure_words(exc, doing="list the units"))
            ),
        )

    def _list_marker(self) -> str:
        # Per session: a list still on its way for a triage closed meanwhile must not keep the
        # reopened one from asking for its own.
        return f"list:{id(self.session)}"

    def _send(self) -> None:
        session, client = self.session, self._client
        sending = session.to_send
        assert sending is not None
        unit_id, decision = sending
        key = decision.key
        self._in_flight.add(key)

        def done(answer: Callable[[], Answer | None]) -> None:
            self._in_flight.discard(key)
            if session is self.session:
                self._answer(answer())

        def failed(exc: BaseException) -> None:
            # Refused (other than for an expired sign-in): nothing was decided. Anything else:
            # it may have been; the same request goes again.
            refused = isinstance(exc, ServerRefused) and exc.status != 401
            words = failure_words(exc, doing="record the decision")
            done(lambda: session.send_failed(words, key=key, retry=not refused))

        self._background.submit(
            lambda: client.triage(unit_id=unit_id, decision=decision),
            on_result=lambda out: done(lambda: session.sent(out, key=key)),
            on_error=failed,
        )
