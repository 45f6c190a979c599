"""Stations, operators and four-eyes approvals."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from shared.contract.common import Model

Role = Literal["picker", "packer", "returns", "dispatch", "supervisor", "admin"]


class EnrolmentCodeIn(Model):
    station_name: str = Field(min_length=1, max_length=100)
    kind: Literal["bench", "returns", "dispatch", "supervisor"] = "bench"


class EnrolmentCodeOut(Model):
    code: str


class EnrolIn(Model):
    code: str = Field(min_length=1, max_length=100)


class EnrolOut(Model):
    station_id: int
    name: str
    token: str


class OperatorIn(Model):
    name: str = Field(min_length=1, max_length=100)
    badge: str = Field(min_length=4, max_length=80)
    roles: list[Role] = Field(min_length=1)
    pin: str | None = Field(default=None, min_length=4, max_length=8, pattern=r"^\d+$")


class LoginIn(Model):
    badge: str = Field(min_length=1, max_length=80)
    pin: str | None = Field(default=None, max_length=8)


class LoginOut(Model):
    token: str
    operator_id: int
    name: str
    roles: list[str]


class ApprovalRequestIn(Model):
    operation: str = Field(min_length=1, max_length=40)
    payload: dict[str, Any]
    reason: str = Field(min_length=1, max_length=500)


class DecisionIn(Model):
    approve: bool
    reason: str = Field(min_length=1, max_length=500)
    payload_hash: str = Field(min_length=64, max_length=64)
    badge: str = Field(min_length=1, max_length=80)
    pin: str | None = Field(default=None, max_length=8)


class ApprovalOut(Model):
    id: int
    operation: str
    payload: dict[str, Any]
    payload_hash: str
    reason: str
    requested_by: int
    state: str
    decided_by: int | None
    decision_reason: str | None
    result: dict[str, Any] | None
    created_at: datetime


class SupervisorBadgesOut(Model):
    """SHA-256 (hex) of each active supervisor's badge text."""

    sha256: list[str]
