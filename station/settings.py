"""One settings class for the bench process, read from PACKLINE_STATION_* variables or flags."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("packline-station", appauthor=False))


class StationSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PACKLINE_STATION_", extra="ignore")

    server_url: str = "http://127.0.0.1:8400"
    # Journal, print queue, the station token: everything that must survive a power cut.
    data_dir: Path = Field(default_factory=_default_data_dir)
    # Serial scanner: a path (prefer /dev/serial/by-id/...) and the firmware profile id; an
    # empty port with a profile that names USB ids means "find it by vendor/product id".
    scanner_port: str = ""
    scanner_profile: str = "scanner-honeywell-xenon-1950g-rs232"
    # Keyboard-wedge scanners are recognised by the profile's prefix/suffix instead.
    wedge_profile: str = ""
    # "tcp://host:9100" or "cups://queue"; empty = no printer configured.
    printer: str = ""
    # Packing slips (PDF): "cups://queue" (or "cups://queue?raw"); empty = no slips printed.
    document_printer: str = ""
    # Optional scale: serial port and "sics" or "nci".
    scale_port: str = ""
    scale_dialect: str = "sics"
    scale_tolerance_percent: float = 5.0
    scale_tolerance_min_g: int = 20
    # What this station is: a packing bench, a returns desk or a dispatch door (the screens
    # after sign-in follow it).
    mode: Literal["bench", "returns", "dispatch"] = "bench"
    # How often the station tells the server its scanner/printer/queue state (the dashboard
    # shows a station offline after a few missed beats).
    heartbeat_s: float = 15.0
