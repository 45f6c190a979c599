"""What pick and pack screens share: one scan in, one verdict out, events to the journal.

Order inside one scan: the session decides, the verdict Signal goes out (the screen turns
green/red within the frame), then the drained events go to the journal. The session's count is
already committed in memory before either, so the order costs no durability; journaling first
would put an fsync between the scan and the colour.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from PySide6.QtCore import QObject, Signal, Slot

from station.devices.scanner import RawScan
from station.ui.signals import emit
from station.work.events import Event
from station.work.lines import LineProgress
from station.work.verdict import Accepted, Needs, Rejected, Verdict

log = logging.getLogger(__name__)

JournalAppend = Callable[[Event], None]


class VerdictKind(StrEnum):
    ACCEPTED = "accepted"  # green, good-scan beep
    REJECTED = "rejected"  # red, error sound, nothing counted
    NEEDS = "needs"  # amber: nothing counted, the bench needs another scan first


def kind_of(verdict: Verdict) -> VerdictKind:
    if isinstance(verdict, Accepted):
        return VerdictKind.ACCEPTED
    if isinstance(verdict, Rejected):
        return VerdictKind.REJECTED
    return VerdictKind.NEEDS


def words_of(verdict: Verdict) -> str:
    return verdict.message if isinstance(verdict, Accepted) else verdict.words


@dataclass(frozen=True, kw_only=True)
class Progress:
    order_number: str
    done: int  # units scanned, overridden or shorted
    expected: int
    lines: tuple[LineProgress, ...]
    boxes: int = 0  # pack: boxes opened so far


def progress_of(number: str, lines: tuple[LineProgress, ...], *, boxes: int = 0) -> Progress:
    expected = sum(p.ordered for p in lines)
    done = sum(p.ordered - max(p.remaining, 0) for p in lines)
    return Progress(order_number=number, done=done, expected=expected, lines=lines, boxes=boxes)


class WorkViewModel(QObject):
    verdict = Signal(str, str)  # VerdictKind value, operator words
    progress_changed = Signal(object)  # Progress
    instruction = Signal(str)  # the one thing to scan next
    completed = Signal()
    fault = Signal(str)  # the journal refused an event: work must stop for a supervisor

    def __init__(self, *, journal_append: JournalAppend, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._journal_append = journal_append
        self._unjournaled: list[Event] = []
        self._last: Verdict | None = None
        # The last "needs" stays the instruction until a scan is accepted or it is cancelled,
        # even if a wrong card is scanned in between (that one is only a red flash).
        self._needs: Needs | None = None
        self._announced_complete = False

    # -- subclass hooks -------------------------------------------------------------------
    def _scan(self, scan: RawScan) -> Verdict:
        raise NotImplementedError

    def _drain(self) -> list[Event]:
        raise NotImplementedError

    def _is_complete(self) -> bool:
        raise NotImplementedError

    def progress(self) -> Progress:
        raise NotImplementedError

    def next_instruction(self) -> str:
        raise NotImplementedError

    def cancel(self) -> None:
        """Drop a pending short/override request (Escape)."""
        raise NotImplementedError

    # -- shared -------------------------------------------------------------------------
    @property
    def last_verdict(self) -> Verdict | None:
        return self._last

    @Slot(object)
    def handle_scan(self, scan: RawScan) -> None:
        self._run(lambda: self._scan(scan))

    def refresh(self) -> None:
        """Re-announce progress and instruction (a screen that was just shown)."""
        emit(self.progress_changed, self.progress())
        emit(self.instruction, self.next_instruction())

    def _run(self, step: Callable[[], Verdict]) -> Verdict:
        verdict = step()
        self._last = verdict
        if isinstance(verdict, Needs):
            self._needs = verdict
        elif isinstance(verdict, Accepted):
            self._needs = None
        emit(self.verdict, kind_of(verdict).value, words_of(verdict))
        self._journal(self._drain())
        emit(self.progress_changed, self.progress())
        emit(self.instruction, self.next_instruction())
        if self._is_complete() and not self._announced_complete:
            self._announced_complete = True
            emit(self.completed)
        return verdict

    def _pending_words(self) -> str | None:
        return self._needs.words if self._needs is not None else None

    def _forget_needs(self) -> None:
        self._last, self._needs = None, None

    def _journal(self, events: list[Event]) -> None:
        queue = self._unjournaled + events
        self._unjournaled = []
        for index, event in enumerate(queue):
            try:
                self._journal_append(event)
            except Exception:
                # Keep it (and everything after it, in order) for the next attempt: an event
                # that never reaches the journal never reaches the server either.
                log.exception("journal append failed for %s", type(event).__name__)
                self._unjournaled = queue[index:]
                emit(self.fault, "The bench cannot save its work: call a supervisor")
                return
