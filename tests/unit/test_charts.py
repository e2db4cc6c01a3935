"""web/charts.py: the SVG parses as XML, carries every data point, escapes text, handles empty data."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from seatflow.web.charts import Series, bar_chart, line_chart, nice_ticks

SVG = "{http://www.w3.org/2000/svg}"


def _points(svg: str, tag: str) -> list[tuple[str, str, float]]:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return [(e.get("data-series", ""), e.get("data-x", ""), float(e.get("data-y", "nan")))
            for e in root.iter(f"{SVG}{tag}") if e.get("data-y") is not None]


def test_line_chart_has_every_point_axes_and_title() -> None:
    svg = line_chart([Series("done", [("09:00", 3), ("10:00", 7.5), ("11:00", 0)]),
                      Series("late", [("09:00", 1), ("10:00", None), ("11:00", 2)])],
                     title="Throughput <per hour>", y_label="items")
    assert _points(svg, "circle") == [("done", "09:00", 3.0), ("done", "10:00", 7.5), ("done", "11:00", 0.0),
                                      ("late", "09:00", 1.0), ("late", "11:00", 2.0)]
    root = ET.fromstring(svg)
    assert root.find(f"{SVG}title").text == "Throughput <per hour>"  # type: ignore[union-attr]
    # one polyline for "done"; "late" has a gap, so two single points and no line
    assert len(list(root.iter(f"{SVG}polyline"))) == 1
    ticks = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "chart-ytick"]
    assert ticks[0] == "0" and ticks[-1] == "8"
    xticks = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "chart-xtick"]
    assert xticks == ["09:00", "10:00", "11:00"]
    assert "<per hour>" not in svg  # escaped


def test_bar_chart_groups_and_values() -> None:
    svg = bar_chart([Series("acme & co", [("a", 10), ("b", 25)])], title="Backlog", y_label="tasks")
    assert _points(svg, "rect") == [("acme & co", "a", 10.0), ("acme & co", "b", 25.0)]
    root = ET.fromstring(svg)
    bars = [e for e in root.iter(f"{SVG}rect") if e.get("class") == "chart-bar"]
    assert float(bars[1].get("height", 0)) > float(bars[0].get("height", 0)) * 2.4
    values = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "chart-value"]
    assert values == ["10", "25"]


def test_empty_chart_says_so() -> None:
    for chart in (line_chart, bar_chart):
        svg = chart([Series("x", [])], title="Nothing", empty="No data yet")
        root = ET.fromstring(svg)
        assert [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "chart-empty"] == ["No data yet"]


def test_negative_values_and_fixed_range() -> None:
    svg = bar_chart([Series("d", [("a", -2), ("b", 3)])], title="t", y_min=-5, y_max=5)
    assert _points(svg, "rect") == [("d", "a", -2.0), ("d", "b", 3.0)]
    share = line_chart([Series("sla", [("d1", 0.5), ("d2", 1.0)])], title="t", y_min=0, y_max=1)
    ET.fromstring(share)


@pytest.mark.parametrize(("low", "high", "first", "last"), [(0, 7.5, 0, 8), (0, 1, 0, 1), (0, 0, 0, 1),
                                                             (3, 97, 0, 100), (-5, 5, -6, 6)])
def test_nice_ticks(low: float, high: float, first: float, last: float) -> None:
    ticks = nice_ticks(low, high)
    assert ticks[0] <= low and ticks[-1] >= high
    assert (ticks[0], ticks[-1]) == (first, last)


def test_nice_ticks_refuses_nan() -> None:
    with pytest.raises(ValueError, match="finite"):
        nice_ticks(0, float("nan"))
