"""Thin httpx client for ShipStation API V2: paths, `API-Key` auth, deadlines, errors.

Everything that goes wrong on the wire leaves here as CarrierError; bodies are decoded by
`mapping`. The API key is sent only to the configured API host and never logged.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from server.carriers.base import CarrierError
from server.carriers.shipstation import mapping

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.shipstation.com"
# Public key set for webhook signatures. Public verifiers fetch it from the ShipEngine host
# (third-party code; the docs page's link was not readable): unconfirmed.
DEFAULT_JWKS_URL = "https://api.shipengine.com/jwks"


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """Retry-After is delta-seconds or an HTTP-date (RFC 9110 §10.2.3); [SS9] sends seconds."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class ShipStationTransport:
    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        jwks_url: str = DEFAULT_JWKS_URL,
        client: httpx.Client | None = None,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._jwks_url = jwks_url
        self._client = client or httpx.Client()

    def close(self) -> None:
        self._client.close()

    def post_rates(self, body: dict[str, Any], *, timeout_s: float) -> Any:
        return self._call("POST", "/v2/rates", json=body, timeout_s=timeout_s)

    def buy_rate(self, rate_id: str, body: dict[str, Any], *, timeout_s: float) -> Any:
        path = f"/v2/labels/rates/{quote(rate_id, safe='')}"
        return self._call("POST", path, json=body, timeout_s=timeout_s)

    def void_label(self, label_id: str, *, timeout_s: float) -> Any:
        path = f"/v2/labels/{quote(label_id, safe='')}/void"
        return self._call("PUT", path, timeout_s=timeout_s)

    def track_label(self, label_id: str, *, timeout_s: float) -> Any:
        path = f"/v2/labels/{quote(label_id, safe='')}/track"
        return self._call("GET", path, timeout_s=timeout_s)

    def track_number(self, *, carrier_code: str, tracking_number: str, timeout_s: float) -> Any:
        # GET /v2/tracking?carrier_code=&tracking_number= : used by public V2 clients and the
        # ShipEngine v1 equivalent; not in the V2 OpenAPI file we read (unconfirmed).
        params = {"carrier_code": carrier_code, "tracking_number": tracking_number}
        return self._call("GET", "/v2/tracking", params=params, timeout_s=timeout_s)

    def download(self, url: str, *, timeout_s: float) -> bytes:
        # Download links carry their own token [SS5]; the key only goes to our API host.
        same_host = urlsplit(url).netloc == urlsplit(self._base_url).netloc
        headers = {"API-Key": self._api_key} if same_host else {}
        response = self._send("GET", url, headers=headers, timeout_s=timeout_s)
        if response.status_code != 200:
            raise mapping.error_from_response(response.content, status=response.status_code)
        return response.content

    def fetch_jwks(self, *, timeout_s: float) -> Any:
        response = self._send("GET", self._jwks_url, headers={}, timeout_s=timeout_s)
        if response.status_code != 200:
            raise mapping.error_from_response(response.content, status=response.status_code)
        return mapping.decode_json(response.content, status=response.status_code)

    def _call(
        self,
        method: str,
        path: str,
        *,
        timeout_s: float,
        json: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
    ) -> Any:
        headers = {"API-Key": self._api_key, "Accept": "application/json"}
        response = self._send(
            method,
            self._base_url + path,
            headers=headers,
            json=json,
            params=params,
            timeout_s=timeout_s,
        )
        status = response.status_code
        log.debug("shipstation %s %s -> %s", method, path, status)
        if not 200 <= status < 300:
            raise mapping.error_from_response(response.content, status=status)
        return mapping.decode_json(response.content, status=status)

    def _send(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str],
        timeout_s: float,
        json: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
    ) -> httpx.Response:
        try:
            # httpx applies this to connect, each read and write: a server that answers but
            # dribbles can exceed it, the rate shop's own deadline covers that case.
            response = self._client.request(
                method,
                url,
                headers=headers,
                json=json,
                params=params,
                timeout=httpx.Timeout(timeout_s),
            )
        except httpx.TimeoutException as exc:
            raise CarrierError(f"timeout after {timeout_s:g} s", transient=True) from exc
        except httpx.HTTPError as exc:
            raise CarrierError(f"connection failed: {type(exc).__name__}", transient=True) from exc
        if response.status_code == 429:
            wait = retry_after_seconds(response.headers.get("Retry-After"))
            raise CarrierError(
                "HTTP 429: rate limited"
                + (f", retry after {wait:g} s" if wait is not None else ""),
                status=429,
                retry_after_s=wait,
            )
        return response
