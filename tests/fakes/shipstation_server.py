"""A local ShipStation API V2 server speaking the documented JSON (handbook carriers.md §2.4).

Production-grade fake (it powers the demo): rates with `rate_response` (completed / partial
with `invalid_rates`), labels bought from a rate with one tracking number and ZPL label per
package (inline base64 or download links), void with `approved` / `reason_code`, tracking per
label, a JWKS of a generated RSA key, and TRACK_EVENT_V2 webhooks signed like the real ones.
Knobs: latency, hanging paths, 429 with Retry-After, HTML error pages, partial failures.
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.fakes.quiet_http import QuietHTTPServer

API_KEY = "TEST_fake_shipstation_key"
KEY_ID = "fake-shipstation-key-1"

# carrier_id -> (carrier_code, friendly name, [(service_code, amount, delivery_days)])
CARRIERS: dict[str, tuple[str, str, list[tuple[str, str, int]]]] = {
    "se-100": ("ups", "UPS", [("ups_ground", "12.40", 4), ("ups_next_day_air", "48.10", 1)]),
    "se-200": ("fedex", "FedEx", [("fedex_ground", "11.95", 5)]),
    "se-300": ("dhl_express", "DHL Express", [("express_worldwide", "39.00", 2)]),
}

HTML_PAGE = b"<html><head><title>502 Bad Gateway</title></head><body>502</body></html>"


_KEY_LOCK = threading.Lock()
_KEYS: list[rsa.RSAPrivateKey] = []


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _shared_key() -> rsa.RSAPrivateKey:
    # Generating a 2048-bit key costs ~0.1 s; one per process is plenty for a fake.
    with _KEY_LOCK:
        if not _KEYS:
            _KEYS.append(_new_key())
        return _KEYS[0]


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def zpl_for(tracking_number: str, sequence: int, total: int) -> bytes:
    return (
        "^XA^CI28^FO40,40^A0N,40,40^FDFAKE SHIPSTATION^FS"
        f"^FO40,100^A0N,30,30^FDPackage {sequence} of {total}^FS"
        f"^FO40,160^BY3^BCN,120,Y,N,N^FD{tracking_number}^FS^XZ"
    ).encode()


@dataclass
class Behaviour:
    latency_s: float = 0.0
    hang_paths: set[str] = field(default_factory=set)  # path prefixes that never answer
    failing_carriers: set[str] = field(default_factory=set)  # -> invalid_rates (partial)
    rate_limited: int = 0  # answer the next N API calls with 429
    retry_after: str = "7"
    html_errors: int = 0  # answer the next N API calls with a 502 HTML page
    label_download: str = "inline"  # or "url": per-package ZPL via download links


@dataclass
class _Label:
    label_id: str
    rate: dict[str, Any]
    tracking_numbers: list[str]
    voided: bool = False
    events: list[dict[str, Any]] = field(default_factory=list)


class FakeShipStation:
    def __init__(self, *, api_key: str = API_KEY, fresh_key: bool = False) -> None:
        self.api_key = api_key
        self.behaviour = Behaviour()
        self.requests: list[tuple[str, str, dict[str, str], Any]] = []
        self._private_key = _new_key() if fresh_key else _shared_key()
        self._ids = itertools.count(1000)
        self._rates: dict[str, dict[str, Any]] = {}
        self._labels: dict[str, _Label] = {}
        self._lock = threading.RLock()  # route() holds it while helpers re-enter
        self._release = threading.Event()  # set on stop so hanging handlers return
        self._server = QuietHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        # A short poll interval keeps stop() (and so each test's teardown) quick.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    # ---- lifecycle ------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def jwks_url(self) -> str:
        return self.base_url + "/jwks"

    def start(self) -> FakeShipStation:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()

    # ---- state helpers for tests and the demo ---------------------------------------------

    def jwks(self) -> dict[str, Any]:
        numbers = self._private_key.public_key().public_numbers()
        jwk = {"kty": "RSA", "kid": KEY_ID, "use": "sig", "alg": "RS256"}
        jwk |= {"n": _b64url_uint(numbers.n), "e": _b64url_uint(numbers.e)}
        return {"keys": [jwk]}

    def add_event(self, label_id: str, status_code: str, description: str) -> dict[str, Any]:
        with self._lock:
            label = self._labels[label_id]
            event = {
                "occurred_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
                "status_code": status_code,
                "description": description,
                "city_locality": "Leeds",
                "country_code": "GB",
            }
            label.events.append(event)
            return event

    def track_data(self, label_id: str) -> dict[str, Any]:
        with self._lock:
            label = self._labels[label_id]
            last = label.events[-1]
            return {
                "tracking_number": label.tracking_numbers[0],
                "status_code": last["status_code"],
                "status_description": last["description"],
                "carrier_code": label.rate["carrier_code"],
                "carrier_id": label.rate["carrier_id"],
                "events": list(reversed(label.events)),  # newest first, like carriers send
            }

    def sign(self, body: bytes, *, timestamp: str | None = None) -> dict[str, str]:
        stamp = timestamp or datetime.now(UTC).isoformat().replace("+00:00", "Z")
        signature = self._private_key.sign(
            stamp.encode() + b"." + body, padding.PKCS1v15(), hashes.SHA256()
        )
        return {
            "Content-Type": "application/json",
            "x-shipengine-rsa-sha256-key-id": KEY_ID,
            "x-shipengine-rsa-sha256-signature": base64.b64encode(signature).decode(),
            "x-shipengine-timestamp": stamp,
        }

    def webhook_body(self, label_id: str) -> bytes:
        payload = {
            "resource_url": f"{self.base_url}/v2/labels/{label_id}/track",
            "resource_type": "TRACK_EVENT_V2",
            "data": self.track_data(label_id),
        }
        return json.dumps(payload).encode()

    def send_webhook(self, url: str, label_id: str, *, timestamp: str | None = None) -> int:
        """POST a signed TRACK_EVENT_V2 for the label's current tracking to `url`."""
        body = self.webhook_body(label_id)
        response = httpx.post(url, content=body, headers=self.sign(body, timestamp=timestamp))
        return response.status_code

    # ---- API ------------------------------------------------------------------------------

    def _next(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids)}"

    def _rate_shipment(self, body: dict[str, Any]) -> tuple[int, Any]:
        shipment = body.get("shipment") or {}
        carrier_ids = (body.get("rate_options") or {}).get("carrier_ids") or []
        packages = shipment.get("packages") or []
        if not carrier_ids or not packages or not shipment.get("ship_to"):
            return 400, _errors(
                "validation",
                "invalid_field_value",
                "carrier_ids, packages and ship_to are required",
            )
        shipment_id = self._next("se-shp-")
        rates: list[dict[str, Any]] = []
        invalid: list[dict[str, Any]] = []
        for carrier_id in carrier_ids:
            if carrier_id not in CARRIERS:
                continue
            code, name, services = CARRIERS[carrier_id]
            base = {"carrier_id": carrier_id, "carrier_code": code, "carrier_friendly_name": name}
            if carrier_id in self.behaviour.failing_carriers:
                message = {"message": f"{name} rating service unavailable"}
                invalid.append(base | {"error_messages": [message["message"]]})
                continue
            for service, amount, days in services:
                rate_id = self._next("se-rate-")
                # Per-package charge: a multi-package shipment costs more.
                total = Decimal(amount) * len(packages)
                rate = base | {
                    "rate_id": rate_id,
                    "rate_type": "shipment",
                    "shipping_amount": {"currency": "usd", "amount": float(total)},
                    "insurance_amount": {"currency": "usd", "amount": 0.0},
                    "confirmation_amount": {"currency": "usd", "amount": 0.0},
                    "other_amount": {"currency": "usd", "amount": 0.5},
                    "service_code": service,
                    "delivery_days": days,
                    "package_type": "package",
                    "trackable": True,
                }
                rates.append(rate)
                self._rates[rate_id] = rate | {"shipment_id": shipment_id, "packages": packages}
        status = "partial" if invalid and rates else ("error" if invalid else "completed")
        response = {
            "rates": rates,
            "invalid_rates": invalid,
            "rate_request_id": self._next("se-rr-"),
            "shipment_id": shipment_id,
            "created_at": datetime.now(UTC).isoformat(),
            "status": status,
            "errors": [],
        }
        return 200, {"shipment_id": shipment_id, "rate_response": response}

    def _buy(self, rate_id: str, body: dict[str, Any]) -> tuple[int, Any]:
        rate = self._rates.get(rate_id)
        if rate is None:
            return 404, _errors("business_rules", "rate_not_found", f"rate {rate_id} not found")
        if body.get("label_format") != "zpl":
            return 400, _errors("validation", "invalid_field_value", "this fake prints zpl")
        label_id = self._next("se-")
        count = len(rate["packages"])
        numbers = [f"1ZFAKE{next(self._ids):010d}" for _ in range(count)]
        packages = []
        for seq, number in enumerate(numbers, start=1):
            packages.append(
                {
                    "package_id": next(self._ids),
                    "package_code": "package",
                    "tracking_number": number,
                    "sequence": seq,
                    "label_download": self._download(label_id, seq, number, count),
                }
            )
        self._labels[label_id] = _Label(label_id, rate, numbers)
        amount = rate["shipping_amount"]["amount"] + rate["other_amount"]["amount"]
        label = {
            "label_id": label_id,
            "status": "completed",
            "shipment_id": rate["shipment_id"],
            "tracking_number": numbers[0],
            "shipment_cost": {"currency": "usd", "amount": amount},
            "insurance_cost": {"currency": "usd", "amount": 0.0},
            "label_format": "zpl",
            "label_layout": "4x6",
            "label_download": self._download(label_id, 1, numbers[0], count),
            "packages": packages,
            "voided": False,
            "trackable": True,
            "tracking_status": "in_transit",
            "carrier_id": rate["carrier_id"],
            "carrier_code": rate["carrier_code"],
            "service_code": rate["service_code"],
            "is_return_label": False,
            "test_label": True,
        }
        self.add_event(label_id, "NY", "Label created, not yet in system")
        return 200, label

    def _download(self, label_id: str, seq: int, number: str, total: int) -> dict[str, str]:
        if self.behaviour.label_download == "url":
            url = f"{self.base_url}/v2/downloads/{label_id}/{seq}.zpl"
            return {"href": url, "zpl": url}
        return {"href": base64.b64encode(zpl_for(number, seq, total)).decode()}

    def _void(self, label_id: str) -> tuple[int, Any]:
        label = self._labels.get(label_id)
        if label is None:
            return 404, None  # a missing label id is a 404 with an empty body [SS1]
        if label.voided:
            return 200, {
                "approved": False,
                "message": "Label already voided.",
                "reason_code": "label_already_voided",
            }
        if any(e["status_code"] in {"AC", "IT", "DE"} for e in label.events):
            return 200, {
                "approved": False,
                "message": "Label has been used.",
                "reason_code": "label_already_used",
            }
        label.voided = True
        return 200, {
            "approved": True,
            "message": "Request for refund submitted.",
            "reason_code": "unspecified",
            "voided_label_ids": [label_id],
        }

    def route(self, method: str, path: str, query: str, body: Any) -> tuple[int, Any]:
        parts = path.strip("/").split("/")
        if method == "POST" and path == "/v2/rates":
            return self._rate_shipment(body or {})
        if method == "POST" and parts[:3] == ["v2", "labels", "rates"] and len(parts) == 4:
            return self._buy(parts[3], body or {})
        if method == "PUT" and parts[:2] == ["v2", "labels"] and parts[-1] == "void":
            return self._void(parts[2])
        if method == "GET" and parts[:2] == ["v2", "labels"] and parts[-1] == "track":
            if parts[2] not in self._labels:
                return 404, None
            return 200, self.track_data(parts[2])
        if method == "GET" and path == "/v2/tracking":
            number = (parse_qs(query).get("tracking_number") or [""])[0]
            for label in self._labels.values():
                if number in label.tracking_numbers:
                    return 200, self.track_data(label.label_id)
            return 404, _errors("business_rules", "tracking_not_found", "unknown number")
        return 404, _errors("validation", "not_found", f"no route {method} {path}")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _reply(
                self,
                status: int,
                payload: Any,
                headers: dict[str, str] | None = None,
                raw: bytes | None = None,
                ctype: str = "application/json",
            ) -> None:
                data = (
                    raw
                    if raw is not None
                    else (b"" if payload is None else json.dumps(payload).encode())
                )
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def _serve(self) -> None:
                url = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                fake.requests.append((self.command, url.path, dict(self.headers), body))
                beh = fake.behaviour
                if url.path == "/jwks":
                    return self._reply(200, fake.jwks())
                if any(url.path.startswith(p) for p in beh.hang_paths):
                    fake._release.wait(120)
                    return
                if beh.latency_s:
                    time.sleep(beh.latency_s)
                if url.path.startswith("/v2/downloads/"):
                    label_id, seq = url.path.split("/")[3], int(url.path.split("/")[4][:-4])
                    label = fake._labels[label_id]
                    number = label.tracking_numbers[seq - 1]
                    zpl = zpl_for(number, seq, len(label.tracking_numbers))
                    return self._reply(200, None, raw=zpl, ctype="application/zpl")
                if self.headers.get("API-Key") != fake.api_key:
                    return self._reply(
                        401, _errors("security", "unauthorized", "The API key is invalid.")
                    )
                with fake._lock:
                    if beh.rate_limited > 0:
                        beh.rate_limited -= 1
                        return self._reply(
                            429,
                            _errors("system", "rate_limit_exceeded", "Too many requests"),
                            {"Retry-After": beh.retry_after},
                        )
                    if beh.html_errors > 0:
                        beh.html_errors -= 1
                        return self._reply(502, None, raw=HTML_PAGE, ctype="text/html")
                    try:
                        status, payload = fake.route(self.command, url.path, url.query, body)
                    except Exception as exc:  # a fake bug must show, not drop the socket
                        status, payload = 500, _errors("system", "unspecified", repr(exc))
                self._reply(status, payload)

            do_GET = do_POST = do_PUT = _serve

        return Handler


def _errors(error_type: str, code: str, message: str) -> dict[str, Any]:
    return {
        "request_id": "00000000-0000-4000-8000-000000000000",
        "errors": [
            {
                "error_source": "shipstation",
                "error_type": error_type,
                "error_code": code,
                "message": message,
            }
        ],
    }


@contextmanager
def running() -> Iterator[FakeShipStation]:
    fake = FakeShipStation().start()
    try:
        yield fake
    finally:
        fake.stop()
