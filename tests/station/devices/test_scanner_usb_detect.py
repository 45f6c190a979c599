from __future__ import annotations

from dataclasses import replace

from station.devices.profiles import Framing, Interface, ScannerProfile, SerialSettings, UsbIds
from station.devices.usb_detect import PortInfo, match_ports

BASE = ScannerProfile(
    id="x",
    vendor="V",
    model="M",
    interface=Interface.USB_CDC,
    framing=Framing(terminator="\r\n"),
    sources=("t",),
    serial=SerialSettings(baudrate=9600),
)
HONEYWELL_ANY = replace(BASE, id="honeywell-any", usb=UsbIds(vendor_id=0x0C2E))
ZEBRA_CDC = replace(BASE, id="zebra-cdc", usb=UsbIds(vendor_id=0x05E0, product_id=0x1701))
HONEYWELL_EXACT = replace(BASE, id="honeywell-exact", usb=UsbIds(0x0C2E, 0x0B6A))
WEDGE = replace(BASE, id="wedge", interface=Interface.HID_KEYBOARD, usb=UsbIds(0x05E0, 0x1200))
RS232 = replace(BASE, id="rs232", interface=Interface.RS232)


def test_ports_pair_with_the_most_specific_profile() -> None:
    ports = [
        PortInfo("/dev/ttyS0", None, None),
        PortInfo("/dev/ttyACM0", 0x0C2E, 0x0B6A, "17010B", "/dev/serial/by-id/usb-Honeywell-if00"),
        PortInfo("/dev/ttyACM1", 0x0C2E, 0x0B01),
        PortInfo("/dev/ttyACM2", 0x05E0, 0x1701),
        PortInfo("/dev/ttyACM3", 0x05E0, 0x1200),  # keyboard PID: not a CDC scanner
        PortInfo("/dev/ttyUSB0", 0x0403, 0x6001),  # an FTDI adapter: profile unknown
    ]
    found = match_ports(
        ports=ports, profiles=[HONEYWELL_ANY, ZEBRA_CDC, HONEYWELL_EXACT, WEDGE, RS232]
    )
    assert [(d.port.device, d.profile.id, d.path) for d in found] == [
        ("/dev/ttyACM0", "honeywell-exact", "/dev/serial/by-id/usb-Honeywell-if00"),
        ("/dev/ttyACM1", "honeywell-any", "/dev/ttyACM1"),
        ("/dev/ttyACM2", "zebra-cdc", "/dev/ttyACM2"),
    ]


def test_no_ports_no_matches() -> None:
    assert match_ports(ports=[], profiles=[HONEYWELL_ANY]) == []
