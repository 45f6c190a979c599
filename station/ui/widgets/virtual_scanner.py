"""Demo only: a dock of buttons, each "scanning" one barcode through a callable.

The composition root passes a callable that writes the bytes into the pseudo-terminal the real
SerialScanner reads, so a click travels the same path as a scan (framing, device thread,
bridge). The buttons never take keyboard focus, so Enter/Escape still reach the window.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QPushButton, QScrollArea, QVBoxLayout, QWidget


@dataclass(frozen=True, kw_only=True)
class DemoBarcode:
    label: str  # what the button says, e.g. "Mug (EAN-13)"
    text: str  # what the scanner sends, AIM id included when the profile has one


class VirtualScannerDock(QDockWidget):
    def __init__(
        self,
        *,
        barcodes: Sequence[DemoBarcode],
        write: Callable[[str], None],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__("Virtual scanner (demo)", parent)
        self._write = write
        self.buttons: list[QPushButton] = []
        self.extra: list[QPushButton] = []  # barcodes that appear while working (printed labels)
        inner = QWidget()
        self._layout = layout = QVBoxLayout(inner)
        for code in barcodes:
            button = self._button(code)
            layout.addWidget(button)
            self.buttons.append(button)
        layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(inner)
        scroll.setWidgetResizable(True)
        self.setWidget(scroll)
        # Wide enough to read every label: the panel stands in for a barcode sheet.
        self.setMinimumWidth(320)

    def _button(self, code: DemoBarcode) -> QPushButton:
        button = QPushButton(code.label)
        button.setToolTip(code.text)
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        button.clicked.connect(lambda _=False, text=code.text: self._write(text))
        return button

    def set_extra(self, barcodes: Sequence[DemoBarcode]) -> None:
        """Replace the working barcodes (shown first), e.g. the labels just printed."""
        for button in self.extra:
            self._layout.removeWidget(button)
            button.deleteLater()
        self.extra = [self._button(code) for code in barcodes]
        for at, button in enumerate(self.extra):
            self._layout.insertWidget(at, button)
