"""Four-eyes at the bench: a supervisor badge, then a reason card, recorded with who.

The session never knows roles. The caller injects a SupervisorCheck; on the station it is
built from the badges the server listed as supervisors for this bench (so it still works
offline), in tests and the demo it is SupervisorBadges.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from station.work.scan import BadgeScan, ReasonScan, StationScan
from station.work.verdict import Action, Needs, Reason, Rejected


class SupervisorCheck(Protocol):
    def __call__(self, badge: str) -> bool: ...


class SupervisorBadges:
    """A fixed set of supervisor badges (the fake, and the offline list the server sends)."""

    def __init__(self, badges: Iterable[str]) -> None:
        self._badges = frozenset(badges)

    def __call__(self, badge: str) -> bool:
        return badge in self._badges


# The safe default: a session built without a check has no supervisors, so no override.
NO_SUPERVISORS = SupervisorBadges(())


@dataclass(frozen=True, kw_only=True)
class Grant:
    line_no: int | None
    units: int
    supervisor_badge: str
    reason_code: str


@dataclass(frozen=True, kw_only=True)
class Refusal:
    badge: str
    reason: Reason
    verdict: Rejected


class _Step(Enum):
    BADGE = "badge"
    REASON = "reason"


class OverrideFlow:
    """Badge first, then reason. A refusal keeps the request open (scan the right badge)."""

    def __init__(self, *, check: SupervisorCheck, operator_badge: str | None) -> None:
        self._check = check
        self._operator = operator_badge
        self._step: _Step | None = None
        self._line_no: int | None = None
        self._units = 0
        self._supervisor: str | None = None

    @property
    def active(self) -> bool:
        return self._step is not None

    @property
    def target(self) -> int | None:
        return self._line_no

    def begin(self, *, line_no: int | None, units: int, what: str) -> Needs:
        self._step, self._line_no, self._units, self._supervisor = _Step.BADGE, line_no, units, None
        return Needs(
            action=Action.SCAN_SUPERVISOR_BADGE,
            words=f"{what}: a supervisor must scan their badge",
        )

    def cancel(self) -> None:
        self._step, self._line_no, self._units, self._supervisor = None, None, 0, None

    def apply(self, scan: StationScan) -> Needs | Rejected | Refusal | Grant:
        if self._step is _Step.BADGE:
            if isinstance(scan, BadgeScan):
                return self._badge(scan.badge)
            if isinstance(scan, ReasonScan):
                return Rejected(
                    reason=Reason.SUPERVISOR_REQUIRED,
                    words="A supervisor must scan their badge before the reason card",
                )
            return Needs(
                action=Action.SCAN_SUPERVISOR_BADGE,
                words="Waiting for a supervisor badge (or cancel)",
            )
        if self._step is _Step.REASON and self._supervisor is not None:
            if isinstance(scan, ReasonScan):
                grant = Grant(
                    line_no=self._line_no,
                    units=self._units,
                    supervisor_badge=self._supervisor,
                    reason_code=scan.code,
                )
                self.cancel()
                return grant
            return Needs(action=Action.SCAN_REASON_CARD, words="Supervisor: scan a reason card")
        raise RuntimeError("no override in progress")

    def _badge(self, badge: str) -> Needs | Refusal:
        if self._operator is not None and badge == self._operator:
            words = "You cannot approve your own override: call another supervisor"
            rejected = Rejected(reason=Reason.SAME_PERSON, words=words)
            return Refusal(badge=badge, reason=Reason.SAME_PERSON, verdict=rejected)
        if not self._check(badge):
            words = "That badge is not a supervisor's: call a supervisor"
            rejected = Rejected(reason=Reason.NOT_A_SUPERVISOR, words=words)
            return Refusal(badge=badge, reason=Reason.NOT_A_SUPERVISOR, verdict=rejected)
        self._supervisor = badge
        self._step = _Step.REASON
        return Needs(action=Action.SCAN_REASON_CARD, words="Supervisor: scan a reason card")


class SupervisorDigests:
    """Supervisors known by the SHA-256 of their badge, as the server hands them out: the bench
    can check an override offline without ever holding a list of badges."""

    def __init__(self, digests: Iterable[str]) -> None:
        self._digests = frozenset(digests)

    def update(self, digests: Iterable[str]) -> None:
        """Replace the list (after a sign-in refresh); the old one stays in use offline."""
        self._digests = frozenset(digests)

    def __call__(self, badge: str) -> bool:
        return hashlib.sha256(badge.encode()).hexdigest() in self._digests
