"""Sign-in by badge scan: the scan is checked locally, the login runs off the GUI thread."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal, Slot

from shared.contract.stations import LoginOut
from station.devices.scanner import RawScan
from station.sync.client import ServerGateway
from station.ui.background import Background
from station.ui.signals import emit
from station.ui.words import gateway_failure
from station.work.scan import BadgeScan, UnknownScan, read_text


@dataclass(frozen=True, kw_only=True)
class Operator:
    id: int
    name: str
    badge: str
    roles: tuple[str, ...]


class LoginViewModel(QObject):
    busy_changed = Signal(bool)
    signed_in = Signal(object)  # Operator
    failed = Signal(str)  # operator words

    def __init__(
        self, *, gateway: ServerGateway, background: Background, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._gateway = gateway
        self._background = background
        self._busy = False

    @property
    def busy(self) -> bool:
        return self._busy

    @Slot(object)
    def handle_scan(self, scan: RawScan) -> None:
        if self._busy:
            return  # a second badge while the first is being checked: the first one wins
        meaning = read_text(scan.text, symbology_id=scan.symbology_id)
        # Badges are "BADGE-..." cards on this floor, but the server is the authority on which
        # badges exist (demo badges have other shapes); only clear non-badges stop here.
        if not isinstance(meaning, BadgeScan | UnknownScan):
            emit(self.failed, "That is not a badge: scan your badge")
            return
        if isinstance(meaning, UnknownScan) and "badge" in meaning.reason:
            emit(self.failed, "Badge unreadable: scan it again")
            return
        self.sign_in(badge=scan.text)

    def sign_in(self, *, badge: str) -> None:
        self._set_busy(True)
        gateway = self._gateway

        def work() -> LoginOut:  # pool thread
            return gateway.login(badge=badge)

        self._background.submit(
            work,
            on_result=lambda out: self._done(out, badge=badge),
            on_error=self._error,
        )

    def _done(self, out: LoginOut, *, badge: str) -> None:
        self._set_busy(False)
        emit(
            self.signed_in,
            Operator(id=out.operator_id, name=out.name, badge=badge, roles=tuple(out.roles)),
        )

    def _error(self, exc: BaseException) -> None:
        self._set_busy(False)
        emit(self.failed, gateway_failure(exc, doing="sign in"))

    def _set_busy(self, busy: bool) -> None:
        if busy != self._busy:
            self._busy = busy
            emit(self.busy_changed, busy)
