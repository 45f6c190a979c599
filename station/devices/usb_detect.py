"""Find a serial scanner by USB vendor/product id (matching is pure; listing is one call)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from station.devices.profiles import ScannerProfile

BY_ID_DIR = Path("/dev/serial/by-id")


class PortInfo(NamedTuple):
    device: str
    vid: int | None
    pid: int | None
    serial_number: str | None = None
    # /dev/serial/by-id/... link for the device when udev made one: it survives re-plugs
    # that hand out a new ttyACM number (hardware.md §1.7).
    stable_path: str | None = None


class Detected(NamedTuple):
    port: PortInfo
    profile: ScannerProfile

    @property
    def path(self) -> str:
        return self.port.stable_path or self.port.device


def match_ports(*, ports: Iterable[PortInfo], profiles: Iterable[ScannerProfile]) -> list[Detected]:
    """Pair each port with the most specific serial profile whose USB ids it carries.

    A profile that names a product id beats one that names only the vendor, because a
    vendor's scanners enumerate with a different PID per interface mode.
    """
    candidates = [p for p in profiles if p.usb is not None and p.interface.is_serial]
    found: list[Detected] = []
    for port in ports:
        if port.vid is None:
            continue
        best: ScannerProfile | None = None
        for profile in candidates:
            usb = profile.usb
            assert usb is not None
            if usb.vendor_id != port.vid:
                continue
            if usb.product_id is not None and usb.product_id != port.pid:
                continue
            if best is None or (
                usb.product_id is not None and best.usb is not None and best.usb.product_id is None
            ):
                best = profile
        if best is not None:
            found.append(Detected(port=port, profile=best))
    return found


def stable_paths(directory: Path = BY_ID_DIR) -> dict[str, str]:
    """Map resolved tty device -> by-id link."""
    if not directory.is_dir():
        return {}
    return {os.path.realpath(link): str(link) for link in sorted(directory.iterdir())}


def list_serial_ports() -> list[PortInfo]:
    # Imported here so importing this module never touches the system (habit 3).
    from serial.tools import list_ports

    links = stable_paths()
    return [
        PortInfo(
            device=info.device,
            vid=info.vid,
            pid=info.pid,
            serial_number=info.serial_number,
            stable_path=links.get(os.path.realpath(info.device)),
        )
        for info in list_ports.comports()
    ]


def find_port(*, profile: ScannerProfile) -> str | None:
    matches = match_ports(ports=list_serial_ports(), profiles=[profile])
    return matches[0].path if matches else None
