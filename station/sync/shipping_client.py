"""The bench's shipping calls: buy the packed order's labels, fetch each package's ZPL and the
packing slip. Composes HttpGateway.call / call_bytes (one place for transport errors and problem
words); FakeShipping beside it serves the demo and the UI tests.

Blocking calls: run them through station.ui.background, never on the GUI thread.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Protocol

import httpx

from shared.contract import PROBLEM_BASE
from shared.contract.shipping import PackageOut
from station.sync.client import HttpGateway, ServerRefused, ServerUnavailable, parse_as

ORDER_LOCKED = PROBLEM_BASE + "order-locked"


class ShippingGateway(Protocol):
    def ship(self, *, order_id: int) -> list[PackageOut]:
        """Rate if needed and buy once; asking again answers the packages already bought."""
        ...

    def label(self, *, package_id: int) -> bytes: ...

    def packing_slip(self, *, order_id: int) -> bytes: ...


def purchase_running(exc: BaseException) -> bool:
    """The server is still buying this order's label for an earlier call: ask again shortly."""
    return isinstance(exc, ServerRefused) and exc.problem_type == ORDER_LOCKED


class HttpShippingClient:
    def __init__(self, *, gateway: HttpGateway, ship_timeout_s: float = 120.0) -> None:
        self._gateway = gateway
        # Rating and buying talk to carriers (deadline + purchase): longer than a usual call.
        # A timeout is harmless: the next ask returns what the first one bought.
        self._ship_timeout_s = ship_timeout_s

    def ship(self, *, order_id: int) -> list[PackageOut]:
        # Connecting still fails fast: an unreachable server is known in seconds, not minutes.
        timeout = httpx.Timeout(self._ship_timeout_s, connect=3.0)
        data = self._gateway.call("POST", f"/orders/{order_id}/ship", timeout=timeout)
        if not isinstance(data, list):
            raise ServerUnavailable("the server's packages are not a list")
        return [parse_as(PackageOut, x) for x in data]

    def label(self, *, package_id: int) -> bytes:
        return self._gateway.call_bytes("GET", f"/packages/{package_id}/label")

    def packing_slip(self, *, order_id: int) -> bytes:
        return self._gateway.call_bytes("GET", f"/orders/{order_id}/packing-slip")


class FakeShipping:
    """In-memory shipping for the demo and tests: buys once per order, can go offline, refuse,
    or report a purchase still running. Thread-safe (called from the background pool)."""

    def __init__(self, *, packages: dict[int, Sequence[PackageOut]] | None = None) -> None:
        self._lock = threading.Lock()
        self._offer = {k: list(v) for k, v in (packages or {}).items()}
        self.bought: dict[int, list[PackageOut]] = {}
        self.online = True
        self.refusal = ""  # non-empty: the purchase is refused with these words (422)
        self.busy_times = 0  # answer "purchase running" (409 order-locked) this many times
        self.slip: bytes | None = b"%PDF-1.4 fake packing slip\n%%EOF\n"
        self.calls: list[str] = []

    def ship(self, *, order_id: int) -> list[PackageOut]:
        with self._lock:
            self.calls.append(f"ship {order_id}")
            self._check()
            if order_id in self.bought:
                return list(self.bought[order_id])
            if self.busy_times > 0:
                self.busy_times -= 1
                raise ServerRefused(status=409, detail="the label is being bought",
                                    problem_type=ORDER_LOCKED)  # fmt: skip
            if self.refusal:
                raise ServerRefused(status=422, detail=self.refusal)
            offer = self._offer.get(order_id)
            if not offer:
                raise ServerRefused(status=409, detail=f"order {order_id} is not packed")
            self.bought[order_id] = list(offer)
            return list(offer)

    def label(self, *, package_id: int) -> bytes:
        with self._lock:
            self.calls.append(f"label {package_id}")
            self._check()
            for packages in self.bought.values():
                for p in packages:
                    if p.id == package_id:
                        return label_zpl(p.tracking_number, p.package_no)
            raise ServerRefused(status=404, detail=f"package {package_id} does not exist")

    def packing_slip(self, *, order_id: int) -> bytes:
        with self._lock:
            self.calls.append(f"slip {order_id}")
            self._check()
            if self.slip is None:
                raise ServerRefused(status=404, detail="no packing slip here")
            return self.slip

    def _check(self) -> None:
        if not self.online:
            raise ServerUnavailable("fake shipping is offline")


def label_zpl(tracking_number: str, package_no: int) -> bytes:
    """A carrier-like label: a Code 128 of the tracking number (what the packer scans back)."""
    return (
        f"^XA^FO40,40^A0N,40,40^FDPACKAGE {package_no}^FS"
        f"^FO40,110^BY3^BCN,120,Y,N,N^FD{tracking_number}^FS^XZ"
    ).encode()
