"""EasyPost v2 adapter: pure wire mapping (mapping, tracking) and a thin httpx transport."""

from server.carriers.easypost.carrier import EasyPostCarrier

__all__ = ["EasyPostCarrier"]
