"""The hardening report: the image's own USER, unknown images, blocking and grouping."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from fleetdeck.cli.stacks_deploy import finding_lines
from fleetdeck.compose import load_project
from fleetdeck.errors import InvalidInputError
from fleetdeck.server.stacks.hardening import findings
from fleetdeck.server.stacks.host.plan import ImageChoice, image_users
from fleetdeck.server.stacks.plan import Plan
from fleetdeck.server.stacks.service import refuse_blocked

if TYPE_CHECKING:
    from pathlib import Path

    from fleetdeck.compose import Project
    from fleetdeck.server.stacks.plan import Finding

TEXT = """
services:
  app:    {image: r/app:1, mem_limit: 64m}
  rooted: {image: r/root:1, mem_limit: 64m}
  fresh:  {image: r/fresh:1, mem_limit: 64m}
  mine:   {image: r/root:1, mem_limit: 64m, user: "1000:1000"}
  forced: {image: r/app:1, mem_limit: 64m, user: root}
  built:  {build: ., mem_limit: 64m}
"""


def _project(tmp_path: Path, text: str = TEXT) -> Project:
    path = tmp_path / "compose.yaml"
    path.write_text(text)
    return load_project([path], project_name="shop", env={})


def _root(found: list[Finding]) -> dict[str, str]:
    return {f.service: f.message for f in found if f.rule == "root-user"}


def test_root_user_reads_the_images_own_user(tmp_path: Path) -> None:
    project = _project(tmp_path)
    users = {"r/app:1": "nobody", "r/root:1": "", "shop-built": "0:0"}
    found = findings(project, {"root-user"}, users)
    root = _root(found)
    assert "app" not in root and "mine" not in root  # the image's USER, the file's user:
    assert root["rooted"] == "runs as root (no user set, and the image sets none)"
    assert root["forced"] == "runs as root (user: root)"
    assert "root" in root["built"]  # a build without image: is keyed PROJECT-SERVICE
    assert "not on the node yet" in root["fresh"] and "unknown" in root["fresh"]
    blocking = {f.service for f in found if f.blocking}
    assert blocking == {"rooted", "forced", "built"}  # an unknown USER never blocks


def test_without_inspected_images_no_user_counts_as_root(tmp_path: Path) -> None:
    root = _root(findings(_project(tmp_path), set()))  # a Swarm plan inspects no image
    assert root["app"] == "runs as root (no user set)"
    assert "mine" not in root


def test_image_users_come_from_the_images_on_the_node(tmp_path: Path) -> None:
    project = _project(tmp_path)
    images = {
        "app": ImageChoice("r/app@sha256:a", "r/app@sha256:a", "sha256:1", user="nobody"),
        "fresh": ImageChoice("r/fresh@sha256:b", "r/fresh@sha256:b", None),
        "built": ImageChoice("shop-built", "shop-built", None, build=True, user=""),
    }
    assert image_users(project, images) == {"r/app:1": "nobody", "shop-built": ""}


def test_a_blocked_plan_names_every_rule_and_service(tmp_path: Path) -> None:
    text = (
        "services:\n"
        + "".join(
            f"  s{i}:\n    image: r/x:1\n    volumes: ['/var/run/docker.sock:/s']\n"
            for i in range(2)
        )
        + "  p:\n    image: r/x:1\n    privileged: true\n"
    )
    plan = Plan("shop", "env")
    plan.findings = findings(_project(tmp_path, text), {"docker-socket", "privileged"}, {})
    with pytest.raises(InvalidInputError) as caught:
        refuse_blocked(plan)
    message = caught.value.message
    assert "rule docker-socket blocks deploys: service(s) s0, s1" in message
    assert "rule privileged blocks deploys: service(s) p" in message
    plan.findings = [f for f in plan.findings if not f.blocking]
    refuse_blocked(plan)  # warnings alone never refuse


def test_findings_are_printed_grouped_per_rule_blocking_first() -> None:
    items = [
        {"rule": "no-memory-limit", "service": f"s{i}", "message": "has no memory limit"}
        for i in range(10)
    ] + [{"rule": "privileged", "service": "s3", "message": "runs privileged", "blocking": True}]
    lines = finding_lines(items)
    assert lines == [
        "[block] s3: runs privileged (privileged)",
        "[warn] " + ", ".join(f"s{i}" for i in range(10)) + ": has no memory limit "
        "(no-memory-limit)",
    ]


@pytest.mark.parametrize(
    ("source", "reaches"),
    [
        ("/srv/fleetdeck-data", True),  # the data dir itself
        ("/srv/fleetdeck-data/ca", True),  # inside it
        ("/srv", True),  # above it: the data dir is inside the mount
        ("/srv/fleetdeck-data/stacks/shop/../../", True),  # '..' out of the stack's own
        ("/srv/fleetdeck-data/stacks/other", True),  # another stack's directory
        ("/srv/fleetdeck-data/stacks/shop/conf", False),  # the stack's own directory
        ("/mnt/media", False),  # an ordinary host path stays an ordinary bind
    ],
)
def test_a_bind_that_reaches_the_servers_data_dir_is_dangerous(
    tmp_path: Path, source: str, reaches: bool
) -> None:
    # A relative bind source resolves under the stack's directory in the server's data dir;
    # on a node sharing the server's disk (a local environment), '../..' would hand a
    # container the CA key and master key: it is a host-mount, blocking for non-admins.
    text = f"services:\n  app: {{image: r/app:1, mem_limit: 64m, volumes: ['{source}:/x']}}\n"
    guarded = ("/srv/fleetdeck-data", "/srv/fleetdeck-data/stacks/shop")
    found = findings(_project(tmp_path, text), set(), refused={"host-mount"}, guarded=guarded)
    mounts = [f for f in found if f.rule == "host-mount"]
    assert bool(mounts) is reaches
    assert all(f.blocking for f in mounts)
    assert not [f for f in findings(_project(tmp_path, text), set()) if f.rule == "host-mount"]
