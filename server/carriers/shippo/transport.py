"""Thin httpx client for the Shippo REST API: paths, auth, per-call timeouts, error translation.

Auth is `Authorization: ShippoToken <key>` (docs curl examples, old client api_requestor.py);
the API version header pins the shape our mapping was written against (SDK v4 default).
The key is only ever placed in the header of this client; it is never logged or put in errors.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx

from server.carriers.base import CarrierError
from server.carriers.shippo.mapping import error_from_response

log = logging.getLogger(__name__)
API_VERSION = "2018-02-08"  # shippo-python-sdk v4 `shippo_api_version`


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # HTTP-date form: not seen from Shippo; the caller falls back to its backoff


class ShippoTransport:
    def __init__(self, *, base_url: str, api_key: str, client: httpx.Client | None = None) -> None:
        self._base_url = base_url.rstrip("/")
        self._auth = {"Authorization": f"ShippoToken {api_key}"}
        self._client = client or httpx.Client()

    def close(self) -> None:
        self._client.close()

    def call(
        self, method: str, path: str, *, timeout_s: float,
        body: dict[str, Any] | None = None, params: dict[str, str] | None = None,
    ) -> Any:  # fmt: skip
        headers = {**self._auth, "SHIPPO-API-VERSION": API_VERSION, "Accept": "application/json"}
        response = self._send(
            method, self._base_url + path, timeout_s=timeout_s, headers=headers,
            json_body=body, params=params,
        )  # fmt: skip
        try:
            return json.loads(response.content)
        except ValueError:
            raise CarrierError(
                f"Shippo HTTP {response.status_code}: answer is not JSON",
                status=response.status_code,
            ) from None

    def fetch_label(self, url: str, *, timeout_s: float) -> bytes:
        # label_url is a pre-signed S3 link: sending our Authorization header there would both
        # leak the key and make S3 reject the request, so this GET carries no credentials.
        return self._send("GET", url, timeout_s=timeout_s, headers={}).content

    def _send(
        self, method: str, url: str, *, timeout_s: float, headers: dict[str, str],
        json_body: dict[str, Any] | None = None, params: dict[str, str] | None = None,
    ) -> httpx.Response:  # fmt: skip
        if timeout_s <= 0:
            raise CarrierError("timeout: no time left for the Shippo call", transient=True)
        try:
            response = self._client.request(
                method, url, headers=headers, json=json_body, params=params,
                timeout=httpx.Timeout(timeout_s),
            )  # fmt: skip
        except httpx.TimeoutException:
            raise CarrierError(f"timeout after {timeout_s:.1f} s", transient=True) from None
        except httpx.HTTPError as exc:
            raise CarrierError(
                f"Shippo unreachable: {type(exc).__name__}", transient=True
            ) from None
        if response.status_code >= 400:
            retry = _retry_after(response.headers.get("Retry-After"))
            log.info("shippo %s %s -> HTTP %s", method, httpx.URL(url).path, response.status_code)
            raise error_from_response(
                status=response.status_code,
                content_type=response.headers.get("Content-Type", ""),
                content=response.content,
                retry_after_s=retry if response.status_code in (429, 503) else None,
            )
        return response
