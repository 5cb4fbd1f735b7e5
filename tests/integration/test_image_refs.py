"""A stack's containers run pinned digests, yet ``ps`` and ``stack ps`` show the written tag."""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING

import pytest

from tests.conftest import client_for, fleetdeck, server_env
from tests.integration.docker_cli import docker

if TYPE_CHECKING:
    from fleetdeck.lab import LabRecord

pytestmark = pytest.mark.lab


def test_ps_and_stack_ps_show_the_written_tag_with_the_digest_alongside(
    fleet3: LabRecord,
) -> None:
    node, tag = fleet3.nodes[2], fleet3.images["web"]
    stack = f"refs{uuid.uuid4().hex[:6]}"
    files = [{"name": "compose.yaml", "content": f"services:\n  web:\n    image: {tag}\n"}]
    with client_for(fleet3) as client:
        try:
            events = list(client.deploy_stack(stack, node.name, files))
            assert events[-1]["type"] == "result" and events[-1]["ok"], events[-1]
            engine_image = docker(
                node, "inspect", "--format", "{{.Config.Image}}", f"{stack}-web-1"
            )
            assert "@sha256:" in engine_image  # what the engine reports: the pinned digest
            digest = engine_image.split("@", 1)[1]
            service = client.stack_ps(stack)[0]
            assert (service["image_ref"], service["image"]) == (tag, engine_image)
            assert service["containers"][0]["image_ref"] == tag
            deadline = time.monotonic() + 30
            while not (page := client.list_containers(stack=stack)).items:
                assert time.monotonic() < deadline, "the stack's container never showed in ps"
                time.sleep(0.2)
            c = page.items[0]
            assert (c.image, c.image_ref, c.image_digest) == (engine_image, tag, digest)
            env = server_env(fleet3)
            table = fleetdeck("ps", "--stack", stack, env=env).stdout
            assert tag in table and "sha256:" not in table
            wide = fleetdeck("ps", "--stack", stack, "--digests", env=env).stdout
            assert digest in wide
            assert tag in fleetdeck("stack", "ps", stack, env=env).stdout
        finally:
            client.remove_stack(stack)
