"""The supervisors' approvals screen: pending four-eyes requests in words; approve or refuse one
by choosing (F7 / F8), scanning the deciding supervisor's badge, then a reason card (or typing
the reason and Enter).

The digest sent with the decision is computed here from the payload the screen showed, so the
server executes only what the supervisor read. The person who asked can never decide: the
server refuses it (and the database would too); the screen says so at once when the badge is
the signed-in operator's own and the request is theirs. Calls run off the GUI thread.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from shared.contract.approvals import ApprovalItemOut, payload_digest
from station.devices.scanner import RawScan
from station.sync.approvals_client import ApprovalsClient
from station.sync.client import ServerRefused
from station.ui.background import Background
from station.ui.signals import emit
from station.ui.view_models.login import Operator
from station.ui.view_models.work import VerdictKind
from station.ui.words import gateway_failure
from station.work.scan import BadgeScan, ReasonScan, UnknownScan, read_text

MAX_REASON = 500  # DecisionIn.reason
MAX_DETAILS = 24  # payload lines on screen; the rest is summarised


class Step(StrEnum):
    CHOOSE = "choose"  # pick a request, then F7 approve / F8 refuse
    BADGE = "badge"  # the deciding supervisor scans their badge
    REASON = "reason"  # a reason card, or typed + Enter
    SENDING = "sending"


@dataclass(frozen=True, kw_only=True)
class ApprovalLine:
    id: int
    operation: str
    words: str
    asked_by: str
    reason: str
    details: tuple[str, ...]  # the payload, one "name: value" per line


def payload_lines(payload: Mapping[str, Any], prefix: str = "") -> list[str]:
    lines: list[str] = []
    for key, value in payload.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            lines.extend(payload_lines(value, prefix=f"{name}."))
        elif isinstance(value, list):
            lines.append(f"{name}: {', '.join(str(x) for x in value) or '-'}")
        else:
            lines.append(f"{name}: {'-' if value is None or value == {} else value}")
    return lines


def line_of(item: ApprovalItemOut) -> ApprovalLine:
    details = payload_lines(item.payload)
    if len(details) > MAX_DETAILS:
        details = [*details[:MAX_DETAILS], f"... and {len(details) - MAX_DETAILS} more"]
    return ApprovalLine(
        id=item.id,
        operation=item.operation,
        words=item.words or item.operation.replace("_", " "),
        asked_by=item.requested_by_name or f"operator {item.requested_by}",
        reason=item.reason,
        details=tuple(details),
    )


def decision_failure(exc: BaseException) -> str:
    """Operator words for a refused decision; everything else as the gateway says it."""
    if isinstance(exc, ServerRefused):
        kind = exc.problem_type
        if kind.endswith("self-approval"):
            return "You asked for this yourself: another supervisor must decide"
        if kind.endswith("payload-mismatch"):
            return "This request changed since it was shown: look at it again"
        if kind.endswith("approval-state"):
            return "Someone already decided this request"
        if exc.status == 401:
            return "Badge not recognised: scan a supervisor's badge"
        if exc.status == 403:
            return f"That badge may not decide this: {exc.detail}"
    return gateway_failure(exc, doing="send the decision")


class ApprovalsViewModel(QObject):
    items_changed = Signal(object)  # tuple[ApprovalLine, ...]
    selection_changed = Signal(int)  # row, -1 when the list is empty
    instruction = Signal(str)
    step_changed = Signal(str)  # Step value
    busy_changed = Signal(bool)
    verdict = Signal(str, str)  # VerdictKind value, words
    decided = Signal(object)  # ApprovalItemOut, as the server recorded it

    def __init__(
        self, *, client: ApprovalsClient, background: Background, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._client = client
        self._background = background
        self._items: tuple[ApprovalItemOut, ...] = ()
        self._row = -1
        self._step = Step.CHOOSE
        self._approve = True
        self._badge: str | None = None
        self._typed = ""
        self._operator: Operator | None = None
        self._inflight = 0

    @property
    def step(self) -> Step:
        return self._step

    @property
    def lines(self) -> tuple[ApprovalLine, ...]:
        return tuple(line_of(x) for x in self._items)

    @property
    def selected(self) -> ApprovalItemOut | None:
        return self._items[self._row] if 0 <= self._row < len(self._items) else None

    def set_operator(self, operator: Operator | None) -> None:
        self._operator = operator

    # -- the list -------------------------------------------------------------------------
    @Slot()
    def refresh(self) -> None:
        client = self._client
        self._started()
        self._background.submit(client.pending, on_result=self._listed, on_error=self._list_failed)

    def _listed(self, items: list[ApprovalItemOut]) -> None:
        self._ended()
        keep = self.selected.id if self.selected is not None else None
        self._items = tuple(items)
        rows = [i for i, x in enumerate(self._items) if x.id == keep]
        self._row = rows[0] if rows else (0 if self._items else -1)
        emit(self.items_changed, self.lines)
        emit(self.selection_changed, self._row)
        if self._step is Step.CHOOSE:
            self._say()
        elif self.selected is None or self.selected.id != keep:
            self.cancel()  # the request being decided is gone (decided elsewhere)

    def _list_failed(self, exc: BaseException) -> None:
        self._ended()
        emit(self.verdict, VerdictKind.REJECTED.value,
             gateway_failure(exc, doing="load the approvals"))  # fmt: skip

    @Slot(int)
    def select(self, row: int) -> None:
        if self._step is not Step.CHOOSE or not 0 <= row < len(self._items) or row == self._row:
            return  # the request being decided stays put until it is sent or cancelled
        self._row = row
        emit(self.selection_changed, row)
        self._say()

    @Slot()
    def select_next(self) -> None:
        self.select(self._row + 1)

    @Slot()
    def select_previous(self) -> None:
        self.select(self._row - 1)

    # -- one decision ---------------------------------------------------------------------
    @Slot()
    def approve(self) -> None:
        self._begin(approve=True)

    @Slot()
    def refuse(self) -> None:
        self._begin(approve=False)

    def _begin(self, *, approve: bool) -> None:
        if self._step is Step.SENDING:
            return
        item = self.selected
        if item is None:
            emit(self.verdict, VerdictKind.REJECTED.value, "Nothing is waiting for approval")
            return
        self._approve, self._badge, self._typed = approve, None, ""
        self._set_step(Step.BADGE)
        self._say()

    @Slot()
    def cancel(self) -> None:
        if self._step is Step.SENDING:
            return  # the answer is on its way; it decides what the screen shows
        self._badge, self._typed = None, ""
        self._set_step(Step.CHOOSE)
        self._say()

    @Slot(object)
    def handle_scan(self, scan: RawScan) -> None:
        meaning = read_text(scan.text, symbology_id=scan.symbology_id)
        step = self._step
        if step is Step.SENDING:
            self._needs("Wait: the decision is being sent")
        elif step is Step.CHOOSE:
            self._needs("First choose: F7 approve or F8 refuse")
        elif step is Step.BADGE:
            # Badges are "BADGE-..." cards here, but the server is the authority on which
            # badges exist; only clear non-badges stop here (as at sign-in).
            if not isinstance(meaning, BadgeScan | UnknownScan) or (
                isinstance(meaning, UnknownScan) and "badge" in meaning.reason
            ):
                self._rejected("That is not a badge: the deciding supervisor scans their badge")
                return
            self._badge_scanned(scan.text)
        elif isinstance(meaning, ReasonScan):
            self._send(meaning.code)
        elif isinstance(meaning, BadgeScan):
            self._needs("Badge taken: now scan a reason card (or type the reason)")
        else:
            self._rejected("That is not a reason card: scan one, or type the reason and Enter")

    @Slot(str)
    def type_reason(self, text: str) -> None:
        self._typed = text

    @Slot()
    def enter(self) -> None:
        if self._step is Step.REASON:
            if self._typed.strip():
                self._send(self._typed.strip())
            else:
                self._needs("Scan a reason card, or type the reason and press Enter")

    def _badge_scanned(self, badge: str) -> None:
        item, me = self.selected, self._operator
        assert item is not None
        if me is not None and badge == me.badge and item.requested_by == me.id:
            self._rejected("You asked for this yourself: another supervisor must decide")
            return  # stays at the badge step: another supervisor can scan now
        self._badge = badge
        self._set_step(Step.REASON)
        self._say()

    def _send(self, reason: str) -> None:
        item, badge = self.selected, self._badge
        assert item is not None and badge is not None
        reason = reason[:MAX_REASON]
        approve, client = self._approve, self._client
        # What the supervisor read is what they sign: the digest of the shown payload.
        seen = payload_digest(item.payload)
        self._set_step(Step.SENDING)
        self._say()
        self._started()
        self._background.submit(
            lambda: client.decide(approval_id=item.id, approve=approve, reason=reason,
                                  payload_hash=seen, badge=badge),
            on_result=self._decided,
            on_error=self._decide_failed,
        )  # fmt: skip

    def _decided(self, out: ApprovalItemOut) -> None:
        self._ended()
        self._items = tuple(x for x in self._items if x.id != out.id)
        self._row = min(self._row, len(self._items) - 1)
        self._badge, self._typed = None, ""
        self._set_step(Step.CHOOSE)
        emit(self.items_changed, self.lines)
        emit(self.selection_changed, self._row)
        done = "Approved" if out.state in ("approved", "executed") else "Refused"
        emit(self.verdict, VerdictKind.ACCEPTED.value, f"{done}: {line_of(out).words}")
        emit(self.decided, out)
        self._say()
        self.refresh()

    def _decide_failed(self, exc: BaseException) -> None:
        self._ended()
        words = decision_failure(exc)
        badge_problem = isinstance(exc, ServerRefused) and (
            exc.status in (401, 403) or exc.problem_type.endswith("self-approval")
        )
        self._badge = None
        self._set_step(Step.BADGE if badge_problem else Step.CHOOSE)
        self._rejected(words)
        self._say()
        if isinstance(exc, ServerRefused) and exc.status in (404, 409):
            self.refresh()  # decided or changed elsewhere: show what is really waiting

    # -- words ----------------------------------------------------------------------------
    def _say(self) -> None:
        item = self.selected
        if item is None:
            words = "Nothing is waiting for approval (Escape: back)"
        elif self._step is Step.CHOOSE:
            words = f"#{item.id}: F7 approve, F8 refuse (Up/Down: another request)"
        elif self._step is Step.BADGE:
            verb = "Approve" if self._approve else "Refuse"
            words = f"{verb} #{item.id}: the deciding supervisor scans their badge"
        elif self._step is Step.REASON:
            words = "Scan a reason card, or type the reason and press Enter"
        else:
            words = "Sending the decision..."
        emit(self.instruction, words)

    def _needs(self, words: str) -> None:
        emit(self.verdict, VerdictKind.NEEDS.value, words)

    def _rejected(self, words: str) -> None:
        emit(self.verdict, VerdictKind.REJECTED.value, words)

    def _set_step(self, step: Step) -> None:
        if step is not self._step:
            self._step = step
            emit(self.step_changed, step.value)

    def _started(self) -> None:
        self._inflight += 1
        if self._inflight == 1:
            emit(self.busy_changed, True)

    def _ended(self) -> None:
        self._inflight -= 1
        if self._inflight == 0:
            emit(self.busy_changed, False)
