"""The returns desk's link to the server: a small Protocol and its implementation composed over
the bench's HttpGateway (same session and operator, same two kinds of failure: ServerUnavailable
means try again later, ServerRefused carries the server's words). The fake is fake_returns.py."""

from __future__ import annotations

from typing import Any, Protocol

from shared.contract.returns import (
    QuarantineBinOut,
    ReturnUnitIn,
    ReturnUnitOut,
    RmaOut,
    TriageIn,
    TriageOut,
)
from station.sync.client import ServerUnavailable, parse_as


class ReturnsGateway(Protocol):
    def lookup(self, *, code: str) -> RmaOut: ...

    def receive(self, *, rma_id: int, unit: ReturnUnitIn) -> ReturnUnitOut: ...

    def triage(self, *, unit_id: int, decision: TriageIn) -> TriageOut: ...

    def quarantine_bins(self) -> list[QuarantineBinOut]: ...

    def units(self, *, state: str) -> list[ReturnUnitOut]: ...


class JsonCaller(Protocol):
    """What HttpGateway offers feature clients: one JSON call as the signed-in operator."""

    def call(self, method: str, path: str, **kw: Any) -> Any: ...


class HttpReturnsClient:
    def __init__(self, *, gateway: JsonCaller) -> None:
        self._gateway = gateway

    def lookup(self, *, code: str) -> RmaOut:
        return parse_as(RmaOut, self._gateway.call("GET", "/returns/lookup",
                                                   params={"code": code}))  # fmt: skip

    def receive(self, *, rma_id: int, unit: ReturnUnitIn) -> ReturnUnitOut:
        # The key inside the body makes this safe to send again after a timeout.
        data = self._gateway.call("POST", f"/returns/rmas/{rma_id}/units",
                                  content=unit.model_dump_json())  # fmt: skip
        return parse_as(ReturnUnitOut, data)

    def triage(self, *, unit_id: int, decision: TriageIn) -> TriageOut:
        data = self._gateway.call("POST", f"/returns/units/{unit_id}/triage",
                                  content=decision.model_dump_json())  # fmt: skip
        return parse_as(TriageOut, data)

    def quarantine_bins(self) -> list[QuarantineBinOut]:
        data = self._gateway.call("GET", "/returns/quarantine-bins")
        if not isinstance(data, list):
            raise ServerUnavailable("the server's bin list is not a list")
        return [parse_as(QuarantineBinOut, x) for x in data]

    def units(self, *, state: str) -> list[ReturnUnitOut]:
        """Returned units in one state (triage lists the "quarantined" ones)."""
        data = self._gateway.call("GET", "/returns/units", params={"state": state})
        if not isinstance(data, list):
            raise ServerUnavailable("the server's unit list is not a list")
        return [parse_as(ReturnUnitOut, x) for x in data]
