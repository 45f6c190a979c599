"""The three provider fakes and adapters started together, for rate shopping tests and bench."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from decimal import Decimal

from server.carriers.base import Account, Parcel, PostalAddress, ShipmentRequest
from server.carriers.easypost import EasyPostCarrier
from server.carriers.shippo import ShippoCarrier
from server.carriers.shipstation import ShipStationCarrier
from tests.fakes.easypost_server import FakeEasyPost
from tests.fakes.shippo_server import FakeShippo
from tests.fakes.shipstation_server import API_KEY, FakeShipStation

FROM = PostalAddress("Amsterdam DC", "Damrak 1", "", "Amsterdam", "", "1012 LG", "NL",
                     "+31201234567")  # fmt: skip
TO = PostalAddress("Jan de Vries", "Keizersgracht 10", "", "Amsterdam", "", "1015 CN", "NL",
                   "+31612345678")  # fmt: skip
REQUEST = ShipmentRequest(reference="PL0000001", ship_from=FROM, ship_to=TO,
                          parcels=(Parcel(1200, 300, 200, 100),), value=Decimal("25"))  # fmt: skip


@dataclass
class Providers:
    easypost: FakeEasyPost
    shippo: FakeShippo
    shipstation: FakeShipStation
    carriers: list[EasyPostCarrier | ShippoCarrier | ShipStationCarrier]


@contextmanager
def three_providers() -> Iterator[Providers]:
    with ExitStack() as stack:
        ep = stack.enter_context(FakeEasyPost())
        sp = FakeShippo().start()
        stack.callback(sp.stop)
        ss = FakeShipStation()
        ss.start()
        stack.callback(ss.stop)
        carriers = [
            EasyPostCarrier(Account(provider="easypost", name="ep", api_key=ep.api_key,
                                    base_url=ep.base_url)),
            ShippoCarrier(account=Account(provider="shippo", name="sp", api_key=sp.api_key,
                                          base_url=sp.base_url)),
            ShipStationCarrier(account=Account(provider="shipstation", name="ss",
                                               api_key=API_KEY, base_url=ss.base_url),
                               carrier_ids=["se-100", "se-200"], jwks_url=ss.jwks_url),
        ]  # fmt: skip
        for c in carriers:
            stack.callback(c.close)
        yield Providers(ep, sp, ss, carriers)
