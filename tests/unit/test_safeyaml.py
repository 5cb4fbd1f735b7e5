"""Bounded YAML: alias bombs, deep nesting, huge files and recursion are refused by a limit.

Each test asserts *which* limit refused the input (``YamlLimitError.limit``), not how long
it took: the timings are in bench/yaml_limits_bench.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
import yaml

from fleetdeck import safeyaml
from fleetdeck.compose import load_project
from fleetdeck.compose.source import COMPOSE_LOADER, LocDict
from fleetdeck.errors import InvalidInputError
from fleetdeck.safeyaml import YamlLimitError, YamlLimits
from fleetdeck.server.config import ServerSettings

if TYPE_CHECKING:
    from pathlib import Path


def alias_bomb(levels: int, width: int = 9) -> str:
    """A Compose file whose anchors expand to ``width ** levels`` list items (billion laughs)."""
    names = "abcdefghijklmnop"
    lines = ["x-bomb:", f"  a: &a [{', '.join(['lol'] * width)}]"]
    for level in range(1, levels):
        refs = ", ".join([f"*{names[level - 1]}"] * width)
        lines.append(f"  {names[level]}: &{names[level]} [{refs}]")
    last = names[levels - 1]
    lines += ["services:", "  web:", "    image: busybox", f"    command: *{last}", ""]
    return "\n".join(lines)


@pytest.mark.parametrize("levels", [5, 6, 7, 8, 9])
@pytest.mark.parametrize("loader", [None, COMPOSE_LOADER], ids=["safe", "compose"])
def test_alias_bombs_of_5_to_9_levels_are_refused_by_the_alias_node_limit(
    levels: int, loader: type | None
) -> None:
    with pytest.raises(YamlLimitError) as caught:
        safeyaml.load(alias_bomb(levels), name="bomb.yaml", loader=loader)
    assert caught.value.limit == "max_alias_nodes"
    assert caught.value.message.startswith("bomb.yaml:")
    assert caught.value.kind == "invalid_input" and caught.value.exit_code == 2


def test_a_4_level_bomb_is_under_the_limits_and_loads_as_shared_lists() -> None:
    data = safeyaml.load(alias_bomb(4), name="small.yaml")
    assert len(data["services"]["web"]["command"]) == 9


def test_ordinary_anchor_reuse_loads_with_line_numbers() -> None:
    text = (
        "x-defaults: &defaults\n"
        "  restart: unless-stopped\n"
        "  logging: {driver: json-file}\n"
        "services:\n"
        + "".join(f"  s{i}:\n    <<: *defaults\n    image: img{i}\n" for i in range(300))
    )
    data = safeyaml.load(text, name="compose.yaml", loader=COMPOSE_LOADER)
    assert isinstance(data, LocDict)
    assert data["services"]["s299"]["restart"] == "unless-stopped"
    assert data["services"].key_lines["s1"] == 8


def test_a_recursive_alias_is_refused() -> None:
    with pytest.raises(YamlLimitError) as caught:
        safeyaml.load("a: &a [1, *a]\n", name="loop.yaml")
    assert caught.value.limit == "recursive_alias"


def test_deep_nesting_is_refused_before_python_recursion_runs_out() -> None:
    with pytest.raises(YamlLimitError) as caught:
        safeyaml.load("a: " + "[" * 5000 + "]" * 5000, name="deep.yaml")
    assert caught.value.limit == "max_depth"


def test_depth_counts_through_aliases() -> None:
    deep = "[" * 40 + "1" + "]" * 40
    text = f"a: &a {deep}\nb: &b {'[' * 30}*a{']' * 30}\n"
    with pytest.raises(YamlLimitError) as caught:
        safeyaml.load(text, name="deep.yaml")
    assert caught.value.limit == "max_depth"
    assert caught.value.message.startswith("deep.yaml:2:")


def test_too_many_aliases_are_refused() -> None:
    text = "a: &a 1\nb: [" + ", ".join(["*a"] * 10_001) + "]\n"
    with pytest.raises(YamlLimitError) as caught:
        safeyaml.load(text, name="aliases.yaml")
    assert caught.value.limit == "max_aliases"


def test_the_expanded_node_limit() -> None:
    loader = safeyaml.bounded_loader(yaml.SafeLoader, YamlLimits(max_nodes=100))
    assert len(safeyaml.load("[" + ", ".join(["x"] * 98) + "]", name="ok", loader=loader)) == 98
    with pytest.raises(YamlLimitError) as caught:
        safeyaml.load("[" + ", ".join(["x"] * 100) + "]", name="many.yaml", loader=loader)
    assert caught.value.limit == "max_nodes"


def test_a_huge_file_is_refused_by_its_size_without_being_read(tmp_path: Path) -> None:
    huge = tmp_path / "compose.yaml"
    with huge.open("wb") as out:
        out.truncate(50 * 1024 * 1024)  # sparse: stat says 50 MiB, nothing to read
    with pytest.raises(YamlLimitError) as caught:
        safeyaml.load_file(huge, what="compose file", loader=COMPOSE_LOADER)
    assert caught.value.limit == "max_bytes"
    assert str(huge) in caught.value.message


def test_a_huge_text_is_refused_by_its_size() -> None:
    with pytest.raises(YamlLimitError) as caught:
        safeyaml.load("a: " + "x" * (1024 * 1024), name="big.yaml")
    assert caught.value.limit == "max_bytes"


def test_invalid_yaml_is_still_an_invalid_input_error_with_its_line() -> None:
    with pytest.raises(InvalidInputError) as caught:
        safeyaml.load("a: 1\nb: [1\n", name="bad.yaml")
    assert not isinstance(caught.value, YamlLimitError)
    assert caught.value.message.startswith("bad.yaml:")


def test_the_compose_loader_refuses_a_bomb_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "compose.yaml"
    path.write_text(alias_bomb(9))
    with pytest.raises(YamlLimitError) as caught:
        load_project([path], env={})
    assert caught.value.limit == "max_alias_nodes"
    assert caught.value.message.startswith(f"{path}:")


def test_a_settings_file_is_read_within_the_limits(tmp_path: Path) -> None:
    config = tmp_path / "server.yaml"
    config.write_text(alias_bomb(9).replace("services:", "z:"))
    with pytest.raises(YamlLimitError):
        ServerSettings.load(config, data_dir=tmp_path / "data")
    config.write_text("login_max_failures: 7\n")
    assert ServerSettings.load(config, data_dir=tmp_path / "data").login_max_failures == 7
