"""Rate shopping: every configured provider account is asked in parallel, each under the same
deadline; one that is slow, down or answers garbage becomes a recorded failure and never delays
the quote past the deadline (karrio's fail-safe fan-out, plus the timeouts it lacks).

No database work happens here: the caller stores the result (every quote, chosen or not) in its
own transaction after this returns, so no connection is held while carriers are asked.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from server.carriers.base import Carrier, Quote, QuoteFailure, ShipmentRequest

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RateShopResult:
    quotes: tuple[Quote, ...]
    failures: tuple[QuoteFailure, ...]
    wall_s: float
    # Seconds each account took, for those that answered within the deadline.
    answered_in_s: dict[str, float]


class RateShopper:
    def __init__(
        self, *, carriers: Sequence[Carrier], deadline_s: float = 4.0, max_workers: int = 32
    ) -> None:
        if deadline_s <= 0:
            raise ValueError("the rate-shopping deadline must be positive")
        self.carriers = list(carriers)
        self.deadline_s = deadline_s
        # Shared across shops; a hung provider's thread is freed by its own transport timeout
        # (the same deadline), so the pool needs headroom, not one thread per hang forever.
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="rates")

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def shop(self, request: ShipmentRequest) -> RateShopResult:
        started = time.monotonic()
        futures: dict[Future[tuple[list[Quote], list[QuoteFailure], float]], Carrier] = {
            self._pool.submit(self._ask, carrier, request, started): carrier
            for carrier in self.carriers
        }
        pending = set(futures)
        while pending:
            remaining = self.deadline_s - (time.monotonic() - started)
            if remaining <= 0:
                break
            _, pending = wait(pending, timeout=remaining, return_when=FIRST_EXCEPTION)
        quotes: list[Quote] = []
        failures: list[QuoteFailure] = []
        answered: dict[str, float] = {}
        for future, carrier in futures.items():
            name = f"{carrier.provider}:{carrier.account.name}"
            if future in pending:
                future.cancel()
                why = f"no answer within {self.deadline_s:g} s"
                failures.append(QuoteFailure(carrier.provider, carrier.account.name, why))
                continue
            exc = future.exception()
            if exc is not None:
                # An adapter bug must not fail the whole quote: it is a failure like a timeout.
                log.warning("rates from %s failed: %s", name, exc)
                failures.append(QuoteFailure(carrier.provider, carrier.account.name,
                                             f"{type(exc).__name__}: {exc}"))  # fmt: skip
                continue
            got, lost, took = future.result()
            quotes.extend(got)
            failures.extend(lost)
            answered[name] = took
        return RateShopResult(tuple(quotes), tuple(failures), time.monotonic() - started, answered)

    def _ask(
        self, carrier: Carrier, request: ShipmentRequest, started: float
    ) -> tuple[list[Quote], list[QuoteFailure], float]:
        remaining = max(0.05, self.deadline_s - (time.monotonic() - started))
        quotes, failures = carrier.rates(request, timeout_s=remaining)
        return quotes, failures, time.monotonic() - started
