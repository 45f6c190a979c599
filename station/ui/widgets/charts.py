"""Bar charts for the dashboard, on QtCharts.

Why QtCharts: it ships in PySide6-Addons, which the station already installs (no new
dependency); it draws through the Graphics View framework in software, so it renders the same on
a bench PC without a GPU, under Xvfb and in the offscreen tests; and bars are all a supervisor
needs here (a dozen stages, a week of days, fifty benches). Qt deprecated QtCharts in 6.10 in
favour of QtGraphs, whose widget API (QtGraphsWidgets) renders through Qt Quick and the GPU
(RHI): heavier on these PCs and not drawable offscreen in our tests. pyqtgraph would add a
dependency built for fast-moving plots, matplotlib a second toolkit with slow redraws. Only this
module touches QtCharts, so moving to QtGraphs later is a change here alone.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCharts import (
    QAbstractBarSeries,
    QBarCategoryAxis,
    QBarSeries,
    QBarSet,
    QChart,
    QChartView,
    QHorizontalBarSeries,
    QStackedBarSeries,
    QValueAxis,
)
from PySide6.QtCore import Qt
from PySide6.QtGui import QPainter

from station.ui.view_models.dashboard_view import Bar, Stack
from station.ui.widgets.theme import big


def _chart(title: str) -> QChart:
    chart = QChart()
    chart.setTitle(title)
    chart.setTitleFont(big(14))
    # Figures change every few seconds on a live screen: animations would never settle.
    chart.setAnimationOptions(QChart.AnimationOption.NoAnimation)
    chart.legend().setVisible(False)
    return chart


class BarChartWidget(QChartView):
    """One bar per label (vertical, or horizontal for long labels such as stage names)."""

    def __init__(self, *, title: str, horizontal: bool = False) -> None:
        super().__init__(_chart(title))
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._series: QAbstractBarSeries = QHorizontalBarSeries() if horizontal else QBarSeries()
        self._set = QBarSet(title)
        self._series.append(self._set)
        self._series.setLabelsVisible(True)
        self._categories = QBarCategoryAxis()
        self._categories.setLabelsFont(big(9, bold=False))
        self._categories.setTruncateLabels(False)  # "on hold", not "..."
        self._values = QValueAxis()
        self._values.setLabelFormat("%d")
        chart = self.chart()
        chart.addSeries(self._series)
        label_edge, value_edge = (
            (Qt.AlignmentFlag.AlignLeft, Qt.AlignmentFlag.AlignBottom)
            if horizontal
            else (Qt.AlignmentFlag.AlignBottom, Qt.AlignmentFlag.AlignLeft)
        )
        chart.addAxis(self._categories, label_edge)
        chart.addAxis(self._values, value_edge)
        self._series.attachAxis(self._categories)
        self._series.attachAxis(self._values)
        self._shown: tuple[Bar, ...] = ()
        self._horizontal = horizontal

    def show_bars(self, bars: Sequence[Bar]) -> None:
        bars = tuple(bars)
        if bars == self._shown:
            return
        self._shown = bars
        # Horizontal bars are drawn bottom-up: reversed, the first (a pipeline's start) is on top.
        drawn = bars[::-1] if self._horizontal else bars
        self._set.remove(0, self._set.count())
        self._set.append([b.value for b in drawn])
        self._categories.clear()
        self._categories.append([b.label for b in drawn])
        self._values.setRange(0, max([b.value for b in bars] + [1.0]) * 1.15)
        self._values.applyNiceNumbers()

    def values(self) -> dict[str, float]:
        """What is drawn, label -> bar height (read back from the chart itself)."""
        labels = self._categories.categories()
        return {labels[i]: self._set.at(i) for i in range(self._set.count())}


class StackedBarChartWidget(QChartView):
    """One stacked bar per category (day), one colour per stack (carrier), with a legend."""

    def __init__(self, *, title: str) -> None:
        super().__init__(_chart(title))
        self._title = title
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._series = QStackedBarSeries()
        self._categories = QBarCategoryAxis()
        self._values = QValueAxis()
        chart = self.chart()
        chart.legend().setVisible(True)
        chart.legend().setAlignment(Qt.AlignmentFlag.AlignBottom)
        chart.addSeries(self._series)
        chart.addAxis(self._categories, Qt.AlignmentFlag.AlignBottom)
        chart.addAxis(self._values, Qt.AlignmentFlag.AlignLeft)
        self._series.attachAxis(self._categories)
        self._series.attachAxis(self._values)
        self._shown: tuple[str, tuple[str, ...], tuple[Stack, ...]] = ("", (), ())

    def show_stacks(self, *, unit: str, categories: Sequence[str], stacks: Sequence[Stack]) -> None:
        shown = (unit, tuple(categories), tuple(stacks))
        if shown == self._shown:
            return
        self._shown = shown
        self.chart().setTitle(f"{self._title} ({unit})" if unit else self._title)
        self._series.clear()  # deletes the old sets: carriers come and go
        for stack in stacks:
            bar_set = QBarSet(stack.name)
            bar_set.append(list(stack.values))
            self._series.append(bar_set)
        self._categories.clear()
        self._categories.append(list(categories))
        totals = [sum(s.values[i] for s in stacks) for i in range(len(categories))]
        self._values.setRange(0, max([*totals, 1.0]) * 1.15)
        self._values.applyNiceNumbers()

    def values(self) -> dict[str, tuple[float, ...]]:
        return {s.label(): tuple(s.at(i) for i in range(s.count())) for s in self._series.barSets()}

    def categories(self) -> list[str]:
        return list(self._categories.categories())
