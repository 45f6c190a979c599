"""The demo's other processes: the loopback printer emulator and the bench station.

They run as child processes, as they would on a real floor (the server never imports the
station), and are stopped when the demo ends.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EMULATOR_PORT = 9109


CARRIER_FAKES = {  # provider: (module, port, api key, webhook secret)
    "easypost": ("tests.fakes.easypost_server", 9181, "EZTK_fake", "sécret"),
    "shippo": ("tests.fakes.shippo_server", 9182, "shippo_test_fake", ""),
}


def start_carrier_fakes() -> tuple[list[subprocess.Popen[bytes]], str]:
    """Local EasyPost and Shippo fakes (they speak the providers' documented formats) so the
    demo can rate, buy and print real-looking labels with no account; returns the children and
    the PACKLINE_CARRIER_ACCOUNTS value that points at them."""
    if not (REPO / "tests" / "fakes" / "easypost_server.py").exists():
        return [], ""
    children, accounts = [], []
    for provider, (module, port, key, secret) in CARRIER_FAKES.items():
        args = [sys.executable, "-m", module, "--port", str(port)]
        args += ["--key", key] if provider == "shippo" else []
        children.append(subprocess.Popen(args, cwd=REPO, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL))  # fmt: skip
        accounts.append({"provider": provider, "name": f"demo-{provider}", "api_key": key,
                         "base_url": f"http://127.0.0.1:{port}" + ("/v2" if provider ==
                                                                    "easypost" else ""),
                         "webhook_secret": secret})  # fmt: skip
        print(f"  {provider + ' fake':<23}: http://127.0.0.1:{port}")
    return children, json.dumps(accounts)


def has_display() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def start_children(
    *, data_dir: Path, server_url: str, enrolment_code: str | None, barcodes: list[dict[str, str]]
) -> list[subprocess.Popen[bytes]]:
    children: list[subprocess.Popen[bytes]] = []
    labels = data_dir / "labels"
    labels.mkdir(parents=True, exist_ok=True)
    if (REPO / "tests" / "fakes" / "printer_emulator.py").exists():
        children.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.fakes.printer_emulator",
                    "--port",
                    str(EMULATOR_PORT),
                    "--out",
                    str(labels),
                ],
                cwd=REPO,
                stdin=subprocess.DEVNULL,
            )
        )
        print(f"  printer emulator       : 127.0.0.1:{EMULATOR_PORT}, labels as PNG in {labels}")
    else:
        print("  printer emulator       : not available (run the demo from the source tree)")
    barcode_file = data_dir / "demo-barcodes.json"
    barcode_file.write_text(json.dumps(barcodes, indent=1), encoding="utf-8")
    station_cmd = [
        sys.executable, "-m", "station.app", "--server", server_url,
        "--data-dir", str(data_dir / "station"), "--printer", f"tcp://127.0.0.1:{EMULATOR_PORT}",
        "--virtual-scanner", "--demo-barcodes", str(barcode_file),
    ]  # fmt: skip
    if enrolment_code:
        station_cmd += ["--enrol", enrolment_code]
    if has_display():
        children.append(subprocess.Popen(station_cmd, cwd=REPO, stdin=subprocess.DEVNULL))
        print("  bench station          : opening (scan with the virtual scanner panel)")
    else:
        print("  bench station          : no display here; on a desktop run:")
        print("    " + " ".join(station_cmd))
    return children


def stop_children(children: list[subprocess.Popen[bytes]]) -> None:
    for child in children:
        child.terminate()
    for child in children:
        try:
            child.wait(timeout=5)
        except subprocess.TimeoutExpired:
            child.kill()
