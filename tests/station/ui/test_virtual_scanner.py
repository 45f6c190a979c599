"""The demo's virtual scanner panel: its buttons write their barcode; printed labels appear as
extra buttons while a carton is being labelled and are replaced by the next order's."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from station.ui.widgets.virtual_scanner import DemoBarcode, VirtualScannerDock


def test_buttons_write_and_printed_labels_replace_each_other(qtbot: QtBot) -> None:
    written: list[str] = []
    dock = VirtualScannerDock(barcodes=[DemoBarcode(label="Mug", text="]E05012345678900")],
                              write=written.append)  # fmt: skip
    qtbot.addWidget(dock)
    dock.buttons[0].click()
    dock.set_extra([DemoBarcode(label="Printed label 1", text="1Z999"),
                    DemoBarcode(label="Printed label 2", text="1Z998")])  # fmt: skip
    dock.extra[1].click()
    dock.set_extra([DemoBarcode(label="Printed label 1", text="9400111")])
    dock.extra[0].click()
    assert written == ["]E05012345678900", "1Z998", "9400111"]
    assert [b.text() for b in dock.extra] == ["Printed label 1"]
