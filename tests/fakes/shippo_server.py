"""Local fake of the Shippo REST API for tests and the demo (threaded http.server, 127.0.0.1).

Speaks the documented shapes (reference/carriers.md §2.2): shipments with rates and per-carrier
`messages`, transactions that may stay QUEUED for a few polls, one transaction per parcel of a
multi-piece shipment with ZPL labels at pre-signed-style URLs, refunds, tracks, field-keyed 400s,
HTML 404 pages, 429 with Retry-After, latency and hangs; it can send signed `track_updated`
webhooks. Fault knobs are plain attributes a test sets.

    python -m tests.fakes.shippo_server --port 8089 --key shippo_test_demo
"""

from __future__ import annotations

import argparse
import itertools
import json
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from server.carriers.shippo.webhooks import sign
from tests.fakes.quiet_http import QuietHTTPServer

HTML_404 = (
    b"<!DOCTYPE html>\n<html><head><title>Not Found</title></head><body>"
    b"<h1>Not Found</h1><p>The requested resource was not found on this server.</p>"
    b"</body></html>\n"
)
HTML_502 = b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
# Rates the fake offers: (provider, servicelevel token, name, base, per kg, days)
SERVICES = (
    ("USPS", "usps_priority", "Priority Mail", Decimal("7.50"), Decimal("1.10"), 2),
    ("UPS", "ups_ground", "Ground", Decimal("9.20"), Decimal("0.80"), 4),
    ("DHL Express", "dhl_express_worldwide", "Express Worldwide", Decimal("31.00"),
     Decimal("2.00"), 1),
)  # fmt: skip


def zpl_label(tracking_number: str, piece: int, pieces: int) -> bytes:
    return (
        f"^XA^CI28^FO40,40^A0N,40,40^FDFAKE SHIPPO {piece}/{pieces}^FS"
        f"^FO40,110^BY3^BCN,120,Y,N,N^FD{tracking_number}^FS^XZ\n"
    ).encode()


@dataclass
class FakeShippo:
    api_key: str = "shippo_test_fake"
    port: int = 0
    latency_s: float = 0.0
    hang: bool = False  # requests block until `release` is set (or the server stops)
    failing_carriers: set[str] = field(default_factory=set)  # -> shipment.messages entries
    queued_polls: int = 0  # GET /transactions/{id} answers QUEUED this many times first
    transaction_error: str = ""  # non-empty: the purchase ends in ERROR with this text
    refund_status: str = "SUCCESS"
    rate_limit_retry_after: int | None = None  # next API call answers 429 with this header
    html_error_status: int | None = None  # next API call answers with an HTML page
    # "PNG" | "PDF": labels come back in that format whatever was asked, as when the carrier
    # has no ZPL and the account's default file type wins (a 4x6 image, Code 128 of the number)
    image_labels: str = ""
    truncate_labels: int | None = None  # label downloads are cut to this many bytes
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.shipments: dict[str, dict[str, Any]] = {}
        self.rates: dict[str, dict[str, Any]] = {}
        self.transactions: dict[str, dict[str, Any]] = {}
        self.labels: dict[str, bytes] = {}
        self.tracks: dict[str, list[dict[str, Any]]] = {}
        self._polls: dict[str, int] = {}
        self._server = QuietHTTPServer(("127.0.0.1", self.port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeShippo:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()

    def new_id(self) -> str:
        with self._lock:
            return f"{next(self._ids):032x}"

    # -- tracking state -------------------------------------------------------------------

    def scan(self, tracking_number: str, status: str, details: str = "", substatus: str = "",
             at: datetime | None = None) -> dict[str, Any]:  # fmt: skip
        when = at or datetime.now(UTC)
        event = {
            "object_id": self.new_id(),
            "object_created": when.isoformat().replace("+00:00", "Z"),
            "object_updated": when.isoformat().replace("+00:00", "Z"),
            "status": status,
            "status_details": details or status.replace("_", " ").title(),
            "status_date": when.isoformat().replace("+00:00", "Z"),
            "substatus": {"code": substatus, "text": substatus, "action_required": False}
            if substatus
            else None,
            "location": {"city": "Louisville", "state": "KY", "zip": "40201", "country": "US"},
        }
        self.tracks.setdefault(tracking_number, []).append(event)
        return event

    def track_body(self, carrier: str, tracking_number: str) -> dict[str, Any]:
        history = self.tracks.get(tracking_number, [])
        return {
            "carrier": carrier,
            "tracking_number": tracking_number,
            "eta": None,
            "servicelevel": {"token": "", "name": ""},
            "tracking_status": history[-1] if history else None,
            "tracking_history": history,
            "transaction": None,
            "metadata": None,
            "messages": [],
            "test": True,
        }

    def send_track_webhook(
        self, url: str, tracking_number: str, *, hmac_secret: str = "", carrier: str = "usps",
        timestamp: int | None = None, body: bytes | None = None,
    ) -> tuple[int, bytes]:  # fmt: skip
        payload = body or json.dumps(
            {"event": "track_updated", "test": True,
             "data": self.track_body(carrier, tracking_number)}
        ).encode()  # fmt: skip
        headers = {"Content-Type": "application/json"}
        if hmac_secret:
            stamp = int(time.time()) if timestamp is None else timestamp
            headers["Shippo-Auth-Signature"] = sign(
                secret=hmac_secret, body=payload, timestamp=stamp
            )
        request = urllib.request.Request(url, data=payload, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, payload
        except urllib.error.HTTPError as exc:
            return exc.code, payload

    # -- API behaviour ---------------------------------------------------------------------

    def create_shipment(self, body: dict[str, Any]) -> tuple[int, Any]:
        missing = [k for k in ("address_from", "address_to", "parcels") if not body.get(k)]
        if missing:
            return 400, {k: ["This field is required."] for k in missing}
        grams = sum(Decimal(str(p["weight"])) for p in body["parcels"])
        shipment_id = self.new_id()
        rates, messages = [], []
        for provider, token, name, base, per_kg, days in SERVICES:
            if provider in self.failing_carriers:
                text = f"{provider} API did not respond. Please try again."
                messages.append({"source": provider, "code": "carrier_timeout", "text": text})
                continue
            amount = (base + per_kg * grams / 1000).quantize(Decimal("0.01"))
            rate: dict[str, Any] = {
                "object_id": self.new_id(), "amount": str(amount),
                "currency": "USD", "amount_local": "0", "currency_local": "USD",
                "provider": provider, "servicelevel": {"token": token, "name": name, "terms": ""},
                "estimated_days": days, "attributes": [], "carrier_account": self.new_id(),
                "shipment": shipment_id, "messages": [], "test": True,
            }  # fmt: skip
            rates.append(rate)
            self.rates[rate["object_id"]] = rate
        shipment = {
            "object_id": shipment_id, "status": "SUCCESS", "rates": rates, "messages": messages,
            "parcels": body["parcels"], "address_from": body["address_from"],
            "address_to": body["address_to"], "metadata": body.get("metadata", ""), "test": True,
        }  # fmt: skip
        self.shipments[shipment_id] = shipment
        return 201, shipment

    def create_transaction(self, body: dict[str, Any]) -> tuple[int, Any]:
        rate = self.rates.get(str(body.get("rate")))
        if rate is None:
            return 400, {"rate": ["This field is required."] if not body.get("rate")
                         else ["Rate not found."]}  # fmt: skip
        parcels = self.shipments[rate["shipment"]]["parcels"]
        queued = self.queued_polls > 0
        created = []
        for piece, _parcel in enumerate(parcels, start=1):
            tid = self.new_id()
            number = f"1ZFAKE{tid[-10:].upper()}"
            self.labels[tid] = self._label_file(number, piece, len(parcels))
            transaction = {
                "object_id": tid, "object_state": "VALID", "rate": rate["object_id"],
                "status": "QUEUED" if queued else "SUCCESS", "tracking_number": "",
                "label_url": "", "tracking_status": "UNKNOWN", "parcel": self.new_id(),
                "messages": [], "metadata": body.get("metadata", ""), "test": True,
                "label_file_type": self.image_labels or body.get("label_file_type", "PDF"),
                "_number": number,
            }  # fmt: skip
            self.transactions[tid] = transaction
            self._polls[tid] = self.queued_polls
            if not queued:
                self._complete(transaction)
            created.append(transaction)
        return 201, self._public(created[0])

    def _complete(self, transaction: dict[str, Any]) -> None:
        if self.transaction_error:
            transaction.update(status="ERROR", object_state="INVALID", messages=[
                {"source": "UPS", "code": "", "text": self.transaction_error}])  # fmt: skip
            return
        transaction.update(
            status="SUCCESS", tracking_number=transaction["_number"],
            label_url=f"{self.base_url}/labels/{transaction['object_id']}"
            f".{(self.image_labels or 'zpl').lower()}?Signature=x",
        )  # fmt: skip
        self.scan(transaction["_number"], "PRE_TRANSIT", "Shipping label created")

    def _label_file(self, number: str, piece: int, pieces: int) -> bytes:
        if self.image_labels.upper() not in ("PNG", "PDF"):
            return zpl_label(number, piece, pieces)
        # Imported here: the demo runs this fake, and only image mode needs the drawing libraries.
        from tests.fakes.label_images import pdf_label, png_label

        if self.image_labels.upper() == "PNG":
            return png_label(number, caption=f"FAKE SHIPPO {piece}/{pieces}")
        return pdf_label(number)

    def get_transaction(self, tid: str) -> tuple[int, Any] | None:
        transaction = self.transactions.get(tid)
        if transaction is None:
            return None
        if transaction["status"] == "QUEUED":
            self._polls[tid] -= 1
            if self._polls[tid] <= 0:  # the whole multi-piece purchase settles together
                for other in self.transactions.values():
                    if other["rate"] == transaction["rate"] and other["status"] == "QUEUED":
                        self._complete(other)
        return 200, self._public(transaction)

    def list_transactions(self, query: dict[str, list[str]]) -> tuple[int, Any]:
        rate = query.get("rate", [""])[0]
        results = [self._public(t) for t in self.transactions.values()
                   if not rate or t["rate"] == rate]  # fmt: skip
        return 200, {"next": None, "previous": None, "results": results}

    def refund(self, body: dict[str, Any]) -> tuple[int, Any]:
        transaction = self.transactions.get(str(body.get("transaction")))
        if transaction is None:
            return 400, {"transaction": ["Transaction not found."]}
        if transaction["status"] == "REFUNDED":
            return 400, {"transaction": ["This transaction has already been refunded."]}
        if self.refund_status == "SUCCESS":
            transaction["status"] = "REFUNDED"
        refund = {"object_id": self.new_id(), "status": self.refund_status,
                  "transaction": transaction["object_id"], "test": True}  # fmt: skip
        return 201, refund

    @staticmethod
    def _public(transaction: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in transaction.items() if not k.startswith("_")}


def _handler_for(fake: FakeShippo) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def _reply(self, status: int, body: Any, *, extra: dict[str, str] | None = None,
                   content_type: str = "application/json") -> None:  # fmt: skip
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for key, value in (extra or {}).items():
                self.send_header(key, value)
            try:
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a deadline passed while we hung): nobody to tell

        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            url = urlsplit(self.path)
            fake.requests.append((method, url.path, dict(self.headers.items())))
            if fake.hang:
                fake.release.wait(30)
                return self._reply(503, {"detail": "released"})
            if fake.latency_s:
                time.sleep(fake.latency_s)
            if url.path.startswith("/labels/"):  # the "S3" side: no Shippo auth here
                label = fake.labels.get(url.path.removeprefix("/labels/").split(".")[0])
                if label is None:
                    return self._reply(404, b"<Error>NoSuchKey</Error>", content_type="text/xml")
                if fake.truncate_labels is not None:
                    label = label[: fake.truncate_labels]
                return self._reply(200, label, content_type="application/octet-stream")
            if self.headers.get("Authorization") != f"ShippoToken {fake.api_key}":
                return self._reply(401, {"detail": "Invalid token."})
            if fake.rate_limit_retry_after is not None:
                retry, fake.rate_limit_retry_after = fake.rate_limit_retry_after, None
                return self._reply(429, {"detail": "Request was throttled."},
                                   extra={"Retry-After": str(retry)})  # fmt: skip
            if fake.html_error_status is not None:
                status, fake.html_error_status = fake.html_error_status, None
                return self._reply(status, HTML_502, content_type="text/html")
            body = json.loads(raw) if raw else {}
            result = self._route(method, url.path.rstrip("/"), body, parse_qs(url.query))
            if result is None:  # Shippo's own 404s are server HTML pages, not JSON
                return self._reply(404, HTML_404, content_type="text/html; charset=utf-8")
            self._reply(*result)

        def _route(self, method: str, path: str, body: dict[str, Any],
                   query: dict[str, list[str]]) -> tuple[int, Any] | None:  # fmt: skip
            parts = path.strip("/").split("/")
            match method, parts:
                case "POST", ["shipments"]:
                    return fake.create_shipment(body)
                case "POST", ["transactions"]:
                    return fake.create_transaction(body)
                case "GET", ["transactions"]:
                    return fake.list_transactions(query)
                case "GET", ["transactions", tid]:
                    return fake.get_transaction(tid)
                case "POST", ["refunds"]:
                    return fake.refund(body)
                case "GET", ["tracks", carrier, number] if number in fake.tracks:
                    return 200, fake.track_body(carrier, number)
            return None

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--key", default="shippo_test_fake")
    args = parser.parse_args()
    fake = FakeShippo(api_key=args.key, port=args.port).start()
    print(f"fake Shippo at {fake.base_url} (key {args.key}); Ctrl-C stops")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":
    main()
