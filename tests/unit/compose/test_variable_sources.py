"""One rule for where variables come from, and which variables a file uses."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fleetdeck.compose.interpolation import variable_names
from fleetdeck.compose.loader import referenced_variables
from fleetdeck.compose.variables import interpolation_variables, variable_sources
from tests.unit.compose.helpers import load, write

if TYPE_CHECKING:
    from pathlib import Path


def test_variable_names_include_defaults_and_alternatives_whatever_is_set() -> None:
    assert variable_names("$A ${B:-${C}} ${D:+x$E} $$F ${G?m} $") == ["A", "B", "C", "D", "E", "G"]
    assert variable_names("no variables, $$ only") == []


def test_referenced_variables_walk_values_as_loading_does(tmp_path: Path) -> None:
    path = write(tmp_path, "compose.yaml", """
        x-ignored: ${NOT_USED}
        services:
          web:
            image: ${WEB_IMAGE:-web:1}
            environment: {LEVEL: "${LOG_LEVEL}"}
            secrets: [key]
          db:
            image: db:${DB_TAG:?set it}
        secrets:
          key:
            environment: API_KEY
    """)  # fmt: skip
    assert referenced_variables([path]) == {
        "WEB_IMAGE": {"web"}, "LOG_LEVEL": {"web"}, "DB_TAG": {"db"}, "API_KEY": {""},
    }  # fmt: skip


def test_shell_wins_over_the_env_file_as_in_compose(tmp_path: Path) -> None:
    write(tmp_path, ".env", "TAG=from-dotenv\nOTHER=dotenv\n")
    write(tmp_path, "compose.yaml", "services:\n  web:\n    image: web:${TAG}\n")
    merged = interpolation_variables(tmp_path, {"TAG": "shell"}, None)
    assert merged["TAG"] == "shell" and merged["OTHER"] == "dotenv"
    assert load(tmp_path, "compose.yaml", env={"TAG": "shell"}).services["web"].image == "web:shell"
    assert load(tmp_path, "compose.yaml").services["web"].image == "web:from-dotenv"
    alt = write(tmp_path, "alt.env", "TAG=alt\n")
    assert interpolation_variables(tmp_path, {}, [alt]) == {"TAG": "alt"}  # instead of .env


def test_each_variable_is_named_with_its_strongest_source() -> None:
    sources = variable_sources(
        ["A", "B", "C", "D"], from_shell={"A": "1"}, from_store={"A": "2", "B": "2"},
        from_env_file={"A": "3", "B": "3", "C": "3"},
    )  # fmt: skip
    assert sources == {"A": "shell", "B": "stored", "C": "env_file", "D": "default"}
