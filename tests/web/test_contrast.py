"""WCAG AA contrast of every colour pair the stylesheet declares, computed from static/*.css itself.

The CSS is parsed into rules; `var(--x)` is resolved from `:root`. Text needs 4.5:1 against its background:
the rule's own background when it sets one, else the backgrounds it can sit on (the page's paper and wash, or
the header's navy for the header's rules). Focus outlines, input borders and highlight underlines are UI
components and need 3:1 against what surrounds them.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

STATIC = Path(__file__).resolve().parents[2] / "static"
TEXT, UI = 4.5, 3.0
HEADER = "#0d2a45"

_RULE = re.compile(r"([^{}]+)\{([^{}]*)\}")
_DECL = re.compile(r"([a-z-]+)\s*:\s*([^;]+)")
_HEX = re.compile(r"#[0-9a-fA-F]{6}\b|#[0-9a-fA-F]{3}\b")


def _css() -> str:
    text = "\n".join(path.read_text(encoding="utf-8") for path in sorted(STATIC.glob("*.css")))
    return re.sub(r"/\*.*?\*/", "", text, flags=re.S)


def _rules() -> list[tuple[str, dict[str, str]]]:
    rules = []
    for selector, body in _RULE.findall(_css()):
        declarations = {name.strip(): value.strip() for name, value in _DECL.findall(body)}
        rules.append((" ".join(selector.split()), declarations))
    return rules


def _variables() -> dict[str, str]:
    found: dict[str, str] = {}
    for selector, declarations in _rules():
        if selector == ":root":
            found.update({name: value for name, value in declarations.items() if name.startswith("--")})
    return found


def _colour(value: str) -> str | None:
    """The first colour in a declaration value, with variables resolved (None if there is none)."""
    variables = _variables()
    for _ in range(5):
        value = re.sub(r"var\((--[a-z0-9-]+)\)", lambda m: variables[m.group(1)], value)
    match = _HEX.search(value)
    if match is None:
        return "#ffffff" if re.search(r"\bwhite\b", value) else None
    hex_ = match.group(0)
    return hex_ if len(hex_) == 7 else "#" + "".join(c * 2 for c in hex_[1:])


def _luminance(hex_: str) -> float:
    channels = []
    for i in (1, 3, 5):
        c = int(hex_[i : i + 2], 16) / 255
        channels.append(c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4)
    red, green, blue = channels
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def ratio(first: str, second: str) -> float:
    """The WCAG contrast ratio of two colours."""
    light, dark = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def _backdrops(selector: str) -> list[str]:
    """What a rule without its own background may be drawn on."""
    if selector.startswith(".top") or selector.startswith("button.link"):
        return [HEADER]
    variables = _variables()
    return [_colour(variables["--paper"]) or "", _colour(variables["--wash"]) or ""]


def _pairs() -> list[tuple[str, str, str, float]]:
    """(where, foreground, background, minimum) for every colour pair in the stylesheet."""
    pairs = []
    for selector, declarations in _rules():
        background = _colour(declarations.get("background", declarations.get("background-color", "")))
        backgrounds = [background] if background else _backdrops(selector)
        colour = _colour(declarations.get("color", ""))
        if colour and "color" in declarations:
            pairs += [(f"{selector} text", colour, bg, TEXT) for bg in backgrounds]
        for name in ("border-color", "border-bottom", "border"):
            edge = _colour(declarations.get(name, ""))
            if edge and selector.startswith(("input", "mark", ".code-p", ".flagged", "button.secondary")):
                pairs += [(f"{selector} {name}", edge, bg, UI) for bg in backgrounds]
        outline = _colour(declarations.get("outline", ""))
        if outline:
            pairs += [(f"{selector} outline", outline, bg, UI) for bg in _backdrops(selector)]
    return pairs


def test_the_parser_finds_the_stylesheet_pairs() -> None:
    wheres = {where for where, *_ in _pairs()}
    assert {"button, .button text", ".muted text", "a text"} <= wheres
    assert any(where.endswith("outline") for where in wheres)
    assert ratio("#000000", "#ffffff") == pytest.approx(21.0)


@pytest.mark.parametrize(("where", "foreground", "background", "minimum"), _pairs())
def test_every_colour_pair_meets_wcag_aa(
    where: str, foreground: str, background: str, minimum: float
) -> None:
    assert ratio(foreground, background) >= minimum, f"{where}: {foreground} on {background}"
