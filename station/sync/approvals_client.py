"""The supervisors' link to four-eyes approvals: a small Protocol, its implementation composed
over the bench's HttpGateway (same session, same two kinds of failure), and a fake for tests
and the demo that answers like the server (self-approval, roles, tampering, decided twice)."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Protocol

from shared.contract import PROBLEM_BASE as PROBLEM
from shared.contract.approvals import ApprovalItemOut, payload_digest
from shared.contract.stations import DecisionIn
from station.sync.client import ServerRefused, ServerUnavailable, parse_as


class ApprovalsClient(Protocol):
    def pending(self) -> list[ApprovalItemOut]: ...

    def decide(
        self, *, approval_id: int, approve: bool, reason: str, payload_hash: str, badge: str
    ) -> ApprovalItemOut: ...


class JsonCaller(Protocol):
    """What HttpGateway offers feature clients: one JSON call as the signed-in operator."""

    def call(self, method: str, path: str, **kw: Any) -> Any: ...


class HttpApprovalsClient:
    def __init__(self, *, gateway: JsonCaller) -> None:
        self._gateway = gateway

    def pending(self) -> list[ApprovalItemOut]:
        data = self._gateway.call("GET", "/approvals")
        if not isinstance(data, list):
            raise ServerUnavailable("the server's approvals list is not a list")
        return [parse_as(ApprovalItemOut, x) for x in data]

    def decide(
        self, *, approval_id: int, approve: bool, reason: str, payload_hash: str, badge: str
    ) -> ApprovalItemOut:
        body = DecisionIn(approve=approve, reason=reason, payload_hash=payload_hash, badge=badge)
        data = self._gateway.call(
            "POST", f"/approvals/{approval_id}/decision", json=body.model_dump(mode="json")
        )
        return parse_as(ApprovalItemOut, data)


class FakeApprovalsClient:
    """Pending requests in memory; badges map to (operator id, name, roles)."""

    def __init__(
        self,
        *,
        items: Iterable[ApprovalItemOut] = (),
        badges: dict[str, tuple[int, str, tuple[str, ...]]] | None = None,
    ) -> None:
        self.online = True
        self._lock = threading.Lock()
        self._items = {x.id: x for x in items}
        self._badges = dict(badges or {})
        self.decisions: list[tuple[int, bool, str, str]] = []  # id, approve, reason, badge

    def pending(self) -> list[ApprovalItemOut]:
        self._check_online()
        with self._lock:
            return [x for x in self._items.values() if x.state == "pending"]

    def decide(
        self, *, approval_id: int, approve: bool, reason: str, payload_hash: str, badge: str
    ) -> ApprovalItemOut:
        self._check_online()
        with self._lock:
            item = self._items.get(approval_id)
            if item is None:
                raise ServerRefused(status=404, detail=f"approval {approval_id} does not exist",
                                    problem_type=PROBLEM + "not-found")  # fmt: skip
            who = self._badges.get(badge)
            if who is None:
                raise ServerRefused(status=401, detail="this badge is not known",
                                    problem_type=PROBLEM + "unauthenticated")  # fmt: skip
            operator_id, name, roles = who
            if not {"supervisor", "admin"} & set(roles):
                raise ServerRefused(status=403, detail="only supervisor can approve or refuse",
                                    problem_type=PROBLEM + "forbidden")  # fmt: skip
            if item.state != "pending":
                raise ServerRefused(status=409, detail=f"already {item.state}",
                                    problem_type=PROBLEM + "approval-state")  # fmt: skip
            if operator_id == item.requested_by:
                raise ServerRefused(status=403, detail="the person who asked cannot approve or "
                                    "refuse their own request",
                                    problem_type=PROBLEM + "self-approval")  # fmt: skip
            if payload_hash != payload_digest(item.payload):
                raise ServerRefused(status=409, detail="the payload you approved is not the one "
                                    "that was requested",
                                    problem_type=PROBLEM + "approval-payload-mismatch")  # fmt: skip
            done = item.model_copy(update={
                "state": "executed" if approve else "refused", "decided_by": operator_id,
                "decided_by_name": name, "decision_reason": reason,
                "decided_at": datetime.now(UTC),
            })  # fmt: skip
            self._items[approval_id] = done
            self.decisions.append((approval_id, approve, reason, badge))
            return done

    def add(self, item: ApprovalItemOut) -> None:
        with self._lock:
            self._items[item.id] = item

    def _check_online(self) -> None:
        if not self.online:
            raise ServerUnavailable("fake server is offline")
