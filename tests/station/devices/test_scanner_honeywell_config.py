"""Honeywell menu commands over a pty whose other end answers like the scanner."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import serial

from station.devices import honeywell_config as hc
from station.devices.profiles import ConfigDialect, VendorConfig, load_profiles
from station.devices.scanner import ScannerState
from station.devices.serial_scanner import SerialScanner
from tests.station.devices.scanner_pty import PtyScanner, Recorder

# What the fake scanner knows: tag+subtag -> (current value, accepted values or None = any)
SETTINGS = {
    "232BAD": ("9", set("0123456789")),
    "232WRD": ("2", set("0123456789")),
    "SUFCA2": ("", None),
    "SUFBK2": ("", None),
    "PRECA2": ("", None),
    "PREBK2": ("", None),
    "PAP232": ("", None),  # plug-and-play: RS-232 defaults
}


class FakeHoneywell(threading.Thread):
    """Answers menu frames: echo each command with ACK / ENQ (unknown) / NAK (bad value)."""

    def __init__(self, pty: PtyScanner) -> None:
        super().__init__(daemon=True)
        self.pty = pty
        self.frames: list[bytes] = []

    def run(self) -> None:
        frame = self.pty.read_available(until=(b".", b"!"))
        self.frames.append(frame)
        body = frame.removeprefix(hc.MENU_PREFIX).decode()
        end = body[-1]
        replies = []
        for command in body[:-1].split(";"):
            key, data = command[:6], command[6:]
            if key not in SETTINGS:
                status = hc.ENQ
            elif data in ("?", "^"):
                command, status = key + SETTINGS[key][0], hc.ACK
            else:
                allowed = SETTINGS[key][1]
                ok = allowed is None or (len(data) == 1 and data in allowed)
                status = hc.ACK if ok else hc.NAK
            replies.append(command.encode() + status)
        self.pty.write(b";".join(replies) + end.encode())


@pytest.fixture
def link(tmp_path: Path) -> Iterator[tuple[PtyScanner, serial.Serial]]:
    pty = PtyScanner(tmp_path)
    port = serial.Serial(str(pty.link), 115200, timeout=0.05)
    yield pty, port
    port.close()
    pty.close()


def test_menu_command_bytes_follow_the_documented_frame() -> None:
    frame = hc.build_menu_command(commands=["232BAD9", "VSUFCR"], store=hc.Store.NON_VOLATILE)
    assert frame == b"\x16M\r232BAD9;VSUFCR."
    cordless = hc.build_menu_command(commands=["PREBK29902"], device="*")
    assert cordless == b"\x16M\r:*:PREBK29902!"
    with pytest.raises(ValueError, match="contains ';'"):
        hc.build_menu_command(commands=["232BAD9;DEFALT"])
    with pytest.raises(ValueError, match="tag/subtag"):
        hc.build_menu_command(commands=["BAD"])


def test_apply_writes_commands_and_reads_acks(link) -> None:
    pty, port = link
    peer = FakeHoneywell(pty)
    peer.start()
    results = hc.apply(port, commands=["232BAD9", "232WRD2"], store=hc.Store.VOLATILE)
    peer.join(10)
    assert peer.frames == [b"\x16M\r232BAD9;232WRD2!"]
    assert [(r.command, r.echoed, r.reply) for r in results] == [
        ("232BAD9", "232BAD9", hc.Reply.ACK),
        ("232WRD2", "232WRD2", hc.Reply.ACK),
    ]


def test_query_returns_the_current_value(link) -> None:
    pty, port = link
    peer = FakeHoneywell(pty)
    peer.start()
    assert hc.query(port, setting="232BAD") == "9"
    peer.join(10)
    assert peer.frames == [b"\x16M\r232BAD?!"]


def test_refused_commands_raise_with_the_scanner_reason(link) -> None:
    pty, port = link
    peer = FakeHoneywell(pty)
    peer.start()
    with pytest.raises(hc.HoneywellConfigError) as error:
        hc.apply(port, commands=["232BADZ", "XYZABC1", "232WRD2"])
    peer.join(10)
    message = str(error.value)
    assert "232BADZ: value out of range" in message
    assert "XYZABC1: unknown tag or subtag" in message
    assert "232WRD2" not in message


def test_silent_scanner_times_out_with_a_clear_error(link) -> None:
    _, port = link  # nobody answers: e.g. the scanner is in keyboard-wedge mode
    with pytest.raises(hc.HoneywellConfigError, match="bidirectional serial mode"):
        hc.apply(port, commands=["232BAD9"], timeout_s=0.3)


def test_malformed_reply_is_an_error() -> None:
    with pytest.raises(hc.HoneywellConfigError, match="no ACK/ENQ/NAK"):
        hc.parse_menu_reply(b"232BAD9.")
    with pytest.raises(hc.HoneywellConfigError, match="status not before"):
        hc.parse_menu_reply(b"232BAD9\x06X.")


def test_driver_applies_profile_commands_at_connect_then_scans(tmp_path: Path) -> None:
    base = load_profiles()["scanner-honeywell-voyager-1250g-rs232"]
    profile = replace(
        base,
        config=VendorConfig(
            dialect=ConfigDialect.HONEYWELL_MENU, apply=("232BAD9", "SUFBK2990D0A")
        ),
    )
    pty = PtyScanner(tmp_path)
    peer = FakeHoneywell(pty)
    peer.start()
    recorder = Recorder()
    driver = SerialScanner(
        profile=profile, port=str(pty.link), configure=hc.configure_on_connect(profile)
    )
    driver.start(on_scan=recorder.on_scan, on_status=recorder.on_status)
    try:
        recorder.wait(lambda: recorder.connected_count() == 1)
        peer.join(10)
        assert peer.frames == [b"\x16M\r232BAD9;SUFBK2990D0A!"]
        pty.write(b"]C100012345678901234567\r\n")
        (scan,) = recorder.wait(lambda: recorder.scans)
        assert (scan.symbology_id, scan.text) == ("]C1", "00012345678901234567")
        assert recorder.states() == [ScannerState.CONNECTED]
    finally:
        driver.stop()
        pty.close()


def test_no_configure_hook_for_profiles_without_honeywell_commands() -> None:
    profiles = load_profiles()
    assert hc.configure_on_connect(profiles["scanner-zebra-ds2208-rs232"]) is None
    assert hc.configure_on_connect(profiles["scanner-honeywell-xenon-1950g-usb_cdc"]) is not None


def test_station_command_configures_a_serial_scanner_permanently(link, capsys) -> None:
    from station.app import main

    pty, port = link
    port.close()  # the command opens the scanner itself, as on a bench
    fake = FakeHoneywell(pty)
    fake.start()
    rc = main(["--configure-scanner", "--scanner-port", str(pty.link),
               "--scanner-profile", "scanner-honeywell-xenon-1950g-rs232"])  # fmt: skip
    fake.join(timeout=10)
    assert rc == 0
    body = fake.frames[0].removeprefix(hc.MENU_PREFIX).decode()
    assert body.startswith("PAP232;232BAD9") and body.endswith(".")  # "." = stored permanently
    assert "acknowledged" in capsys.readouterr().out


def test_station_command_writes_a_setup_sheet(tmp_path: Path) -> None:
    from station.app import main

    pdf = tmp_path / "sheet.pdf"
    assert main(["--setup-sheet", str(pdf),
                 "--scanner-profile", "scanner-honeywell-voyager-1250g-rs232"]) == 0  # fmt: skip
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and len(data) > 2000
