"""Flat, readable keys added next to Docker's raw Swarm objects.

Docker's node, service and task JSON is deep (``Spec.Name``, ``Status.State``) and tasks name
their node only by id. The agent adds stable flat keys (``name``, ``hostname``, ``node``,
``state``…) beside the raw fields, so the CLI, UI and scripts read one shape, while the raw
document stays available to anything that needs specs and versions.
"""

from __future__ import annotations

from typing import Any

from fleetdeck.wire.containers import image_reference


def summarize_node(node: dict[str, Any]) -> dict[str, Any]:
    """A node with ``id, hostname, role, availability, state, addr, leader, labels`` added."""
    spec = node.get("Spec") or {}
    status = node.get("Status") or {}
    manager = node.get("ManagerStatus") or {}
    return {
        **node,
        "id": node.get("ID", ""),
        "hostname": (node.get("Description") or {}).get("Hostname", ""),
        "role": spec.get("Role", ""),
        "availability": spec.get("Availability", ""),
        "state": status.get("State", ""),
        "addr": status.get("Addr", ""),
        "leader": bool(manager.get("Leader", False)),
        "labels": spec.get("Labels") or {},
        "engine_version": ((node.get("Description") or {}).get("Engine") or {}).get(
            "EngineVersion", ""
        ),
    }


def summarize_service(service: dict[str, Any]) -> dict[str, Any]:
    """A service with ``id, name, image, mode, replicas, running, desired`` added."""
    spec = service.get("Spec") or {}
    mode = spec.get("Mode") or {}
    status = service.get("ServiceStatus") or {}
    container = (spec.get("TaskTemplate") or {}).get("ContainerSpec") or {}
    image = container.get("Image", "")
    image_ref, image_digest = image_reference(image, container.get("Labels") or {})
    return {
        **service,
        "id": service.get("ID", ""),
        "name": spec.get("Name", ""),
        "image": image,
        "image_ref": image_ref,
        "image_digest": image_digest,
        "mode": "replicated" if "Replicated" in mode else "global" if "Global" in mode else "",
        "replicas": (mode.get("Replicated") or {}).get("Replicas"),
        "running": status.get("RunningTasks"),
        "desired": status.get("DesiredTasks"),
        "update_state": (service.get("UpdateStatus") or {}).get("State"),
    }


def summarize_task(task: dict[str, Any], hostnames: dict[str, str]) -> dict[str, Any]:
    """A task with ``id, service_id, slot, node, node_id, state, desired_state, error`` added."""
    status = task.get("Status") or {}
    node_id = task.get("NodeID", "")
    container = (status.get("ContainerStatus") or {}).get("ContainerID", "")
    container_spec = ((task.get("Spec") or {}).get("ContainerSpec")) or {}
    image = container_spec.get("Image", "")
    image_ref, image_digest = image_reference(image, container_spec.get("Labels") or {})
    return {
        **task,
        "id": task.get("ID", ""),
        "service_id": task.get("ServiceID", ""),
        "slot": task.get("Slot"),
        "node_id": node_id,
        "node": hostnames.get(node_id, node_id),
        "state": status.get("State", ""),
        "desired_state": task.get("DesiredState", ""),
        "message": status.get("Message", ""),
        "error": status.get("Err", ""),
        "container_id": container,
        "image": image,
        "image_ref": image_ref,
        "image_digest": image_digest,
        "updated_at": task.get("UpdatedAt"),
    }
