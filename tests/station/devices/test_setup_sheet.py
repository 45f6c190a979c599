from __future__ import annotations

import re

from station.devices.profiles import load_profiles
from station.devices.setup_sheet import (
    programming_barcodes,
    render_setup_sheet,
    settings_lines,
    write_setup_sheet,
)


def pdf_text(pdf: bytes) -> list[str]:
    # Uncompressed reportlab content streams draw text as `(…) Tj`.
    return [
        m.decode("latin-1").replace("\\(", "(").replace("\\)", ")")
        for m in re.findall(rb"\(((?:[^()\\]|\\.)*)\) Tj", pdf)
    ]


def test_honeywell_sheet_contains_settings_and_programming_barcodes() -> None:
    profile = load_profiles()["scanner-honeywell-voyager-1250g-rs232"]
    pdf = render_setup_sheet(profile=profile, compress=False)
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    text = pdf_text(pdf)
    for label, value in settings_lines(profile):
        assert f"{label}:" in text and value in text
    assert {"115200", "8N1", "CR LF", "GS"} <= set(text)
    codes = programming_barcodes(profile)
    assert [c.value for c in codes][:3] == ["PAP232.", "232BAD9.", "232WRD2."]
    assert all(c.value in text for c in codes)
    assert any("encoding unconfirmed" in line for line in text)


def test_zebra_sheet_has_settings_but_no_synthesised_barcodes(tmp_path) -> None:
    profile = load_profiles()["scanner-zebra-ds2208-usb_cdc"]
    assert programming_barcodes(profile) == []
    path = tmp_path / "sheet.pdf"
    write_setup_sheet(profile=profile, path=path)
    assert path.stat().st_size > 1000 and path.read_bytes().startswith(b"%PDF-")
    text = pdf_text(render_setup_sheet(profile=profile, compress=False))
    assert "05E0:1701" in text and "9600" in text
    assert not any("Programming barcodes" in line for line in text)
