"""Where variables come from: environment, .env, --env-file, and services' env_file."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from fleetdeck.compose.dotenv import read_env_file
from fleetdeck.errors import InvalidInputError
from tests.unit.compose.helpers import load, write

if TYPE_CHECKING:
    from pathlib import Path


def test_env_file_syntax(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "vars.env",
        """
        # a comment
        PLAIN=value
        export EXPORTED=yes
        SPACED = padded
        QUOTED="a \\"quoted\\" value\\nnext"
        SINGLE='literal $PLAIN ${X}'
        INLINE=value # trailing comment
        HASH=a#b
        REF=${PLAIN}-suffix
        DEFAULTED=${NOPE:-fallback}
        EMPTY=
        FROM_OUTSIDE
    """,
    )
    values = read_env_file(path, {"FROM_OUTSIDE": "outside"}.get)
    assert values == {
        "PLAIN": "value",
        "EXPORTED": "yes",
        "SPACED": "padded",
        "QUOTED": 'a "quoted" value\nnext',
        "SINGLE": "literal $PLAIN ${X}",
        "INLINE": "value",
        "HASH": "a#b",
        "REF": "value-suffix",
        "DEFAULTED": "fallback",
        "EMPTY": "",
        "FROM_OUTSIDE": "outside",
    }


def test_bad_env_file_line_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.env", "GOOD=1\nthis is not a variable\n")
    with pytest.raises(InvalidInputError, match=r"bad.env:2: invalid line"):
        read_env_file(path)


def test_dot_env_then_environment_precedence(tmp_path: Path) -> None:
    write(tmp_path, ".env", "TAG=from-dotenv\nPORT=8000\nNAME=dotenv-name\n")
    write(
        tmp_path,
        "compose.yaml",
        """
        services:
          web:
            image: "web:${TAG}"
            ports: ["${PORT}:80"]
            environment: {NAME: "${NAME}"}
    """,
    )
    project = load(tmp_path, "compose.yaml", env={"TAG": "from-shell"})
    web = project.services["web"]
    assert web.image == "web:from-shell"  # the shell wins over .env
    assert web.ports[0].published == "8000"
    assert web.environment == {"NAME": "dotenv-name"}


def test_env_files_replace_dot_env(tmp_path: Path) -> None:
    write(tmp_path, ".env", "TAG=from-dotenv\n")
    custom = write(tmp_path, "prod.env", "TAG=from-prod\n")
    write(tmp_path, "compose.yaml", "services:\n  web:\n    image: web:${TAG:-none}\n")
    project = load(tmp_path, "compose.yaml", env_files=[custom])
    assert project.services["web"].image == "web:from-prod"


def test_service_env_file_precedence(tmp_path: Path) -> None:
    write(tmp_path, "conf/common.env", "A=common\nB=common\nC=common\n")
    write(tmp_path, "conf/web.env", "B=web\nREF=${TAG}\n")
    write(
        tmp_path,
        "compose.yaml",
        """
        services:
          web:
            image: x
            env_file: [conf/common.env, ./conf/web.env, {path: missing.env, required: false}]
            environment:
              C: inline
              FROM_SHELL:
              NOT_SET:
    """,
    )
    project = load(tmp_path, "compose.yaml", env={"TAG": "v1", "FROM_SHELL": "shell"})
    assert project.services["web"].environment == {
        "A": "common",
        "B": "web",  # a later env_file wins over an earlier one
        "C": "inline",  # the service's own environment wins over env_file
        "REF": "v1",
        "FROM_SHELL": "shell",
        "NOT_SET": None,
    }


def test_missing_required_env_file(tmp_path: Path) -> None:
    write(tmp_path, "compose.yaml", "services:\n  web:\n    image: x\n    env_file: nope.env\n")
    with pytest.raises(InvalidInputError, match="cannot read env file .*nope.env"):
        load(tmp_path, "compose.yaml")


def test_unset_variable_warns(tmp_path: Path) -> None:
    write(tmp_path, "compose.yaml", "services:\n  web:\n    image: web:${TAG}\n")
    project = load(tmp_path, "compose.yaml")
    assert project.services["web"].image == "web:"
    assert project.warnings == ["variable TAG is not set; an empty string is used"]


def test_extension_fields_are_not_interpolated(tmp_path: Path) -> None:
    write(tmp_path, "compose.yaml", "x-doc: ${NEEDED:?x}\nservices:\n  web:\n    image: x\n")
    assert load(tmp_path, "compose.yaml").services["web"].image == "x"


def test_project_name_precedence(tmp_path: Path) -> None:
    write(tmp_path, "compose.yaml", "name: from-file\nservices:\n  web:\n    image: x\n")
    assert load(tmp_path, "compose.yaml").name == "from-file"
    assert load(tmp_path, "compose.yaml", env={"COMPOSE_PROJECT_NAME": "env"}).name == "env"
    assert load(tmp_path, "compose.yaml", project_name="Flag_Name").name == "flag_name"
    write(tmp_path, "anon/compose.yaml", "services:\n  web:\n    image: x\n")
    assert load(tmp_path, "anon/compose.yaml").name == "anon"
    with pytest.raises(InvalidInputError, match="invalid project name"):
        load(tmp_path, "compose.yaml", project_name="--")
