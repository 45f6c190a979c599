"""The pack screen's last step: the label is bought and printed, then scanned onto each carton.

Buying needs the server (packing does not): the call runs in the background; while it runs a
scan is refused with words, never counted. A server that cannot be reached keeps the order on
the bench with an amber message and tries again by itself (Enter tries at once); a purchase the
server refuses is red and sends the packer to the supervisor. Once the labels print, the pure
LabellingSession judges every scan; each match is journaled as `package_labelled`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from enum import StrEnum

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from station.devices.scanner import RawScan
from station.sync.bench_labels import LabelBatch, PackRefused, SlipOutcome
from station.sync.client import ServerRefused, ServerUnavailable
from station.sync.shipping_client import purchase_running
from station.ui.background import Background
from station.ui.signals import emit
from station.ui.view_models.work import JournalAppend, Progress, VerdictKind, WorkViewModel
from station.work.events import Clock, Event
from station.work.labelling import LabellingSession
from station.work.lines import LineProgress
from station.work.verdict import Accepted, Verdict

log = logging.getLogger(__name__)

# Blocking: buy (or find) the labels and queue them for printing; gets the labels already queued.
FetchLabels = Callable[[Mapping[int, int]], LabelBatch]
FetchSlip = Callable[[], SlipOutcome]
Reprint = Callable[[int], object]


class LabelPhase(StrEnum):
    BUYING = "buying"  # asking the server (or waiting for the pack to reach it)
    WAITING = "waiting"  # the server could not be reached: retrying by itself
    REFUSED = "refused"  # the server said no: a supervisor must look
    SCANNING = "scanning"  # labels printed: scan each onto its carton
    STOPPED = "stopped"  # the bench moved on (the office changed the order)


class LabelViewModel(WorkViewModel):
    # Escape after a refusal: the order leaves the bench packed but unlabelled (operator words).
    set_aside = Signal(str)
    # The labels now printing, as (package number, tracking number): the demo's virtual scanner
    # offers them as buttons, standing in for the printed labels a packer would scan.
    labels_printed = Signal(object)

    def __init__(
        self,
        *,
        order_id: int,
        order_number: str,
        fetch: FetchLabels,
        fetch_slip: FetchSlip | None,
        background: Background,
        clock: Clock,
        journal_append: JournalAppend,
        reprint: Reprint | None = None,
        retry_ms: int = 5000,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(journal_append=journal_append, parent=parent)
        self.order_id, self.order_number = order_id, order_number
        self._fetch, self._fetch_slip = fetch, fetch_slip
        self._background = background
        self._clock = clock
        self._reprint = reprint
        self.session: LabellingSession | None = None
        self.phase = LabelPhase.BUYING
        self._problem = ""
        self._slip: SlipOutcome | None = None
        self._jobs: dict[int, int] = {}  # package id -> print job, for reprints
        self._retry = QTimer(self)  # dies with this view-model: no retry for a gone order
        self._retry.setSingleShot(True)
        self._retry.setInterval(retry_ms)
        self._retry.timeout.connect(self._ask)
        self._announced_wait = False  # one amber flash and sound per outage, not per retry

    # -- the buy ---------------------------------------------------------------------------
    def begin(self) -> None:
        self._ask()

    @Slot()
    def retry(self) -> None:
        """Enter: try the server now (a label not bought yet, or a packing slip not printed)."""
        if self.phase in (LabelPhase.WAITING, LabelPhase.REFUSED):
            self._retry.stop()
            self._ask()
        elif self.phase is LabelPhase.SCANNING and self._slip is not None and self._slip.retry:
            self._print_slip()

    def stop(self) -> None:
        self._retry.stop()
        self.phase = LabelPhase.STOPPED

    @Slot()
    def _ask(self) -> None:
        if self.phase is LabelPhase.STOPPED or self.session is not None:
            return
        self.phase = LabelPhase.BUYING
        self.refresh()
        queued = dict(self._jobs)
        self._background.submit(lambda: self._fetch(queued), on_result=self._got,
                                on_error=self._failed)  # fmt: skip

    def _got(self, batch: LabelBatch) -> None:
        if self.phase is LabelPhase.STOPPED:
            return
        self._jobs.update(batch.jobs)
        self.session = LabellingSession(
            order_id=self.order_id, order_number=self.order_number, packages=batch.packages,
            clock=self._clock, already_labelled=batch.labelled,
        )  # fmt: skip
        self.phase = LabelPhase.SCANNING
        self.labels_printed.emit(tuple((p.package_no, p.tracking_number)
                                       for p in self.session.packages))  # fmt: skip
        self._set_slip(batch.slip)
        count = len(batch.packages)
        self._run(lambda: Accepted(
            message=f"{count} label(s) printing: stick each on its carton and scan it",
            remaining=count))  # fmt: skip

    def _failed(self, exc: BaseException) -> None:
        if self.phase is LabelPhase.STOPPED:
            return
        if isinstance(exc, ServerUnavailable) or purchase_running(exc):
            self.phase = LabelPhase.WAITING
            self._problem = (
                f"No label yet: the server cannot be reached ({_short(exc)}). The order stays "
                "here and is tried again by itself; Enter tries now"
            )
            if purchase_running(exc):
                self._problem = "The label is still being bought: waiting for it"
            self._retry.start()
            if self._announced_wait:
                emit(self.instruction, self.next_instruction())
            else:
                self._announced_wait = True
                self._say(VerdictKind.NEEDS, self._problem)
            return
        self.phase = LabelPhase.REFUSED
        if isinstance(exc, PackRefused):
            why = f"the server refused this pack ({exc.detail})"
        elif isinstance(exc, ServerRefused):
            why = exc.detail
        else:
            log.exception("label step failed", exc_info=exc)
            why = f"{type(exc).__name__}: {exc}"
        self._problem = (
            f"The label could not be bought: {why}. Call the supervisor (Enter tries again, "
            "Escape sets the order aside)"
        )
        self._say(VerdictKind.REJECTED, self._problem)

    # -- packing slip -----------------------------------------------------------------------
    def _print_slip(self) -> None:
        if self._fetch_slip is None:
            return
        failed = SlipOutcome(words="Packing slip not printed: Enter tries again", retry=True)
        self._background.submit(self._fetch_slip, on_result=self._set_slip,
                                on_error=lambda _: self._set_slip(failed))  # fmt: skip

    def _set_slip(self, outcome: SlipOutcome | None) -> None:
        self._slip = outcome
        if self.phase is LabelPhase.SCANNING:
            emit(self.instruction, self.next_instruction())

    # -- scans -----------------------------------------------------------------------------
    @Slot(object)
    def handle_scan(self, scan: RawScan) -> None:
        if self.session is None:
            words = (
                "Wait: the label is being bought, then scan it"
                if self.phase is LabelPhase.BUYING
                else self._problem
            )
            self._say(VerdictKind.REJECTED, words)  # nothing counts before the label exists
            return
        super().handle_scan(scan)

    def _scan(self, scan: RawScan) -> Verdict:
        assert self.session is not None
        return self.session.scan_text(scan.text, symbology_id=scan.symbology_id)

    def _drain(self) -> list[Event]:
        return self.session.drain_events() if self.session is not None else []

    def _is_complete(self) -> bool:
        return self.session is not None and self.session.complete

    @Slot()
    def reprint_label(self) -> None:
        """F5: the label the instruction asks for, again (torn, smudged, will not scan)."""
        s = self.session
        package = s.next if s is not None else None
        if package is None or self._reprint is None or package.package_id not in self._jobs:
            self._say(VerdictKind.REJECTED, "No label to print again here")
            return
        self._reprint(self._jobs[package.package_id])
        self._say(VerdictKind.ACCEPTED, f"Label of package {package.package_no} printing again")

    def cancel(self) -> None:
        """Escape. A refused purchase may be set aside for the supervisor: the order stays
        packed and unlabelled on the server, which never calls it labelled without the scan.
        Otherwise there is nothing to drop (a label is never skipped): re-announce."""
        if self.phase is LabelPhase.REFUSED:
            self.stop()
            emit(self.set_aside, f"Order {self.order_number} is packed but has no label: put "
                                 "the cartons on the supervisor's shelf")  # fmt: skip
            return
        self.refresh()

    # -- what the screen shows ---------------------------------------------------------------
    def progress(self) -> Progress:
        s = self.session
        if s is None:
            return Progress(order_number=self.order_number, done=0, expected=0, lines=())
        lines = tuple(
            LineProgress(line_no=p.package.package_no, sku=p.package.tracking_number,
                         name=f"Package {p.package.package_no} {p.package.carrier}".strip(),
                         ordered=1, scanned=int(p.scanned), overridden=0, short=0,
                         remaining=0 if p.scanned else 1)
            for p in s.progress()
        )  # fmt: skip
        return Progress(order_number=self.order_number, done=s.done, expected=s.total, lines=lines)

    def next_instruction(self) -> str:
        if self.phase is LabelPhase.BUYING:
            return f"Order {self.order_number} packed: the label is being bought..."
        if self.phase in (LabelPhase.WAITING, LabelPhase.REFUSED):
            return self._problem
        s = self.session
        if s is None:
            return f"Order {self.order_number}: labelling stopped"
        if s.complete:
            return f"Order {self.order_number} labelled"
        package = s.next
        assert package is not None
        text = (f"Scan the label of package {package.package_no} of {s.total} "
                f"({package.tracking_number})")  # fmt: skip
        return f"{text}. {self._slip.words}" if self._slip is not None else text

    def _say(self, kind: VerdictKind, words: str) -> None:
        emit(self.verdict, kind.value, words)
        emit(self.instruction, self.next_instruction())


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) <= 80 else text[:77] + "..."
