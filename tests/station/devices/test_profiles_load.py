from __future__ import annotations

from pathlib import Path

import pytest

from station.devices.profiles import (
    DEFAULT_PROFILE_DIR,
    Interface,
    ProfileError,
    iter_profile_files,
    load_profile,
    load_profiles,
)

FILES = list(iter_profile_files())
GOOD = """
[profile]
id = "scanner-test"
vendor = "Test"
model = "T1"
interface = "rs232"

[serial]
baudrate = 9600

[framing]
terminator = "\\r\\n"
aim_id = true

[usb]
vendor_id = 0x0C2E

[meta]
sources = ["test"]
unconfirmed = ["serial.baudrate"]
"""


def test_every_shipped_profile_loads_and_is_usable() -> None:
    assert len(FILES) >= 27
    for path in FILES:
        profile = load_profile(path)
        assert profile.sources, path
        if profile.interface.is_serial:
            assert profile.serial is not None and profile.framing.terminator
        else:
            assert len(profile.framing.prefix) == 1


def test_required_models_are_covered() -> None:
    ids = set(load_profiles(DEFAULT_PROFILE_DIR))
    for model in (
        "voyager-1250g",
        "voyager-1450g",
        "xenon-1950g",
        "xenon-1952g",
        "granit-1910i",
        "granit-1980i",
    ):
        assert {f"scanner-honeywell-{model}-rs232", f"scanner-honeywell-{model}-usb_cdc"} <= ids
    for model in ("ds2208", "ds4608", "ds6608"):
        assert f"scanner-zebra-{model}-rs232" in ids
    for model in ("quickscan-qd2500", "quickscan-qbt2500", "gryphon-gd4500", "gryphon-gbt4500"):
        assert f"scanner-datalogic-{model}-rs232" in ids
    wedge = load_profiles()["scanner-generic-keyboard-wedge"]
    assert wedge.interface is Interface.HID_KEYBOARD


def test_honeywell_serial_defaults_match_the_handbook() -> None:
    profile = load_profiles()["scanner-honeywell-voyager-1250g-rs232"]
    assert profile.serial is not None
    assert (profile.serial.baudrate, profile.serial.bytesize, profile.serial.parity) == (
        115200,
        8,
        "N",
    )
    assert profile.framing.terminator == "\r\n" and profile.framing.gs1_separator == "\x1d"


def write(tmp_path: Path, text: str, name: str = "scanner-test.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_good_minimal_profile(tmp_path: Path) -> None:
    profile = load_profile(write(tmp_path, GOOD))
    assert profile.usb is not None and profile.usb.vendor_id == 0x0C2E
    assert profile.usb.product_id is None
    assert profile.unconfirmed == ("serial.baudrate",)


def test_broken_toml_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ProfileError) as error:
        load_profile(write(tmp_path, GOOD + "\n[serial\n"))
    assert error.value.file == "scanner-test.toml"
    assert "invalid TOML" in str(error.value)


@pytest.mark.parametrize(
    ("old", "new", "field", "message"),
    [
        ("baudrate = 9600", 'baudrate = "fast"', "serial.baudrate", "must be int"),
        ("baudrate = 9600", "baudrate = true", "serial.baudrate", "must be an integer"),
        ("baudrate = 9600", "baudrate = 9601", "serial.baudrate", "not a scanner baud rate"),
        ("baudrate = 9600", "baudrate = 9600\nparity = 'X'", "serial.parity", "one of"),
        ("baudrate = 9600", "baud = 9600", "serial.baud", "unknown field"),
        ('terminator = "\\r\\n"', 'terminator = ""', "framing.terminator", "must not be empty"),
        ("aim_id = true\n", "", "framing.aim_id", "is required"),
        (
            "aim_id = true",
            'aim_id = true\ngs1_separator = "\\r"',
            "framing.gs1_separator",
            "overlap",
        ),
        ('interface = "rs232"', 'interface = "ps2"', "profile.interface", "one of"),
        ('id = "scanner-test"', 'id = "other"', "profile.id", "file name"),
        ("vendor_id = 0x0C2E", "vendor_id = 0x10000", "usb.vendor_id", "16-bit"),
        ('sources = ["test"]', "sources = []", "meta.sources", "at least one"),
        ('["serial.baudrate"]', '["serial.speed"]', "meta.unconfirmed", "not a profile field"),
        ("[serial]\nbaudrate = 9600", "", "serial", "required for rs232"),
        ('interface = "rs232"', 'interface = "hid_keyboard"', "framing.prefix", "exactly one"),
    ],
)
def test_broken_fields_name_file_and_field(
    tmp_path: Path, old: str, new: str, field: str, message: str
) -> None:
    assert old in GOOD
    with pytest.raises(ProfileError) as error:
        load_profile(write(tmp_path, GOOD.replace(old, new, 1)))
    assert (error.value.file, error.value.field) == ("scanner-test.toml", field)
    assert message in error.value.message
