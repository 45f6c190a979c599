"""Local fake of the EasyPost v2 API on 127.0.0.1 (port 0), speaking the recorded format.

Shapes follow reference/carriers.md §2.1 (the official SDK's cassettes), written from scratch.
Covers: POST /shipments and /orders (rates + per-carrier `rate_error` messages), buy (one
tracking code + ZPL label per parcel; child shipments of an order), GET /shipments/:id/label
?file_format=ZPL, POST /shipments/:id/refund, POST /trackers, label files under /files/.
Faults: latency, hanging, queued 429 (Retry-After) / HTML 5xx / JSON errors, rejected refunds.
It also SENDS `tracker.updated` Events to a URL signed as EasyPost signs them.

    python -m tests.fakes.easypost_server --port 8089     # for the demo
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import itertools
import json
import threading
import time
import unicodedata
import uuid
from collections import deque
from dataclasses import dataclass
from decimal import Decimal
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.fakes.quiet_http import QuietHTTPServer

Json = dict[str, Any]

# (carrier, service, price per parcel, delivery days, carrier account id)
DEFAULT_RATES: tuple[tuple[str, str, str, int, str], ...] = (
    ("USPS", "GroundAdvantage", "6.07", 3, "ca_usps_fake"),
    ("USPS", "Priority", "8.70", 2, "ca_usps_fake"),
    ("UPS", "Ground", "11.69", 1, "ca_ups_fake"),
)


@dataclass(frozen=True)
class Fault:
    status: int
    kind: str  # "json" | "html" | "empty"
    retry_after: str = ""
    body: bytes = b""


def _id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def zpl_label(*, tracking_code: str, carrier: str, service: str) -> bytes:
    return (
        f"^XA^CI28^FO40,40^A0N,40,40^FD{carrier} {service}^FS"
        f"^FO40,120^BY2^BCN,160,Y,N,N^FD{tracking_code}^FS^XZ"
    ).encode()


class FakeEasyPost:
    def __init__(
        self, *, api_key: str = "EZTK_fake", webhook_secret: str = "sécret", port: int = 0
    ) -> None:
        self.api_key = api_key
        self.webhook_secret = webhook_secret
        self.rates = list(DEFAULT_RATES)
        self.rate_errors: dict[str, str] = {}  # carrier -> message (that carrier fails)
        self.latency_s = 0.0
        self.hang = False  # requests wait until `release()` or stop
        self.honour_zpl_option = True  # False: labels come back PNG, ZPL only via GET label
        self.refund_status = "submitted"
        self.faults: deque[Fault] = deque()  # consumed one per API request
        self.requests: list[tuple[str, str, str]] = []  # (method, path, Authorization)
        self.shipments: dict[str, Json] = {}
        self.orders: dict[str, Json] = {}
        self.trackers: dict[str, Json] = {}
        self.files: dict[str, bytes] = {}
        self._codes = itertools.count(1)
        self._release = threading.Event()
        self._lock = threading.Lock()
        self._httpd = QuietHTTPServer(("127.0.0.1", port), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.fake = self  # type: ignore[attr-defined]
        # A short poll so stop() returns at once (shutdown waits for the next poll).
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    # -- lifecycle ------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    @property
    def base_url(self) -> str:
        return self.url + "/v2"

    def start(self) -> FakeEasyPost:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FakeEasyPost:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def release(self) -> None:
        self.hang = False
        self._release.set()

    # -- tracking and webhooks ------------------------------------------------------------
    def advance(self, tracking_code: str, status: str, message: str = "") -> Json:
        """Add a tracking detail; returns the `tracker.updated` Event EasyPost would send."""
        with self._lock:
            tracker = self.trackers[tracking_code]
            previous = tracker["status"]
            tracker["tracking_details"].append(
                {
                    "object": "TrackingDetail",
                    "message": message or status.replace("_", " ").title(),
                    "status": status,
                    "status_detail": "status_update",
                    "datetime": _now(),
                    "source": tracker["carrier"],
                    "tracking_location": {"city": "Fakeville", "state": "CA", "country": "US"},
                }
            )
            tracker["status"] = status
            tracker["updated_at"] = _now()
            return {
                "object": "Event",
                "id": _id("evt"),
                "description": "tracker.updated",
                "mode": "test",
                "status": "pending",
                "previous_attributes": {"status": previous},
                "pending_urls": [],
                "completed_urls": [],
                "result": json.loads(json.dumps(tracker)),
                "user_id": "user_fake",
                "created_at": _now(),
                "updated_at": _now(),
            }

    def sign(self, body: bytes, secret: str | None = None) -> str:
        key = unicodedata.normalize("NFKD", self.webhook_secret if secret is None else secret)
        return "hmac-sha256-hex=" + hmac.new(key.encode(), body, hashlib.sha256).hexdigest()

    def send_webhook(self, url: str, event: Json, *, secret: str | None = None) -> httpx.Response:
        body = json.dumps(event, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", "X-Hmac-Signature": self.sign(body, secret)}
        return httpx.post(url, content=body, headers=headers, timeout=10)

    # -- API behaviour --------------------------------------------------------------------
    def handle(self, method: str, path: str, query: dict[str, str], body: Json) -> tuple[int, Json]:
        parts = path.strip("/").split("/")[1:]  # drop "v2"
        with self._lock:
            if method == "POST" and parts == ["shipments"]:
                return 201, self._create_shipment(body.get("shipment") or {}, order_id=None)
            if method == "POST" and parts == ["orders"]:
                return 201, self._create_order(body.get("order") or {})
            if method == "POST" and len(parts) == 3 and parts[0] == "shipments":
                shipment = self.shipments.get(parts[1])
                if shipment is None:
                    return _not_found()
                if parts[2] == "buy":
                    return self._buy_shipment(shipment, str((body.get("rate") or {}).get("id")))
                if parts[2] == "refund":
                    shipment["refund_status"] = self.refund_status
                    return 200, shipment
            if (
                method == "POST"
                and len(parts) == 3
                and parts[:1] == ["orders"]
                and parts[2] == "buy"
            ):
                order = self.orders.get(parts[1])
                if order is None:
                    return _not_found()
                return self._buy_order(order, str(body.get("carrier")), str(body.get("service")))
            if (
                method == "GET"
                and len(parts) == 3
                and parts[0] == "shipments"
                and parts[2] == "label"
            ):
                shipment = self.shipments.get(parts[1])
                if shipment is None or shipment["postage_label"] is None:
                    return _not_found()
                if query.get("file_format", "").upper() == "ZPL":
                    self._attach_zpl(shipment)
                return 200, shipment
            if method == "POST" and parts == ["trackers"]:
                return self._tracker(body.get("tracker") or {})
        return _not_found()

    def _rates_for(self, shipment_id: str, parcels: int) -> tuple[list[Json], list[Json]]:
        rates, messages = [], []
        for carrier, service, price, days, account in self.rates:
            if carrier in self.rate_errors:
                continue
            rates.append(
                {
                    "id": _id("rate"),
                    "object": "Rate",
                    "carrier": carrier,
                    "service": service,
                    "rate": str(Decimal(price) * parcels),  # order rates: sum of its parcels
                    "currency": "USD",
                    "list_rate": price,
                    "retail_rate": price,
                    "delivery_days": days,
                    "est_delivery_days": days,
                    "delivery_date_guaranteed": False,
                    "carrier_account_id": account,
                    "shipment_id": shipment_id,
                }
            )
        for carrier, text in self.rate_errors.items():
            account = next((r[4] for r in self.rates if r[0] == carrier), "ca_fake")
            messages.append(
                {
                    "carrier": carrier,
                    "carrier_account_id": account,
                    "type": "rate_error",
                    "message": text,
                }
            )
        return rates, messages

    def _create_shipment(self, spec: Json, *, order_id: str | None) -> Json:
        shipment_id = _id("shp")
        rates, messages = self._rates_for(shipment_id, 1)
        shipment = {
            "id": shipment_id,
            "object": "Shipment",
            "mode": "test",
            "status": "unknown",
            "reference": spec.get("reference"),
            "order_id": order_id,
            "to_address": {"id": _id("adr"), **(spec.get("to_address") or {})},
            "from_address": {"id": _id("adr"), **(spec.get("from_address") or {})},
            "parcel": {"id": _id("prcl"), "object": "Parcel", **(spec.get("parcel") or {})},
            "options": spec.get("options") or {},
            "rates": rates,
            "messages": messages,
            "selected_rate": None,
            "postage_label": None,
            "tracking_code": None,
            "tracker": None,
            "refund_status": None,
            "fees": [],
        }
        self.shipments[shipment_id] = shipment
        return shipment

    def _create_order(self, spec: Json) -> Json:
        order_id = _id("order")
        children = [
            self._create_shipment(
                {
                    **spec,
                    "options": child.get("options") or spec.get("options"),
                    "parcel": child["parcel"],
                },
                order_id=order_id,
            )
            for child in spec.get("shipments") or []
        ]
        rates, messages = self._rates_for(children[0]["id"] if children else "", len(children))
        order = {
            "id": order_id,
            "object": "Order",
            "mode": "test",
            "reference": spec.get("reference"),
            "shipments": children,
            "rates": rates,
            "messages": messages,
        }
        self.orders[order_id] = order
        return order

    def _purchase(self, shipment: Json, rate: Json) -> None:
        code = f"9400100{next(self._codes):015d}"
        shipment["selected_rate"] = rate
        shipment["tracking_code"] = code
        shipment["status"] = "unknown"
        png = base64.b64decode(
            "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAfbLI3wAAAABJRU5ErkJggg=="
        )
        png_name = f"{uuid.uuid4().hex}.png"
        self.files[png_name] = png
        shipment["postage_label"] = {
            "object": "PostageLabel",
            "id": _id("pl"),
            "label_url": f"{self.url}/files/{png_name}",
            "label_file_type": "image/png",
            "label_size": "4x6",
            "label_resolution": 300,
            "label_date": _now(),
            "label_pdf_url": None,
            "label_zpl_url": None,
            "label_epl2_url": None,
        }
        fmt = str((shipment.get("options") or {}).get("label_format") or "").upper()
        if fmt == "ZPL" and self.honour_zpl_option:
            self._attach_zpl(shipment)
        tracker = {
            "id": _id("trk"),
            "object": "Tracker",
            "mode": "test",
            "tracking_code": code,
            "status": "unknown",
            "status_detail": "unknown",
            "carrier": rate["carrier"],
            "shipment_id": shipment["id"],
            "tracking_details": [],
            "created_at": _now(),
            "updated_at": _now(),
            "public_url": f"{self.url}/track/{code}",
        }
        self.trackers[code] = tracker
        shipment["tracker"] = tracker
        shipment["fees"] = [
            {
                "object": "Fee",
                "type": "PostageFee",
                "amount": rate["rate"],
                "charged": True,
                "refunded": False,
            }
        ]

    def _attach_zpl(self, shipment: Json) -> None:
        rate = shipment["selected_rate"]
        name = f"{uuid.uuid4().hex}.zpl"
        self.files[name] = zpl_label(
            tracking_code=shipment["tracking_code"],
            carrier=rate["carrier"],
            service=rate["service"],
        )
        shipment["postage_label"]["label_zpl_url"] = f"{self.url}/files/{name}"

    def _buy_shipment(self, shipment: Json, rate_id: str) -> tuple[int, Json]:
        if shipment["selected_rate"] is not None:
            return _error(
                422, "SHIPMENT.POSTAGE.EXISTS", "Shipment already has postage."
            )  # unverified code
        rate = next((r for r in shipment["rates"] if r["id"] == rate_id), None)
        if rate is None:
            return _error(
                422, "SHIPMENT.RATE.INVALID", "Rate not found for this shipment."
            )  # unverified code
        self._purchase(shipment, rate)
        return 200, shipment

    def _buy_order(self, order: Json, carrier: str, service: str) -> tuple[int, Json]:
        for child in order["shipments"]:
            rate = next(
                (r for r in child["rates"] if r["carrier"] == carrier and r["service"] == service),
                None,
            )
            if rate is None:
                return _error(
                    422, "ORDER.RATE.UNAVAILABLE", f"No {carrier} {service} rate."
                )  # unverified
            self._purchase(child, rate)
        return 200, order

    def _tracker(self, spec: Json) -> tuple[int, Json]:
        code = str(spec.get("tracking_code") or "")
        if not code:
            return _error(422, "PARAMETER.REQUIRED", "Missing required parameter.",
                          [{"field": "tracking_code", "message": "cannot be blank"}])  # fmt: skip
        tracker = self.trackers.get(code)
        if tracker is None:
            tracker = {
                "id": _id("trk"),
                "object": "Tracker",
                "tracking_code": code,
                "status": "unknown",
                "carrier": spec.get("carrier") or "USPS",
                "tracking_details": [],
                "created_at": _now(),
                "updated_at": _now(),
            }
            self.trackers[code] = tracker
            return 201, tracker
        return 200, tracker


def _error(
    status: int, code: str, message: str, errors: list[Any] | None = None
) -> tuple[int, Json]:
    return status, {"error": {"code": code, "message": message, "errors": errors or []}}


def _not_found() -> tuple[int, Json]:
    # The "alternative" error format: errors[] of strings [E2 test_error_alternative_format].
    return _error(404, "NOT_FOUND", "The requested resource could not be found.")


_HTML_PAGE = (
    b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
    b"<body><h1>502 Bad Gateway</h1><p>nginx</p></body></html>"
)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        fake: FakeEasyPost = self.server.fake  # type: ignore[attr-defined]
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        auth = self.headers.get("Authorization", "")
        fake.requests.append((method, split.path, auth))
        if split.path.startswith("/files/"):
            data = fake.files.get(split.path.removeprefix("/files/"))
            if data is None:
                return self._send(404, b"<Error><Code>NoSuchKey</Code></Error>", "application/xml")
            return self._send(200, data, "application/octet-stream")
        if fake.latency_s:
            time.sleep(fake.latency_s)
        if fake.hang:
            fake._release.wait(60)
        expected = "Basic " + base64.b64encode(f"{fake.api_key}:".encode()).decode()
        if auth != expected:
            status, body = _error(
                401, "APIKEY.REQUIRED", "Invalid or missing API key."
            )  # unverified code
            return self._json(status, body)
        if fake.faults:
            fault = fake.faults.popleft()
            extra = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            if fault.kind == "html":
                return self._send(fault.status, fault.body or _HTML_PAGE, "text/html", extra)
            if fault.kind == "empty":
                return self._send(fault.status, b"", "text/plain", extra)
            # The code word in a 429 body is unverified; status and Retry-After are what count.
            error = {"error": {"code": "RATE_LIMITED", "message": "Too many requests."}}
            data = fault.body or json.dumps(error).encode()
            return self._send(fault.status, data, "application/json; charset=utf-8", extra)
        try:
            payload = json.loads(raw) if raw else {}
        except ValueError:
            return self._json(*_error(400, "BAD_REQUEST", "Body is not JSON."))
        query = {k: v[0] for k, v in parse_qs(split.query).items()}
        self._json(*fake.handle(method, split.path, query, payload))

    def _json(self, status: int, body: Json) -> None:
        self._send(status, json.dumps(body).encode(), "application/json; charset=utf-8")

    def _send(
        self, status: int, data: bytes, ctype: str, extra: dict[str, str] | None = None
    ) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            for name, value in (extra or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (its deadline passed while we hung)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    fake = FakeEasyPost(port=args.port)
    print(f"fake EasyPost at {fake.base_url} (API key {fake.api_key!r})", flush=True)
    fake.start()
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":
    main()
