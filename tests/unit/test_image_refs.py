"""Images are shown as the user wrote them (tag), with the pinned digest alongside.

Stacks create containers and Swarm services from ``repo@sha256:…``; ``ps``, ``stack ps``,
``services`` and the UI show the Compose file's tag, and ``-o json`` carries both.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from fleetdeck.agent.swarm_summary import summarize_service, summarize_task
from fleetdeck.compose import load_project
from fleetdeck.server.stacks.host.rollout import ReplicaContext, Rollout
from fleetdeck.server.stacks.host.spec import build_spec
from fleetdeck.server.stacks.plan import Action, Strategy
from fleetdeck.server.stacks.swarm.compare import compare, with_fingerprint
from fleetdeck.server.stacks.swarm.spec import SpecInputs, service_spec
from fleetdeck.wire.containers import IMAGE_REF_LABEL, Container, image_reference

if TYPE_CHECKING:
    from pathlib import Path

DIGEST = "sha256:" + "f8dc" * 16
TAG = "reg:5000/web:1"
PINNED = f"reg:5000/web@{DIGEST}"


def test_image_reference_prefers_the_written_tag_and_splits_the_digest() -> None:
    assert image_reference(PINNED, {IMAGE_REF_LABEL: TAG}) == (TAG, DIGEST)
    # docker stack deploy writes repo:tag@digest: the tag is in the reference itself.
    assert image_reference(f"reg:5000/web:2@{DIGEST}", {}) == ("reg:5000/web:2", DIGEST)
    # No tag known: the digest form stays whole rather than pass for :latest.
    assert image_reference(PINNED, {}) == (PINNED, DIGEST)
    assert image_reference(TAG, {}) == (TAG, None)


def test_a_container_on_the_wire_has_its_image_digest_and_written_tag() -> None:
    c = Container(
        id="c1", name="web", image=PINNED, state="running", created=datetime.now(UTC),
        environment="prod", node="n1", labels={IMAGE_REF_LABEL: TAG},
    )  # fmt: skip
    wire = c.model_dump(mode="json")
    assert (wire["image"], wire["image_ref"], wire["image_digest"]) == (PINNED, TAG, DIGEST)
    assert Container.model_validate(wire).image_ref == TAG


def _project(tmp_path: Path) -> Any:
    path = tmp_path / "compose.yaml"
    path.write_text(f"services:\n  web:\n    image: {TAG}\n")
    return load_project([path], project_name="shop", env={})


def test_a_host_replica_created_from_a_digest_is_labelled_with_the_written_tag(
    tmp_path: Path,
) -> None:
    spec = build_spec(_project(tmp_path), "web", secret_versions={}, hash_key=b"k")
    rollout = Rollout(None, ReplicaContext("shop", 1, "/w", []), None)  # type: ignore[arg-type]
    body = rollout._body(spec, PINNED, 1)
    assert body["Image"] == PINNED and body["Labels"][IMAGE_REF_LABEL] == TAG


def test_a_swarm_service_carries_the_written_tag_without_a_labels_change(
    tmp_path: Path,
) -> None:
    project = _project(tmp_path)
    inputs = SpecInputs(stack="shop", routing_mesh=True, strategy=Strategy.auto,
                        images={"web": PINNED}, secrets={}, configs={})  # fmt: skip
    spec, _ = service_spec("web", project.services["web"], project, inputs)
    container = spec["TaskTemplate"]["ContainerSpec"]
    assert container["Image"] == PINNED and container["Labels"][IMAGE_REF_LABEL] == TAG
    desired = with_fingerprint(spec)
    # A deploy that ran before the label existed: only the label differs, nothing to change.
    older = {**desired, "TaskTemplate": {**desired["TaskTemplate"], "ContainerSpec": {
        **container, "Labels": {k: v for k, v in container["Labels"].items()
                                if k != IMAGE_REF_LABEL}}}}  # fmt: skip
    assert compare("web", desired, {"Spec": older}).action is Action.unchanged
    summary = summarize_service({"ID": "s1", "Spec": spec})
    assert (summary["image"], summary["image_ref"], summary["image_digest"]) == (
        PINNED,
        TAG,
        DIGEST,
    )
    task = summarize_task({"ID": "t1", "Spec": {"ContainerSpec": container}}, {})
    assert (task["image_ref"], task["image_digest"]) == (TAG, DIGEST)
