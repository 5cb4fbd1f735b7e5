"""The agent's host information says which agent it is: version, protocol and commit."""

from __future__ import annotations

from fleetdeck.agent.convert import agent_info
from fleetdeck.protocol import PROTOCOL_VERSION
from fleetdeck.wire.fleet import AgentInfo

INFO = {"Name": "nas", "NCPU": 4, "MemTotal": 1 << 30, "Swarm": {"LocalNodeState": "inactive"}}
VERSION = {"Version": "20.10.24", "ApiVersion": "1.41"}


def test_the_agent_reports_its_version_protocol_and_commit() -> None:
    info = agent_info(INFO, VERSION, "0.2.0.dev0", "0123456789ab")
    assert (info.agent_version, info.agent_protocol, info.agent_commit) == (
        "0.2.0.dev0", PROTOCOL_VERSION, "0123456789ab",
    )  # fmt: skip
    assert info.engine_version == "20.10.24" and info.hostname == "nas"


def test_a_v010_agents_info_parses_with_no_protocol_and_no_commit() -> None:
    """What v0.1.0's agent sends: its version, none of the newer keys."""
    sent = {"hostname": "nas", "engine_state": "up", "agent_version": "0.1.0", "ipvs": False}
    info = AgentInfo.model_validate(sent)
    assert (info.agent_version, info.agent_protocol, info.agent_commit) == ("0.1.0", None, None)
