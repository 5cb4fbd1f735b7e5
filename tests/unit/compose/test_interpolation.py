from __future__ import annotations

import pytest

from fleetdeck.compose.interpolation import InterpolationError, interpolate

VARS = {"SET": "value", "EMPTY": "", "OTHER": "other", "PORT": "8080"}


def lookup(name: str) -> str | None:
    return VARS.get(name)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain", "plain"),
        ("$SET", "value"),
        ("${SET}", "value"),
        ("pre-${SET}-post", "pre-value-post"),
        ("$SET/$OTHER", "value/other"),
        ("${UNSET}", ""),
        ("$UNSET", ""),
        ("${SET:-def}", "value"),
        ("${EMPTY:-def}", "def"),
        ("${UNSET:-def}", "def"),
        ("${SET-def}", "value"),
        ("${EMPTY-def}", ""),
        ("${UNSET-def}", "def"),
        ("${SET:+alt}", "alt"),
        ("${EMPTY:+alt}", ""),
        ("${UNSET:+alt}", ""),
        ("${EMPTY+alt}", "alt"),
        ("${UNSET+alt}", ""),
        ("${SET:?boom}", "value"),
        ("${EMPTY?boom}", ""),
        ("$$", "$"),
        ("$$SET", "$SET"),
        ("$${SET}", "${SET}"),
        ("price: 5$", "price: 5$"),
        ("a $ b", "a $ b"),
        ("${UNSET:-${OTHER}}", "other"),
        ("${UNSET:-${ALSO_UNSET:-deep}}", "deep"),
        ("${UNSET:-x${PORT}y}", "x8080y"),
        ("${SET:-${MISSING:?never evaluated}}", "value"),
        ("${UNSET:-a}${UNSET:-b}", "ab"),
        ("${UNSET:-has $$ dollar}", "has $ dollar"),
        ("${UNSET:-}", ""),
    ],
)
def test_interpolation_forms(text: str, expected: str) -> None:
    assert interpolate(text, lookup) == expected


@pytest.mark.parametrize(
    ("text", "fragment", "required"),
    [
        (
            "${UNSET:?please set it}",
            "required variable UNSET is missing a value: please set it",
            True,
        ),
        ("${EMPTY:?no empty}", "required variable EMPTY is missing a value: no empty", True),
        ("${UNSET?}", "required variable UNSET is missing a value", True),
        ("${UNSET:-${INNER:?inner needed}}", "required variable INNER", True),
        ("${SET", "missing '}'", False),
        ("${}", "bad variable name", False),
        ("${1ABC}", "bad variable name", False),
        ("${SET:x}", "unexpected ':'", False),
        ("${SET!}", "unexpected '!'", False),
    ],
)
def test_interpolation_errors(text: str, fragment: str, required: bool) -> None:
    with pytest.raises(InterpolationError) as info:
        interpolate(text, lookup)
    assert fragment in str(info.value)
    assert info.value.required is required


def test_unset_variables_are_reported_for_warnings() -> None:
    seen: list[str] = []
    assert interpolate("${A}-$B-${C:-x}-${SET}", lookup, seen.append) == "--x-value"
    assert seen == ["A", "B"]
