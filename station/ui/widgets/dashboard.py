"""The supervisors' dashboard screen: tiles, three charts, and the lists behind them.

Renders DashboardView as it comes; the only thing it does itself is ask for the fields an action
needs (a small form) before handing the action to the view-model. The exception queue's buttons
are the actions the server offers for the selected row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from station.ui.view_models.dashboard import (
    ACTION_FIELDS,
    FIELD_WORDS,
    DashboardViewModel,
    action_words,
)
from station.ui.view_models.dashboard_view import BenchLine, DashboardView, QueueLine, Tile
from station.ui.widgets.charts import BarChartWidget, StackedBarChartWidget
from station.ui.widgets.theme import LIGHT_COLOURS, MEDIUM, big

# Asks for the named fields of an action; None when the supervisor backs out.
Ask = Callable[[str, Sequence[str]], dict[str, str] | None]
BENCH_COLUMNS = (
    "Bench",
    "Online",
    "Scanner",
    "Printer",
    "Queued",
    "Units/h",
    "Mis-scans",
    "Overrides",
    "Idle",
)


class TileWidget(QFrame):
    def __init__(self) -> None:
        super().__init__()
        self.title = QLabel()
        self.title.setFont(big(12))
        self.value = QLabel()
        self.value.setFont(big(22))
        self.value.setWordWrap(True)
        self.detail = QLabel()
        self.detail.setFont(big(10, bold=False))
        self.detail.setWordWrap(True)
        layout = QVBoxLayout(self)
        for label in (self.title, self.value, self.detail):
            label.setStyleSheet("color: white")
            layout.addWidget(label)
        self.light = ""

    def show_tile(self, tile: Tile) -> None:
        self.title.setText(tile.title)
        self.value.setText(tile.value)
        self.detail.setText(tile.detail)
        self.light = tile.light
        self.setStyleSheet(f"TileWidget {{ background: {LIGHT_COLOURS[tile.light]}; }}")


class FieldsDialog(QDialog):
    """The few words an action needs (a phone number, a SKU id, a reason)."""

    def __init__(self, title: str, fields: Sequence[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        form = QFormLayout(self)
        self.edits = {f: QLineEdit() for f in fields}
        for name, edit in self.edits.items():
            edit.setFont(big(MEDIUM, bold=False))
            form.addRow(FIELD_WORDS.get(name, name), edit)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def values(self) -> dict[str, str]:
        return {name: edit.text() for name, edit in self.edits.items()}


def ask_in_dialog(parent: QWidget) -> Ask:
    def ask(title: str, fields: Sequence[str]) -> dict[str, str] | None:
        dialog = FieldsDialog(title, fields, parent)
        return dialog.values() if dialog.exec() == QDialog.DialogCode.Accepted else None

    return ask


def _list() -> QListWidget:
    view = QListWidget()
    view.setFont(big(MEDIUM - 4, bold=False))
    return view


class DashboardScreen(QWidget):
    def __init__(self, *, vm: DashboardViewModel, ask: Ask | None = None) -> None:
        super().__init__()
        self._vm = vm
        self.ask = ask or ask_in_dialog(self)  # replaceable: tests answer it directly
        self.status = QLabel()
        self.status.setFont(big(12))
        self.note = QLabel("")
        self.note.setFont(big(12, bold=False))
        self.note.setWordWrap(True)
        head = QHBoxLayout()
        head.addWidget(self.status)
        head.addWidget(self.note, 1)

        self.tiles: dict[str, TileWidget] = {}
        tiles = QGridLayout()
        for n, tile in enumerate(vm.view.tiles):
            self.tiles[tile.key] = TileWidget()
            tiles.addWidget(self.tiles[tile.key], 0, n)
            tiles.setColumnStretch(n, 1)  # equal tiles, whatever their words

        self.backlog_chart = BarChartWidget(title="Backlog by stage", horizontal=True)
        self.spend_chart = StackedBarChartWidget(title="Carrier spend per day")
        self.rate_chart = BarChartWidget(title="Units per hour per bench")
        charts = QHBoxLayout()
        for chart in (self.backlog_chart, self.spend_chart, self.rate_chart):
            chart.setMinimumHeight(220)
            charts.addWidget(chart)

        self.queue = _list()
        self.queue.currentRowChanged.connect(lambda _row: self._show_actions())
        self.action_row = QHBoxLayout()
        self.action_buttons: dict[str, QPushButton] = {}
        queue_page = QWidget()
        queue_layout = QVBoxLayout(queue_page)
        queue_layout.addWidget(self.queue, 1)
        queue_layout.addLayout(self.action_row)
        self.at_risk = _list()
        self.unallocated = _list()
        self.custody = _list()
        self.benches = QTableWidget(0, len(BENCH_COLUMNS))
        self.benches.setHorizontalHeaderLabels(list(BENCH_COLUMNS))
        self.benches.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        # Read-only colours: a selection highlight would paint over a red cell.
        self.benches.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        self.benches.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.tabs = QTabWidget()
        for page, name in (
            (queue_page, "Exceptions"),
            (self.benches, "Benches"),
            (self.at_risk, "At risk"),
            (self.unallocated, "Unallocated"),
            (self.custody, "Custody"),
        ):
            self.tabs.addTab(page, name)

        layout = QVBoxLayout(self)
        layout.addLayout(head)
        layout.addLayout(tiles)
        layout.addLayout(charts, 3)  # look rather than read: the charts get the room
        layout.addWidget(self.tabs, 2)
        self._queue_rows: tuple[QueueLine, ...] = ()
        vm.view_changed.connect(self.show_view)
        vm.failed.connect(lambda words: self._say(words, "bad"))
        vm.notice.connect(lambda words: self._say(words, "ok"))
        self.show_view(vm.view)

    # -- rendering ------------------------------------------------------------------------
    def show_view(self, view: DashboardView) -> None:
        self.status.setText(view.status)
        self.status.setStyleSheet(f"color: {LIGHT_COLOURS[view.status_light]}")
        for tile in view.tiles:
            self.tiles[tile.key].show_tile(tile)
        self.backlog_chart.show_bars(view.backlog)
        self.spend_chart.show_stacks(
            unit=view.spend_currency, categories=view.spend_days, stacks=view.spend
        )
        self.rate_chart.show_bars(view.rates)
        self._show_queue(view.queue)
        _fill(self.at_risk, view.at_risk, "Nothing at risk")
        _fill(self.unallocated, view.unallocated, "Every order has its stock")
        _fill(self.custody, view.custody, "No custody exceptions")
        self._show_benches(view.benches)

    def _show_queue(self, rows: tuple[QueueLine, ...]) -> None:
        if rows == self._queue_rows:
            return
        selected = self.selected_exception()
        self._queue_rows = rows
        self.queue.blockSignals(True)
        self.queue.clear()
        self.queue.addItems([r.text for r in rows] or ["The queue is empty"])
        keep = next((n for n, r in enumerate(rows) if r.exception_id == selected), 0)
        self.queue.setCurrentRow(keep if rows else -1)
        self.queue.blockSignals(False)
        self._show_actions()

    def _show_benches(self, lines: tuple[BenchLine, ...]) -> None:
        self.benches.setRowCount(len(lines))
        for row, b in enumerate(lines):
            cells = [
                (b.name, ""),
                (b.online, b.online_light),
                (b.scanner, b.scanner_light),
                (b.printer, b.printer_light),
                (str(b.queued), ""),
                (f"{b.units_per_hour:g}", ""),
                (str(b.mis_scans), ""),
                (str(b.overrides), ""),
                (b.idle, ""),
            ]
            for col, (text, light) in enumerate(cells):
                item = QTableWidgetItem(text)
                if light:
                    item.setBackground(QBrush(QColor(LIGHT_COLOURS[light])))
                    item.setForeground(QBrush(QColor("white")))
                self.benches.setItem(row, col, item)
        self.benches.resizeColumnsToContents()

    def _say(self, words: str, light: str) -> None:
        self.note.setText(words)
        self.note.setStyleSheet(f"color: {LIGHT_COLOURS[light]}")

    # -- the exception queue --------------------------------------------------------------
    def selected_exception(self) -> int | None:
        row = self.queue.currentRow()
        return self._queue_rows[row].exception_id if 0 <= row < len(self._queue_rows) else None

    def _show_actions(self) -> None:
        for button in self.action_buttons.values():
            self.action_row.removeWidget(button)
            button.deleteLater()
        self.action_buttons = {}
        row = self.queue.currentRow()
        if not 0 <= row < len(self._queue_rows):
            return
        for action in self._queue_rows[row].actions:
            button = QPushButton(action_words(action))
            button.setFont(big(MEDIUM - 2))
            button.clicked.connect(lambda _=False, a=action: self.act(a))
            self.action_row.addWidget(button)
            self.action_buttons[action] = button

    def act(self, action: str) -> None:
        """Resolve the selected exception with `action`, asking for its fields first."""
        exception_id = self.selected_exception()
        if exception_id is None:
            return
        fields = ACTION_FIELDS.get(action, ())
        if action == "cancel":
            fields = ("reason",)  # a cancel is confirmed, with a reason if one is given
        data: dict[str, str] = {}
        if fields:
            answer = self.ask(action_words(action), fields)
            if answer is None:
                return  # backed out: nothing is sent
            data = answer
        self._vm.resolve(exception_id=exception_id, action=action, data=data)


def _fill(view: QListWidget, rows: tuple[str, ...], empty: str) -> None:
    texts = list(rows) or [empty]
    if [view.item(i).text() for i in range(view.count())] != texts:
        view.clear()
        view.addItems(texts)
