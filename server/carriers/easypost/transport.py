"""Thin httpx I/O for one EasyPost account: auth, deadlines, HTTP failures -> CarrierError.

Auth is HTTP Basic with the API key as username and an empty password, as EasyPost's docs and
curl examples show (`-u KEY:`); the official SDK sends `Bearer KEY` instead [E1, E5]. The key
is never logged: httpx keeps it in the Authorization header only, and log lines name the
account, not the key.
"""

from __future__ import annotations

import logging
import time
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from server.carriers.base import Account, CarrierError
from server.carriers.easypost.mapping import ApiCall, error_from_response, load_json

log = logging.getLogger(__name__)


class Deadline:
    """One overall budget for an operation that takes several requests (buy + labels)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def remaining(self) -> float:
        left = self._end - time.monotonic()
        if left <= 0:
            raise CarrierError(f"EasyPost: timeout after {self.seconds:g} s", transient=True)
        return left


class EasyPostTransport:
    def __init__(self, account: Account, *, client: httpx.Client | None = None) -> None:
        self._account = account
        self._base = account.base_url.rstrip("/")
        self._client = client or httpx.Client(follow_redirects=False)

    def close(self) -> None:
        self._client.close()

    def call(self, call: ApiCall, *, deadline: Deadline) -> dict[str, Any]:
        response = self._send(
            call.method,
            self._base + call.path,
            deadline=deadline,
            json=call.body,
            params=dict(call.params) or None,
            auth=httpx.BasicAuth(self._account.api_key, ""),
        )
        return load_json(response.content)

    def download(self, url: str, *, deadline: Deadline) -> bytes:
        # Label files live on a file host (S3 in recorded traffic), not the API: no auth header,
        # so the API key never leaves for another host.
        return self._send("GET", url, deadline=deadline).content

    def _send(self, method: str, url: str, *, deadline: Deadline, **kw: Any) -> httpx.Response:
        timeout = deadline.remaining()
        try:
            response = self._client.request(method, url, timeout=timeout, **kw)
        except httpx.TimeoutException as exc:
            raise CarrierError(f"EasyPost: timeout after {deadline.seconds:g} s",
                               transient=True) from exc  # fmt: skip
        except httpx.HTTPError as exc:
            raise CarrierError(f"EasyPost: connection failed: {type(exc).__name__}",
                               transient=True) from exc  # fmt: skip
        if response.is_success:
            return response
        retry_after = _retry_after_s(response.headers.get("Retry-After"))
        log.warning(
            "easypost account=%s %s %s -> HTTP %s",
            self._account.name, method, httpx.URL(url).path, response.status_code,
        )  # fmt: skip
        raise error_from_response(
            status=response.status_code,
            content_type=response.headers.get("Content-Type", ""),
            body=response.content,
            retry_after_s=retry_after if response.status_code in (429, 503) else None,
        )


def _retry_after_s(value: str | None) -> float | None:
    """Retry-After as delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
