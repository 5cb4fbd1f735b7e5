"""ExecBody is one model for the API and the agent: env as lines, or as a mapping."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from fleetdeck.wire.containers import ExecBody


def test_env_lines_pass_as_they_are() -> None:
    body = ExecBody.model_validate({"cmd": ["env"], "env": ["A=1", "B=two"]})
    assert body.env == ["A=1", "B=two"]


def test_an_env_mapping_becomes_name_value_lines_in_its_order() -> None:
    body = ExecBody.model_validate({"cmd": ["env"], "env": {"B": "two", "A": "1"}})
    assert body.env == ["B=two", "A=1"]
    assert body.model_dump(exclude_none=True) == {"cmd": ["env"], "env": ["B=two", "A=1"]}


def test_env_values_that_are_not_text_are_refused() -> None:
    with pytest.raises(ValidationError):
        ExecBody.model_validate({"cmd": ["env"], "env": {"A": 1}})


def test_unknown_fields_and_an_empty_command_are_refused() -> None:
    with pytest.raises(ValidationError):
        ExecBody.model_validate({"cmd": ["true"], "tty": True})
    with pytest.raises(ValidationError):
        ExecBody.model_validate({"cmd": []})
