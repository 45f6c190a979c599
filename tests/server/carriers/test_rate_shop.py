"""Rate shopping across the three providers' fakes over loopback HTTP: every provider is asked,
one that hangs or fails becomes a recorded failure, the others' quotes still arrive."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from server.carriers.base import Account, Quote, QuoteFailure, ShipmentRequest, TrackingEvent
from server.services.rate_shop import RateShopper
from tests.server.carriers.providers import REQUEST, three_providers


def test_all_three_providers_quote_in_one_shop() -> None:
    with three_providers() as p:
        shopper = RateShopper(carriers=p.carriers, deadline_s=5)
        result = shopper.shop(REQUEST)
        shopper.close()
    assert {q.provider for q in result.quotes} == {"easypost", "shippo", "shipstation"}
    assert result.failures == ()
    assert set(result.answered_in_s) == {"easypost:ep", "shippo:sp", "shipstation:ss"}


def test_a_hanging_provider_is_a_failure_and_the_others_still_quote() -> None:
    with three_providers() as p:
        p.shippo.hang = True
        shopper = RateShopper(carriers=p.carriers, deadline_s=1.0)
        result = shopper.shop(REQUEST)
        p.shippo.release.set()
        shopper.close()
    assert {q.provider for q in result.quotes} == {"easypost", "shipstation"}
    [failure] = [f for f in result.failures if f.provider == "shippo"]
    assert "1" in failure.reason and ("no answer" in failure.reason or "timeout" in failure.reason)


def test_a_provider_answering_an_html_error_page_is_a_failure() -> None:
    with three_providers() as p:
        p.shippo.html_error_status = 502
        shopper = RateShopper(carriers=p.carriers, deadline_s=5)
        result = shopper.shop(REQUEST)
        shopper.close()
    assert {q.provider for q in result.quotes} == {"easypost", "shipstation"}
    assert [f.provider for f in result.failures] == ["shippo"]


class Broken:
    """An adapter with a bug: it must cost its own quotes, never the whole shop."""

    provider = "broken"
    account = Account(provider="broken", name="b", api_key="k", base_url="http://127.0.0.1:9")

    def rates(
        self, request: ShipmentRequest, *, timeout_s: float
    ) -> tuple[list[Quote], list[QuoteFailure]]:
        raise KeyError("rate_id")

    def buy(self, *a: object, **k: object) -> object:
        raise NotImplementedError

    def void(self, *a: object, **k: object) -> object:
        raise NotImplementedError

    def track(self, *a: object, **k: object) -> list[TrackingEvent]:
        raise NotImplementedError

    def parse_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> Sequence[TrackingEvent]:
        raise NotImplementedError


def test_an_adapter_bug_is_recorded_as_that_providers_failure() -> None:
    with three_providers() as p:
        shopper = RateShopper(carriers=[*p.carriers, Broken()], deadline_s=5)  # type: ignore[list-item]
        result = shopper.shop(REQUEST)
        shopper.close()
    assert len({q.provider for q in result.quotes}) == 3
    [failure] = result.failures
    assert failure.provider == "broken" and "KeyError" in failure.reason
