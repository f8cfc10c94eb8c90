"""Server-side SVG bar charts: well-formed, style-free (strict CSP), escaped, accessible and legible."""

from __future__ import annotations

import xml.etree.ElementTree as ET  # noqa: S405 - parses our own output, not untrusted input

import pytest
from hypothesis import given
from hypothesis import strategies as st
from markupsafe import Markup

from app.web.charts import (
    BACKGROUND,
    BAR_COLOUR,
    MUTED_COLOUR,
    TEXT_COLOUR,
    bar_chart,
    contrast_ratio,
    nice_ticks,
)

SVG = "{http://www.w3.org/2000/svg}"
DATA = [("KZ", 4), ("KG", 7), ("TJ", 12), ("UZ", 30)]


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 - our own output


def _texts(root: ET.Element) -> list[str]:
    return ["".join(node.itertext()) for node in root.iter(f"{SVG}text")]


def _assert_csp_safe(root: ET.Element) -> None:
    for node in root.iter():
        assert node.tag not in (f"{SVG}style", f"{SVG}script", f"{SVG}foreignObject")
        assert "style" not in node.attrib
        assert not any(name.lower().startswith("on") for name in node.attrib)
        assert not any("href" in name for name in node.attrib)


@pytest.mark.parametrize("orientation", ["auto", "horizontal", "vertical"])
def test_chart_is_well_formed_style_free_svg_with_values(orientation: str) -> None:
    svg = bar_chart("Incidents by origin", DATA, orientation=orientation)  # type: ignore[arg-type]
    assert isinstance(svg, Markup)
    root = _parse(svg)
    assert root.tag == f"{SVG}svg"
    _assert_csp_safe(root)
    assert "<style" not in svg
    assert "style=" not in svg
    texts = _texts(root)
    for label, value in DATA:
        assert label in texts
        assert str(value) in texts
    assert "Count" in texts  # the value axis label
    assert len([node for node in root.iter(f"{SVG}rect") if node.get("fill") == BAR_COLOUR]) == len(DATA)


def test_accessible_title_and_description() -> None:
    root = _parse(bar_chart("Incidents by origin", DATA, description="Completed incidents only."))
    assert root.get("role") == "img"
    title = root.find(f"{SVG}title")
    desc = root.find(f"{SVG}desc")
    assert title is not None
    assert desc is not None
    assert title.text == "Incidents by origin"
    assert desc.text == "Completed incidents only. KZ: 4; KG: 7; TJ: 12; UZ: 30"
    labelled = root.get("aria-labelledby", "").split()
    assert labelled == [title.get("id"), desc.get("id")]
    # each bar has its own title (tooltip with the full label and value)
    bar_titles = [node.text for node in root.iter(f"{SVG}title")][1:]
    assert bar_titles == ["KZ: 4", "KG: 7", "TJ: 12", "UZ: 30"]


def test_labels_and_titles_are_escaped() -> None:
    hostile = '<script>alert("x")</script>'
    svg = bar_chart(f"{hostile} & more", [(hostile, 3), ("a'b\"c", 2)], orientation="horizontal")
    assert "<script" not in svg
    assert "&lt;script&gt;" in svg
    root = _parse(svg)
    _assert_csp_safe(root)
    assert hostile in _texts(root)  # shown as text, not markup
    assert "a'b\"c" in _texts(root)
    title = root.find(f"{SVG}title")
    assert title is not None
    assert title.text == f"{hostile} & more"


def test_characters_xml_cannot_hold_are_replaced() -> None:
    root = _parse(bar_chart("bad\x00title\x1b", [("nul\x00label", 1), ("\ufffe", 2)]))
    assert root.find(f"{SVG}title") is not None
    assert "nul\ufffdlabel" in _texts(root)


def test_long_labels_give_horizontal_bars_and_are_shortened_on_screen_only() -> None:
    long = "S1_SURVEILLANCE_INFILTRATION and a great deal more text than fits"
    svg = bar_chart("Tactics", [(long, 5), ("S3_ASSAULT", 2)])
    root = _parse(svg)
    texts = _texts(root)
    assert long not in texts
    assert any(text.endswith("…") and long.startswith(text[:-1]) for text in texts)
    assert f"{long}: 5" in [node.text for node in root.iter(f"{SVG}title")]  # the full label is kept
    labels = [node for node in root.iter(f"{SVG}text") if node.get("text-anchor") == "end"]
    assert [node.text for node in labels][-1] == "S3_ASSAULT"  # horizontal: labels right-aligned on the left


def test_short_labels_give_vertical_columns() -> None:
    root = _parse(bar_chart("By year", [("2017", 3), ("2018", 9), ("2019", 6)]))
    assert any(node.get("transform", "").startswith("rotate(-90") for node in root.iter(f"{SVG}text"))


def test_empty_data_says_so() -> None:
    root = _parse(bar_chart("Nothing yet", []))
    assert "No data" in _texts(root)
    desc = root.find(f"{SVG}desc")
    assert desc is not None
    assert desc.text == "No data."


def test_size_id_and_determinism() -> None:
    svg = bar_chart("By origin", DATA, width=480, height=300, chart_id="origin-chart")
    root = _parse(svg)
    assert (root.get("width"), root.get("height"), root.get("viewBox")) == ("480", "300", "0 0 480 300")
    assert root.get("aria-labelledby") == "origin-chart-title origin-chart-desc"
    assert bar_chart("By origin", DATA) == bar_chart("By origin", DATA)
    assert bar_chart("By origin", DATA) != bar_chart("By origin", DATA[:-1])


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        bar_chart("x", [("a", -1)])
    with pytest.raises(ValueError, match="non-negative"):
        bar_chart("x", [("a", 1.5)])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="chart id"):
        bar_chart("x", DATA, chart_id='a" onload="x')
    with pytest.raises(ValueError, match="width"):
        bar_chart("x", DATA, width=50)


def test_colours_meet_wcag_aa() -> None:
    assert contrast_ratio(TEXT_COLOUR, BACKGROUND) >= 7.0
    assert contrast_ratio(MUTED_COLOUR, BACKGROUND) >= 4.5
    assert contrast_ratio(BAR_COLOUR, BACKGROUND) >= 4.5  # >= 3 is required of graphics
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast_ratio("#777777", "#777777") == pytest.approx(1.0)
    with pytest.raises(ValueError, match="rrggbb"):
        contrast_ratio("red", "#ffffff")


@pytest.mark.parametrize(
    ("maximum", "expected"),
    [
        (0, [0, 1]),
        (1, [0, 1]),
        (4, [0, 1, 2, 3, 4]),
        (7, [0, 2, 4, 6, 8]),
        (30, [0, 10, 20, 30]),
        (123, [0, 50, 100, 150]),
    ],
)
def test_nice_ticks(maximum: int, expected: list[int]) -> None:
    assert nice_ticks(maximum) == expected


@given(
    title=st.text(max_size=40),
    data=st.lists(st.tuples(st.text(max_size=60), st.integers(min_value=0, max_value=10**6)), max_size=20),
)
def test_any_input_gives_safe_well_formed_svg(title: str, data: list[tuple[str, int]]) -> None:
    root = _parse(bar_chart(title, data))
    _assert_csp_safe(root)
    texts = _texts(root)
    for _label, value in data:
        assert str(value) in texts
