"""The bench's link to the server: a small Protocol, and its httpx implementation.

Every failure is one of two kinds, because the caller reacts to them differently:
`ServerUnavailable` (nothing listening, timeout, 5xx, a proxy's HTML page: try again later, the
bench works offline meanwhile) and `ServerRefused` (the server understood and said no, a 4xx
problem: retrying the same request will not help).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, Protocol, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from shared.contract import API_PREFIX
from shared.contract.events import EventBatch, EventResult, EventResults, StationEvent
from shared.contract.orders import TaskOut
from shared.contract.stations import EnrolOut, LoginIn, LoginOut, SupervisorBadgesOut

M = TypeVar("M", bound=BaseModel)


class ServerUnavailable(Exception):
    """The server could not be reached or did not answer sensibly; try again later."""


class ServerRefused(Exception):
    def __init__(self, *, status: int, detail: str, problem_type: str = "") -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail
        self.problem_type = problem_type


class ServerGateway(Protocol):
    def ping(self) -> None: ...

    def login(self, *, badge: str, pin: str | None = None) -> LoginOut: ...

    def logout_local(self) -> None: ...

    def tasks(self) -> list[TaskOut]: ...

    def supervisor_badges(self) -> list[str]: ...

    def claim(self, *, order_id: int) -> TaskOut: ...

    def post_events(self, *, events: Sequence[StationEvent]) -> list[EventResult]: ...


class HttpGateway:
    def __init__(
        self,
        *,
        base_url: str,
        station_token: str,
        timeout_s: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.station_token = station_token
        self._operator_token: str | None = None
        self._lock = threading.Lock()
        # One pooled client shared by the pusher and the work threads (httpx.Client is
        # thread-safe for requests); connect fails fast so an outage is noticed quickly.
        self._http = httpx.Client(
            base_url=self.base_url + API_PREFIX,
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 3.0)),
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def headers(self) -> dict[str, str]:
        h = {"Authorization": f"Bearer {self.station_token}"}
        with self._lock:
            if self._operator_token:
                h["X-Operator-Token"] = self._operator_token
        return h

    def ping(self) -> None:
        self.call("GET", self.base_url + "/healthz")

    def login(self, *, badge: str, pin: str | None = None) -> LoginOut:
        body = LoginIn(badge=badge, pin=pin).model_dump(mode="json")
        out = parse_as(LoginOut, self.call("POST", "/operators/login", json=body))
        with self._lock:
            self._operator_token = out.token
        return out

    def logout_local(self) -> None:
        with self._lock:
            self._operator_token = None

    def tasks(self) -> list[TaskOut]:
        data = self.call("GET", "/tasks")
        if not isinstance(data, list):
            raise ServerUnavailable("the server's task list is not a list")
        return [parse_as(TaskOut, x) for x in data]

    def supervisor_badges(self) -> list[str]:
        """SHA-256 digests of supervisors' badges, for offline override checks."""
        return parse_as(
            SupervisorBadgesOut, self.call("GET", "/operators/supervisor-badges")
        ).sha256

    def claim(self, *, order_id: int) -> TaskOut:
        return parse_as(TaskOut, self.call("POST", f"/tasks/{order_id}/claim"))

    def post_events(self, *, events: Sequence[StationEvent]) -> list[EventResult]:
        batch = EventBatch(events=list(events))
        out = parse_as(
            EventResults,
            self.call("POST", "/stations/events", content=batch.model_dump_json()),
        )
        keys = [e.key for e in events]
        if [r.key for r in out.results] != keys:
            # Never guess which event an answer belongs to: mark nothing, send again later.
            raise ServerUnavailable("the server answered for different events than were sent")
        return out.results

    def call(self, method: str, path: str, **kw: Any) -> Any:
        """One JSON call as the signed-in operator: transport trouble, 5xx, 408 and 429 raise
        ServerUnavailable (try again later); other 4xx raise ServerRefused with the problem's
        words. Feature clients (labels, returns, dashboard) compose this instead of copying it."""
        return _json(self._send(method, path, **kw))

    def call_bytes(self, method: str, path: str, **kw: Any) -> bytes:
        """Like `call` for a binary answer (ZPL, PDF): the body on success."""
        resp = self._send(method, path, **kw)
        if resp.status_code >= 400:
            _json(resp)  # raises with the problem's words
        return resp.content

    def _send(self, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = self.headers()
        if "content" in kw:
            headers["Content-Type"] = "application/json"
        try:
            resp = self._http.request(method, path, headers=headers, **kw)
        except httpx.TransportError as exc:  # refused, reset, DNS, timeouts, protocol garbage
            raise ServerUnavailable(f"{type(exc).__name__}: {exc}") from exc
        if resp.status_code >= 500 or resp.status_code in (408, 429):
            raise ServerUnavailable(f"server answered {resp.status_code}")
        return resp


def _json(resp: httpx.Response) -> Any:
    try:
        data = resp.json()
    except ValueError as exc:
        raise ServerUnavailable(
            f"server answered {resp.status_code} with something that is not JSON"
        ) from exc
    if resp.status_code >= 400:
        detail = data.get("detail") if isinstance(data, dict) else None
        kind = data.get("type") if isinstance(data, dict) else None
        raise ServerRefused(
            status=resp.status_code,
            detail=str(detail or resp.reason_phrase),
            problem_type=str(kind or ""),
        )
    return data


def parse_as(model: type[M], data: Any) -> M:
    """Validate a server answer; a shape that does not fit is the server's fault, not ours."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ServerUnavailable(f"the server's answer does not fit {model.__name__}") from exc


def enrol(*, base_url: str, code: str, timeout_s: float = 10.0) -> EnrolOut:
    """Exchange the one-time enrolment code for this station's token (once, at installation)."""
    try:
        r = httpx.post(f"{base_url.rstrip('/')}{API_PREFIX}/stations/enrol", json={"code": code},
                       timeout=timeout_s)  # fmt: skip
    except httpx.HTTPError as exc:
        raise ServerUnavailable(f"cannot reach {base_url}: {exc}") from exc
    if r.status_code >= 400:
        detail = r.json().get("detail", r.text) if r.headers.get("content-type", "").startswith(
            "application/problem+json") else r.text  # fmt: skip
        raise ServerRefused(status=r.status_code, detail=str(detail))
    return parse_as(EnrolOut, r.json())
