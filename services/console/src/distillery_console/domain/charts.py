"""A small line chart drawn as SVG coordinates on the server.

No JavaScript chart library is installed and the console must work offline; a line chart
of a few hundred points (loss by step, cost per call by decision) needs nothing more than
scaling to a view box, which the template draws as ``<polyline>``s.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

WIDTH, HEIGHT, PAD = 600.0, 220.0, 36.0


@dataclass(frozen=True)
class Series:
    name: str
    points: list[tuple[float, float]]


@dataclass(frozen=True)
class Line:
    name: str
    points: str
    """``x,y x,y ...`` in view-box units, for ``<polyline points>``."""
    css_class: str


@dataclass(frozen=True)
class Chart:
    title: str
    lines: list[Line] = field(default_factory=list)
    y_ticks: list[tuple[float, str]] = field(default_factory=list)
    x_ticks: list[tuple[float, str]] = field(default_factory=list)
    width: float = WIDTH
    height: float = HEIGHT
    pad: float = PAD

    @property
    def empty(self) -> bool:
        return not self.lines


def line_chart(title: str, series: list[Series], x_label: Callable[[float], str] = lambda v: f"{v:g}",
               y_label: Callable[[float], str] = lambda v: f"{v:.3g}") -> Chart:
    """Scale every series into one view box; x and y from the union of their points."""
    drawn = [s for s in series if s.points]
    if not drawn:
        return Chart(title)
    xs = [x for s in drawn for x, _ in s.points]
    ys = [y for s in drawn for _, y in s.points]
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(0.0, min(ys)), max(ys)
    if x1 == x0:
        x1 = x0 + 1
    if y1 == y0:
        y1 = y0 + 1

    def sx(x: float) -> float:
        return PAD + (x - x0) / (x1 - x0) * (WIDTH - 2 * PAD)

    def sy(y: float) -> float:
        return HEIGHT - PAD - (y - y0) / (y1 - y0) * (HEIGHT - 2 * PAD)

    lines = [Line(s.name, " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in s.points), f"series-{i}")
             for i, s in enumerate(drawn)]
    y_ticks = [(sy(v), y_label(v)) for v in (y0, (y0 + y1) / 2, y1)]
    x_ticks = [(sx(v), x_label(v)) for v in (x0, x1)]
    return Chart(title, lines, y_ticks, x_ticks)
