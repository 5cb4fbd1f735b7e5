"""A newer server never sends an older agent a field it does not know (version skew).

The previous release's agent is frozen as it shipped: its top-level bodies ignore unknown
fields, the container specs nested in them refuse them (see :mod:`fleetdeck.wire.agent`).
Every body the server builds for an agent of protocol 1 is validated here by v0.1.0's own
models (from ``tests/fixtures/releases/v0.1.0-agent.tar.gz``, in a process of their own):
each must pass, and must come back whole (no key silently ignored). And the gate itself:
a field marked ``since(N)`` is left out for an older agent at its default, refused when set.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from pydantic import BaseModel, Field

from fleetdeck.errors import AgentIncompatibleError
from fleetdeck.protocol import PROTOCOL_VERSION
from fleetdeck.server.fleet.agent_client import AgentClient, _body
from fleetdeck.wire.agent import since
from tests.unit.server.test_agent_client_bodies import CASES, _Recorder, _settle

if TYPE_CHECKING:
    from collections.abc import Callable

RELEASES = Path(__file__).resolve().parents[2] / "fixtures" / "releases"

OLD_MODELS = r"""
import importlib, json, sys
import fleetdeck
out = [fleetdeck.__version__]
for case in json.load(sys.stdin):
    try:
        model = getattr(importlib.import_module(case["module"]), case["model"])
    except (ImportError, AttributeError):
        out.append("absent")  # a route that release does not have
        continue
    try:
        back = model.model_validate(case["body"]).model_dump(mode="json", exclude_unset=True)
    except Exception as exc:
        out.append(f"refused: {exc}")
        continue
    out.append("ok" if back == case["body"] else f"ignored keys: {back} != {case['body']}")
print(json.dumps(out))
"""


#: Agent routes added after v0.1.0 (their bodies have no v0.1.0 model to check against).
NEW_SINCE_V010 = {"agent upgrade"}


def _sent_to(protocol: int, call: Callable[[AgentClient], Any]) -> Any:
    transport = _Recorder()
    _settle(call(AgentClient(transport, protocol=lambda: protocol)))  # type: ignore[arg-type]
    return transport.calls[0][2]


def test_every_body_sent_to_a_protocol_1_agent_is_whole_for_v010s_own_models(
    tmp_path: Path,
) -> None:
    with tarfile.open(RELEASES / "v0.1.0-agent.tar.gz") as tar:
        tar.extractall(tmp_path, filter="data")
    cases = [
        {"module": model.__module__, "model": model.__name__, "body": _sent_to(1, call)}
        for _, model, call, _ in CASES
    ]
    proc = subprocess.run(
        [sys.executable, "-c", OLD_MODELS],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path / "src"), "PATH": "/usr/bin:/bin"},
        timeout=60,
    )
    version, *answers = json.loads(proc.stdout)
    assert version == "0.1.0"  # the old source answered, not this checkout's
    verdicts = dict(zip([c[0] for c in CASES], answers, strict=True))
    # Routes v0.1.0's agent does not have at all (no model, no route): nothing to be whole for.
    # ``agents upgrade`` of a 0.1.0 agent answers 404 from it (docs/install.md, Upgrade).
    new_routes = {name for name in NEW_SINCE_V010 if verdicts.get(name) == "absent"}
    assert new_routes == NEW_SINCE_V010
    assert verdicts == {name: "ok" for name in verdicts if name not in NEW_SINCE_V010} | {
        name: "absent" for name in NEW_SINCE_V010
    }


class _Port(BaseModel):
    number: int
    #: A field a later protocol added to a model nested in a body.
    protocol_hint: str = Field(default="tcp", json_schema_extra=since(PROTOCOL_VERSION + 1))


class _Body(BaseModel):
    name: str
    ports: list[_Port] = []
    turbo: bool = Field(default=False, json_schema_extra=since(PROTOCOL_VERSION + 1))


NEXT = PROTOCOL_VERSION + 1


def test_a_newer_field_at_its_default_is_left_out_for_an_older_agent() -> None:
    fields = {"name": "a", "turbo": False, "ports": [{"number": 80, "protocol_hint": "tcp"}]}
    assert _body(_Body, fields, PROTOCOL_VERSION) == {"name": "a", "ports": [{"number": 80}]}
    assert _body(_Body, fields, NEXT) == fields  # an agent that knows them gets them


@pytest.mark.parametrize(
    ("fields", "path"),
    [
        ({"name": "a", "turbo": True}, "turbo"),
        ({"name": "a", "ports": [{"number": 80, "protocol_hint": "udp"}]}, "ports.protocol_hint"),
    ],
)
def test_a_newer_field_that_is_set_is_refused_for_an_older_agent(
    fields: dict[str, Any], path: str
) -> None:
    with pytest.raises(
        AgentIncompatibleError, match=f"protocol {PROTOCOL_VERSION}, which has no {path}"
    ):
        _body(_Body, fields, PROTOCOL_VERSION, "lab/n1")
