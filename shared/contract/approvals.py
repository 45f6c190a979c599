"""Four-eyes over HTTP: the matrix, requests as an approver reads them, and changes that may
wait for a second person. `payload_digest` is here because both sides compute it: the station
sends the digest of the payload it showed, the server compares it with the one it stored."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from shared.contract.common import Model
from shared.contract.stations import ApprovalOut


def payload_digest(payload: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON (sorted keys, no spaces): the same payload gives the same
    digest on every machine, whatever order its keys arrived in."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class ApprovalItemOut(ApprovalOut):
    """An approval request with what a person needs to decide it: the words, and names."""

    words: str = ""
    requested_by_name: str = ""
    decided_by_name: str | None = None
    decided_at: datetime | None = None


class FourEyesPolicyOut(Model):
    operation: str
    need: str  # always | above | never
    field: str | None
    threshold: str | None  # a decimal, as text
    approver_roles: list[str]
    words: str
    waived: bool  # "never" set on purpose for an operation domain.md protects
    configurable: bool
    available: bool  # the server can execute it (customer unmerge has nothing to run yet)


class ChangeOut(Model):
    """A change that goes through four-eyes: waiting for a second person (202, `approval`),
    or carried out at once because the matrix needs nobody else (`applied`, `result`)."""

    applied: bool
    approval: ApprovalItemOut | None = None
    result: dict[str, Any] | None = None
