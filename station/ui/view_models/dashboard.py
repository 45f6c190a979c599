"""The supervisors' dashboard screen: reads the figure groups, keeps them current from the live
stream, and resolves exceptions from the queue.

Every server call runs on the dashboard's own Background (the bench's single worker stays free
for sign-ins and claims). The stream thread reports through `on_live_change` /
`on_live_connected`, which hop onto the GUI thread through a queued Signal, like the
DeviceBridge. A group being read when a change for it arrives is read once more afterwards,
never twice at the same time. Offline, the last figures stay on screen and say how old they are.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Any, Protocol

from PySide6.QtCore import QObject, Qt, Signal, Slot

from shared.contract.common import Model
from shared.contract.dashboard import FIGURE_GROUPS, FigureGroup
from station.sync.client import ServerRefused, ServerUnavailable
from station.sync.dashboard_client import DashboardGateway
from station.ui.background import Background
from station.ui.signals import emit
from station.ui.view_models.dashboard_view import (
    ACTION_WORDS,
    DashboardView,
    build_view,
    stage_words,
)
from station.ui.words import gateway_failure

# What a supervisor types for the actions that need more than a button press.
ACTION_FIELDS: dict[str, tuple[str, ...]] = {
    "map_sku": ("sku_id",),
    "set_phone": ("phone",),
    "set_address": ("name", "line1", "city", "postcode", "country"),
    "capture": ("reference", "amount", "currency"),
}
FIELD_WORDS: dict[str, str] = {
    "sku_id": "SKU id",
    "phone": "phone number",
    "name": "name",
    "line1": "street and number",
    "city": "city",
    "postcode": "postcode",
    "country": "country (2 letters)",
    "reference": "payment reference",
    "amount": "amount",
    "currency": "currency (3 letters)",
    "reason": "reason (optional)",
}
# What the screen must read again after a resolution (the stream would say so too, a moment later).
AFTER_RESOLVE: tuple[FigureGroup, ...] = ("exceptions", "backlog", "at_risk", "unallocated")


class Startable(Protocol):
    def start(self) -> None: ...


def utc_now() -> datetime:
    return datetime.now(UTC)


def action_words(action: str) -> str:
    return ACTION_WORDS.get(action, action.replace("_", " ").capitalize())


def prepare(action: str, data: dict[str, str]) -> dict[str, Any]:
    """The typed-in fields as the server wants them; ValueError with operator words if not."""
    out: dict[str, Any] = {}
    for field in ACTION_FIELDS.get(action, ()):
        value = str(data.get(field, "")).strip()
        if not value:
            raise ValueError(f"Give the {FIELD_WORDS.get(field, field)}")
        out[field] = value
    if "sku_id" in out:
        if not out["sku_id"].isdigit():
            raise ValueError("The SKU id is a number")
        out["sku_id"] = int(out["sku_id"])
    if "amount" in out:
        try:
            amount = Decimal(out["amount"].replace(",", "."))
        except InvalidOperation:
            raise ValueError("The amount is a number, e.g. 12.50") from None
        if not amount.is_finite() or amount < 0:
            raise ValueError("The amount is a number, e.g. 12.50")
        out["amount"] = str(amount)
    if "reason" in data and str(data["reason"]).strip():
        out["reason"] = str(data["reason"]).strip()
    return out


class DashboardViewModel(QObject):
    view_changed = Signal(object)  # DashboardView
    failed = Signal(str)  # operator words
    notice = Signal(str)  # a resolution went through
    busy_changed = Signal(bool)

    _live_posted = Signal(object)  # list of groups (stream thread -> GUI thread)
    _connected_posted = Signal(bool)

    def __init__(
        self,
        *,
        client: DashboardGateway,
        background: Background,
        clock: Callable[[], datetime] = utc_now,
        stream: Startable | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._client = client
        # The live stream starts the first time the screen opens: a bench whose supervisor never
        # looks at the dashboard holds no second connection all shift.
        self._stream = stream
        self._background = background
        self._clock = clock
        self._figures: dict[str, Model] = {}
        self._inflight: set[str] = set()
        self._again: set[str] = set()
        self._resolving = False
        self._active = False
        self._live = False
        self._stale_since: datetime | None = None
        self._view = build_view({}, live=False, stale_since=None, now=clock())
        self._live_posted.connect(self._live_change, Qt.ConnectionType.QueuedConnection)
        self._connected_posted.connect(self._connected, Qt.ConnectionType.QueuedConnection)

    @property
    def view(self) -> DashboardView:
        return self._view

    @property
    def active(self) -> bool:
        return self._active

    @property
    def busy(self) -> bool:
        return bool(self._inflight) or self._resolving

    # -- the screen comes and goes --------------------------------------------------------
    @Slot()
    def activate(self) -> None:
        self._active = True
        if self._stream is not None:
            self._stream.start()  # idempotent, returns at once: the stream has its own thread
        self.refresh()

    @Slot()
    def deactivate(self) -> None:
        self._active = False  # changes arriving now are read when the screen opens again

    def refresh(self, groups: Iterable[str] = FIGURE_GROUPS) -> None:
        for group in groups:
            if group not in FIGURE_GROUPS:
                continue  # a newer server's group this station cannot show
            if group in self._inflight:
                self._again.add(group)
                continue
            self._started(group)
            client = self._client
            self._background.submit(
                partial(client.figures, group),
                on_result=partial(self._got, group),
                on_error=partial(self._fetch_failed, group),
            )

    # -- the stream (any thread) ------------------------------------------------------------
    def on_live_change(self, groups: list[FigureGroup]) -> None:
        emit(self._live_posted, list(groups))

    def on_live_connected(self, connected: bool) -> None:
        emit(self._connected_posted, connected)

    @Slot(object)
    def _live_change(self, groups: list[str]) -> None:
        if self._active:
            self.refresh(groups)

    @Slot(bool)
    def _connected(self, connected: bool) -> None:
        self._live = connected
        if connected and self._active:
            self.refresh()  # what changed while the stream was down is not replayed
        self._publish()

    # -- the exception queue ----------------------------------------------------------------
    def resolve(
        self, *, exception_id: int, action: str, data: dict[str, str] | None = None
    ) -> None:
        if self._resolving:
            emit(self.failed, "One moment: the last action is still being sent")
            return
        try:
            body = prepare(action, data or {})
        except ValueError as exc:
            emit(self.failed, str(exc))
            return
        self._resolving = True
        emit(self.busy_changed, True)
        client = self._client
        self._background.submit(
            lambda: client.resolve(exception_id=exception_id, action=action, data=body),
            on_result=partial(self._resolved, exception_id, action),
            on_error=self._resolve_failed,
        )

    def _resolved(self, exception_id: int, action: str, state: str | None) -> None:
        self._resolving = False
        self._busy_maybe_ended()
        after = f": the order is now {stage_words(state)}" if state else ""
        emit(self.notice, f"{action_words(action)} done for exception {exception_id}{after}")
        self.refresh(AFTER_RESOLVE)

    def _resolve_failed(self, exc: BaseException) -> None:
        self._resolving = False
        self._busy_maybe_ended()
        if isinstance(exc, ServerRefused) and exc.status in (404, 409, 422):
            emit(self.failed, f"Not done: {exc.detail}")
            self.refresh(AFTER_RESOLVE)  # someone else may have resolved it meanwhile
        else:
            emit(self.failed, gateway_failure(exc, doing="resolve this exception"))

    # -- results ----------------------------------------------------------------------------
    def _got(self, group: str, figures: Model) -> None:
        self._figures[group] = figures
        self._stale_since = None
        self._ended(group)
        self._publish()

    def _fetch_failed(self, group: str, exc: BaseException) -> None:
        self._ended(group)
        if isinstance(exc, ServerUnavailable):
            if self._stale_since is None:
                self._stale_since = self._clock()
                emit(self.failed, gateway_failure(exc, doing="read the figures"))
            self._publish()
            return
        emit(self.failed, gateway_failure(exc, doing="read the figures"))

    def _started(self, group: str) -> None:
        was_busy = self.busy
        self._inflight.add(group)
        if not was_busy:
            emit(self.busy_changed, True)

    def _ended(self, group: str) -> None:
        self._inflight.discard(group)
        if group in self._again:
            self._again.discard(group)
            self.refresh([group])
        self._busy_maybe_ended()

    def _busy_maybe_ended(self) -> None:
        if not self.busy:
            emit(self.busy_changed, False)

    def _publish(self) -> None:
        view = build_view(
            self._figures, live=self._live, stale_since=self._stale_since, now=self._clock()
        )
        if view != self._view:
            self._view = view
            emit(self.view_changed, view)
