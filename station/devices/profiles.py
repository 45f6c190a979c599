"""Scanner firmware profiles: one TOML per model and interface mode, validated on load.

A profile says how the scanner is *configured* (baud, terminator, AIM id, GS1 separator),
not what the station hopes for; the framing and the setup sheet both read it.
"""

from __future__ import annotations

import enum
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

# firmware_profiles/ lives at the repository root (architecture.md), next to station/.
DEFAULT_PROFILE_DIR = Path(__file__).resolve().parents[2] / "firmware_profiles"

_T = TypeVar("_T")

# Control characters a barcode may legitimately contain (hardware.md §1.6: GS, RS, EOT).
DEFAULT_CONTROLS = ("\x1d", "\x1e", "\x04")


class ProfileError(ValueError):
    def __init__(self, *, file: str, field: str, message: str) -> None:
        super().__init__(f"{file}: {field}: {message}" if field else f"{file}: {message}")
        self.file = file
        self.field = field
        self.message = message


class Interface(enum.Enum):
    RS232 = "rs232"
    USB_CDC = "usb_cdc"
    HID_KEYBOARD = "hid_keyboard"

    @property
    def is_serial(self) -> bool:
        return self is not Interface.HID_KEYBOARD


class ConfigDialect(enum.Enum):
    HONEYWELL_MENU = "honeywell_menu"
    ZEBRA_SSI = "zebra_ssi"
    DATALOGIC_HOST = "datalogic_host"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class SerialSettings:
    baudrate: int
    bytesize: int = 8
    parity: str = "N"
    stopbits: float = 1
    rtscts: bool = False
    xonxoff: bool = False


@dataclass(frozen=True, slots=True)
class Framing:
    # For a wedge, prefix/terminator are single keystroke characters (e.g. STX = Ctrl+B, CR =
    # Enter); for serial, byte strings decoded as latin-1 from the TOML text.
    terminator: str
    prefix: str = ""
    aim_id: bool = True
    # What the scanner sends for a non-leading FNC1: GS itself, or a configured substitute.
    gs1_separator: str = "\x1d"
    # ascii by default: latin-1 never fails to decode, so wrong-baud junk would pass as text.
    encoding: str = "ascii"
    allowed_controls: tuple[str, ...] = DEFAULT_CONTROLS
    max_length: int = 512
    # A fragment with no terminator after this long is discarded, never delivered.
    idle_timeout_ms: int = 300


@dataclass(frozen=True, slots=True)
class UsbIds:
    vendor_id: int
    product_id: int | None = None


@dataclass(frozen=True, slots=True)
class VendorConfig:
    dialect: ConfigDialect
    # One-time commands (interface mode, plug-and-play) for the setup sheet; never sent at
    # connect, because some re-enumerate the device or reset the baud rate.
    setup: tuple[str, ...] = ()
    # Commands that keep the scanner in the state this profile describes; safe to re-apply
    # (volatile) after every connect.
    apply: tuple[str, ...] = ()
    # Queries whose answers identify/verify the device (e.g. Honeywell REVINF).
    verify: tuple[str, ...] = ()
    notes: str = ""


@dataclass(frozen=True, slots=True)
class ScannerProfile:
    id: str
    vendor: str
    model: str
    interface: Interface
    framing: Framing
    sources: tuple[str, ...]
    serial: SerialSettings | None = None
    usb: UsbIds | None = None
    config: VendorConfig | None = None
    unconfirmed: tuple[str, ...] = ()
    notes: str = ""
    source_file: str = field(default="", compare=False)


_ENCODINGS = ("ascii", "latin-1", "utf-8")
_PARITIES = ("N", "E", "O", "M", "S")
_KNOWN_FIELDS = {
    "profile": ("id", "vendor", "model", "interface", "notes"),
    "serial": ("baudrate", "bytesize", "parity", "stopbits", "rtscts", "xonxoff"),
    "framing": (
        "terminator",
        "prefix",
        "aim_id",
        "gs1_separator",
        "encoding",
        "allowed_controls",
        "max_length",
        "idle_timeout_ms",
    ),
    "usb": ("vendor_id", "product_id"),
    "config": ("dialect", "setup", "apply", "verify", "notes"),
    "meta": ("sources", "unconfirmed"),
}


class _Section:
    """Typed, exhaustive access to one TOML table; every error names file and field."""

    def __init__(self, *, file: str, name: str, data: Any) -> None:
        if not isinstance(data, dict):
            raise ProfileError(file=file, field=name, message="must be a table")
        self.file, self.name, self._data = file, name, dict(data)
        unknown = sorted(set(self._data) - set(_KNOWN_FIELDS[name]))
        if unknown:
            raise ProfileError(
                file=file, field=f"{name}.{unknown[0]}", message="unknown field (typo?)"
            )

    def error(self, key: str, message: str) -> ProfileError:
        return ProfileError(file=self.file, field=f"{self.name}.{key}", message=message)

    def get(self, key: str, kind: type[_T], default: _T | None = None) -> _T:
        if key not in self._data:
            if default is None:
                raise self.error(key, "is required")
            return default
        value = self._data[key]
        # bool is an int subclass in Python; a TOML `true` must never pass as a baud rate.
        if kind is int and isinstance(value, bool):
            raise self.error(key, f"must be an integer, got {value!r}")
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind):
            raise self.error(key, f"must be {kind.__name__}, got {type(value).__name__}")
        return value

    def strings(self, key: str) -> tuple[str, ...]:
        value = self.get(key, list, [])
        if not all(isinstance(item, str) for item in value):
            raise self.error(key, "must be a list of strings")
        return tuple(value)

    def choice(self, key: str, choices: tuple[str, ...], default: str | None = None) -> str:
        value = self.get(key, str, default)
        if value not in choices:
            raise self.error(key, f"must be one of {', '.join(choices)}; got {value!r}")
        return value


def _parse_serial(sec: _Section) -> SerialSettings:
    baudrate = sec.get("baudrate", int)
    if baudrate not in (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400):
        raise sec.error("baudrate", f"{baudrate} is not a scanner baud rate")
    bytesize = sec.get("bytesize", int, 8)
    if bytesize not in (7, 8):
        raise sec.error("bytesize", "must be 7 or 8")
    stopbits = sec.get("stopbits", float, 1.0)
    if stopbits not in (1.0, 1.5, 2.0):
        raise sec.error("stopbits", "must be 1, 1.5 or 2")
    return SerialSettings(
        baudrate=baudrate,
        bytesize=bytesize,
        parity=sec.choice("parity", _PARITIES, "N"),
        stopbits=int(stopbits) if stopbits.is_integer() else stopbits,
        rtscts=sec.get("rtscts", bool, False),
        xonxoff=sec.get("xonxoff", bool, False),
    )


def _parse_framing(sec: _Section, *, interface: Interface) -> Framing:
    framing = Framing(
        terminator=sec.get("terminator", str),
        prefix=sec.get("prefix", str, ""),
        aim_id=sec.get("aim_id", bool),
        gs1_separator=sec.get("gs1_separator", str, "\x1d"),
        encoding=sec.choice("encoding", _ENCODINGS, "ascii"),
        allowed_controls=sec.strings("allowed_controls") or DEFAULT_CONTROLS,
        max_length=sec.get("max_length", int, 512),
        idle_timeout_ms=sec.get("idle_timeout_ms", int, 300),
    )
    if not framing.terminator:
        raise sec.error("terminator", "must not be empty: a frame without one is never whole")
    if not framing.gs1_separator:
        raise sec.error("gs1_separator", "must not be empty")
    delimiters = [d for d in (framing.terminator, framing.prefix) if d]
    if any(d in framing.gs1_separator or framing.gs1_separator in d for d in delimiters):
        raise sec.error("gs1_separator", "must not overlap the prefix or terminator")
    if not 8 <= framing.max_length <= 8192:
        raise sec.error("max_length", "must be between 8 and 8192")
    if not 20 <= framing.idle_timeout_ms <= 60_000:
        raise sec.error("idle_timeout_ms", "must be between 20 and 60000")
    if any(len(c) != 1 or c.isprintable() for c in framing.allowed_controls):
        raise sec.error("allowed_controls", "must be single control characters")
    if interface is Interface.HID_KEYBOARD:
        # Wedge scans are recognised by prefix/suffix keystrokes, never by timing: a single
        # non-printable prefix key cannot be confused with typing and needs no replay.
        if len(framing.prefix) != 1:
            raise sec.error("prefix", "a keyboard wedge needs exactly one prefix character")
        if len(framing.terminator) != 1:
            raise sec.error("terminator", "a keyboard wedge needs exactly one suffix key")
    return framing


def _parse_usb(sec: _Section) -> UsbIds:
    vid = sec.get("vendor_id", int)
    pid = sec.get("product_id", int, -1)
    for key, value in (("vendor_id", vid), ("product_id", pid)):
        if value != -1 and not 0 <= value <= 0xFFFF:
            raise sec.error(key, "must be a 16-bit USB id")
    return UsbIds(vendor_id=vid, product_id=None if pid == -1 else pid)


def _parse_config(sec: _Section) -> VendorConfig:
    dialect = ConfigDialect(sec.choice("dialect", tuple(d.value for d in ConfigDialect)))
    return VendorConfig(
        dialect=dialect,
        setup=sec.strings("setup"),
        apply=sec.strings("apply"),
        verify=sec.strings("verify"),
        notes=sec.get("notes", str, ""),
    )


def parse_profile(data: dict[str, Any], *, file: str) -> ScannerProfile:
    unknown = sorted(set(data) - set(_KNOWN_FIELDS))
    if unknown:
        raise ProfileError(file=file, field=unknown[0], message="unknown table (typo?)")
    for required in ("profile", "framing", "meta"):
        if required not in data:
            raise ProfileError(file=file, field=required, message="table is required")
    head = _Section(file=file, name="profile", data=data["profile"])
    interface = Interface(
        head.choice("interface", tuple(i.value for i in Interface)),
    )
    serial = None
    if "serial" in data:
        serial = _parse_serial(_Section(file=file, name="serial", data=data["serial"]))
    if interface.is_serial and serial is None:
        raise ProfileError(file=file, field="serial", message=f"required for {interface.value}")
    meta = _Section(file=file, name="meta", data=data["meta"])
    sources = meta.strings("sources")
    if not sources:
        raise meta.error("sources", "name at least one source for the values")
    unconfirmed = meta.strings("unconfirmed")
    for dotted in unconfirmed:
        table, _, key = dotted.partition(".")
        if key not in _KNOWN_FIELDS.get(table, ()) or table == "meta":
            raise meta.error("unconfirmed", f"{dotted!r} is not a profile field")
    profile = ScannerProfile(
        id=head.get("id", str),
        vendor=head.get("vendor", str),
        model=head.get("model", str),
        interface=interface,
        notes=head.get("notes", str, ""),
        framing=_parse_framing(
            _Section(file=file, name="framing", data=data["framing"]), interface=interface
        ),
        serial=serial,
        usb=_parse_usb(_Section(file=file, name="usb", data=data["usb"]))
        if "usb" in data
        else None,
        config=(
            _parse_config(_Section(file=file, name="config", data=data["config"]))
            if "config" in data
            else None
        ),
        sources=sources,
        unconfirmed=unconfirmed,
        source_file=file,
    )
    stem = Path(file).stem
    if profile.id != stem:
        raise head.error("id", f"must equal the file name {stem!r}, got {profile.id!r}")
    return profile


def load_profile(path: Path) -> ScannerProfile:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(file=path.name, field="", message=f"invalid TOML: {exc}") from exc
    return parse_profile(data, file=path.name)


def iter_profile_files(directory: Path = DEFAULT_PROFILE_DIR) -> Iterator[Path]:
    # Printer profiles may share the folder later; scanner files are named scanner-*.toml.
    return iter(sorted(directory.glob("scanner-*.toml")))


def load_profiles(directory: Path = DEFAULT_PROFILE_DIR) -> dict[str, ScannerProfile]:
    return {p.id: p for p in map(load_profile, iter_profile_files(directory))}
