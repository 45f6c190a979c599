"""After the last box is closed: make sure the server has the pack, have it buy the labels, fetch
every package's ZPL and hand it to the label print queue, then the packing slip to the document
printer. One blocking call for the bench's background pool (never the GUI thread).

Nothing is lost and nothing is bought or printed twice: the pack event is waited for in the
journal (the pusher sends it; the server refuses to buy for an order it does not know packed);
the purchase is idempotent on the server; every label is downloaded before the first one is
queued, so a server that dies half-way leaves nothing half-printed, and labels already queued
(by a previous attempt) are not queued again. The print queue persists and retries on its own.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from station.sync.client import ServerRefused, ServerUnavailable
from station.sync.journal import Journal
from station.sync.shipping_client import ShippingGateway
from station.work.labelling import LabelPackage

log = logging.getLogger(__name__)

# Print one document; returns the print queue's job id.
Print = Callable[[bytes, str], int]


class PackNotSent(ServerUnavailable):
    """The pack event is still in the journal's queue: the server does not know the order is
    packed yet (offline, or busy). Ask again later."""


class PackRefused(Exception):
    """The server refused the pack event: the order is not packed there; a supervisor must look."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass(frozen=True, kw_only=True)
class SlipOutcome:
    words: str  # for the packer, beside the instruction
    retry: bool = False  # the server did not send it: Enter asks again


@dataclass(frozen=True, kw_only=True)
class LabelBatch:
    packages: tuple[LabelPackage, ...]
    labelled: frozenset[int]  # package ids the server already has as labelled (a retry)
    jobs: dict[int, int] = field(default_factory=dict)  # package id -> label print job
    slip: SlipOutcome | None = None  # what became of the packing slip


class BenchLabels:
    def __init__(
        self,
        *,
        shipping: ShippingGateway,
        print_label: Print | None,
        print_document: Print | None,
        journal: Journal | None = None,
        wake_pusher: Callable[[], None] = lambda: None,
        wait_s: float = 15.0,
        poll_s: float = 0.1,
    ) -> None:
        self._shipping = shipping
        self._print_label = print_label
        self._print_document = print_document
        self._journal = journal
        self._wake = wake_pusher
        self._wait_s = wait_s
        self._poll_s = poll_s

    def fetch(
        self,
        *,
        order_id: int,
        order_number: str,
        pack_key: str | None,
        queued: Mapping[int, int],  # package id -> job id, labels an earlier attempt queued
        with_slip: bool = True,
    ) -> LabelBatch:
        self._wait_for_pack(pack_key)
        bought = [p for p in self._shipping.ship(order_id=order_id) if p.state != "voided"]
        if not bought:
            raise ServerRefused(status=409, detail=f"no live package for order {order_number}")
        # Labels already scanned onto cartons (another attempt, another bench) are not printed.
        to_print = [p for p in bought if p.state == "bought" and p.id not in queued]
        zpl = {p.id: self._shipping.label(package_id=p.id) for p in to_print}
        jobs = dict(queued)
        if self._print_label is not None:
            for p in to_print:
                title = f"{order_number} package {p.package_no}/{len(bought)} {p.tracking_number}"
                jobs[p.id] = self._print_label(zpl[p.id], title)
        packages = tuple(
            LabelPackage(package_id=p.id, package_no=p.package_no,
                         tracking_number=p.tracking_number, carrier=p.carrier)
            for p in bought
        )  # fmt: skip
        labelled = frozenset(p.id for p in bought if p.state != "bought")
        slip = self.print_slip(order_id=order_id, order_number=order_number) if with_slip else None
        return LabelBatch(packages=packages, labelled=labelled, jobs=jobs, slip=slip)

    def print_slip(self, *, order_id: int, order_number: str) -> SlipOutcome:
        """Never fails the labels: a slip that cannot be had is reported, the order goes on."""
        if self._print_document is None:
            return SlipOutcome(words="No document printer here: no packing slip")
        try:
            pdf = self._shipping.packing_slip(order_id=order_id)
        except (ServerUnavailable, ServerRefused) as exc:
            log.warning("packing slip for %s: %s", order_number, exc)
            return SlipOutcome(words="Packing slip not printed: Enter tries again", retry=True)
        self._print_document(pdf, f"{order_number} packing slip")
        return SlipOutcome(words="Packing slip printing")

    def _wait_for_pack(self, key: str | None) -> None:
        if key is None or self._journal is None:
            return
        deadline = time.monotonic() + self._wait_s
        while True:
            if not any(j.event.key == key for j in self._journal.pending(limit=1_000_000)):
                refused = next((r for r in self._journal.rejected(limit=10_000) if r.key == key),
                               None)  # fmt: skip
                if refused is not None:
                    raise PackRefused(refused.detail)
                return
            self._wake()
            if time.monotonic() > deadline:
                raise PackNotSent("the packed order has not reached the server yet")
            time.sleep(self._poll_s)
