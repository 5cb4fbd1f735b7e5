"""Images and volumes: who uses them and how big volumes are, from Docker's JSON."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pydantic import ValidationError

from fleetdeck.agent import convert, engine_resources
from fleetdeck.agent.engine_resources import ResourcesMixin, size_lookup
from fleetdeck.errors import FleetdeckError
from fleetdeck.wire.resources import ImageInfo, VolumeInfo

#: ``/containers/json?all=true`` entries as Docker 20.10 sends them (trimmed): a running and a
#: stopped container of one image, the stopped one mounting a volume twice, and a bind mount.
SUMMARIES: list[dict[str, Any]] = [
    {
        "Id": "c1" * 32,
        "Names": ["/web-1"],
        "ImageID": "sha256:aaa",
        "State": "running",
        "Mounts": [{"Type": "volume", "Name": "data", "Destination": "/data"}],
    },
    {
        "Id": "c2" * 32,
        "Names": ["/old-web"],
        "ImageID": "sha256:aaa",
        "State": "exited",
        "Mounts": [
            {"Type": "volume", "Name": "data", "Destination": "/a"},
            {"Type": "volume", "Name": "data", "Destination": "/b"},
            {"Type": "bind", "Source": "/srv", "Destination": "/srv"},
        ],
    },
    {"Id": "c3" * 32, "Names": None, "ImageID": "sha256:bbb", "Mounts": None},
]
IMAGE = {"Id": "sha256:aaa", "RepoTags": ["web:1"], "Size": 10, "Containers": -1}
UNTAGGED = {"Id": "sha256:ccc", "RepoTags": ["<none>:<none>"], "RepoDigests": ["web@sha256:d"]}


def test_an_image_is_used_by_its_running_and_stopped_containers() -> None:
    users = convert.image_users(SUMMARIES)
    assert users == {"sha256:aaa": ["old-web", "web-1"], "sha256:bbb": ["c3c3c3c3c3c3"]}
    used = convert.image_info(IMAGE, users["sha256:aaa"])
    dumped = used.model_dump(mode="json")
    assert (dumped["containers"], dumped["used_by"], dumped["in_use"]) == (
        2,
        ["old-web", "web-1"],
        True,
    )
    assert dumped["dangling"] is False
    unused = convert.image_info(UNTAGGED, users.get("sha256:ccc", [])).model_dump(mode="json")
    assert (unused["containers"], unused["in_use"], unused["dangling"]) == (0, False, True)
    assert unused["digests"] == ["web@sha256:d"]


def test_without_the_containers_docker_s_minus_one_stays_unknown() -> None:
    image = convert.image_info(IMAGE)
    assert (image.containers, image.in_use) == (None, None)
    # An older agent's image (no used_by, no containers) still reads, as "not known".
    assert ImageInfo.model_validate({"id": "sha256:x"}).in_use is None


def test_a_volume_is_used_by_each_container_mounting_it_once() -> None:
    users = convert.volume_users(SUMMARIES)
    assert users == {"data": ["old-web", "web-1"]}
    raw = {"Name": "data", "Driver": "local", "Mountpoint": "/var/lib/docker/volumes/data/_data"}
    volume = convert.volume_info(raw, users["data"], ("measured", 1_048_576, None))
    dumped = volume.model_dump(mode="json")
    assert (dumped["containers"], dumped["in_use"], dumped["size"]) == (2, True, 1_048_576)
    assert dumped["size_status"] == "measured"
    plain = convert.volume_info({"Name": "spare"}, []).model_dump(mode="json")
    assert (plain["in_use"], plain["size"], plain["size_status"]) == (False, None, "not_requested")


def test_volume_sizes_from_system_df() -> None:
    disk_usage = {
        "Volumes": [
            {"Name": "data", "UsageData": {"Size": 1_048_576, "RefCount": 1}},
            {"Name": "remote", "UsageData": {"Size": -1, "RefCount": 0}},
            {"Name": "odd", "UsageData": {"Size": True}},
            {"Name": "bare"},
        ]
    }
    assert convert.volume_sizes(disk_usage) == {
        "data": 1_048_576,
        "remote": None,
        "odd": None,
        "bare": None,
    }
    size_of = size_lookup(disk_usage)
    assert size_of("data") == ("measured", 1_048_576, None)
    assert size_of("remote") == ("unknown", None, None)
    assert size_of("made-after-the-walk") == ("unknown", None, None)
    assert size_lookup(None)("data") == ("timed_out", None, None)
    refused = FleetdeckError("a disk usage operation is already running")
    assert size_lookup(refused)("data") == ("failed", None, refused.message)


@pytest.mark.parametrize(
    "bad",
    [
        {"name": "v", "size": -5},
        {"name": "v", "containers": -1},
        {"name": "v", "size_status": "guessed"},
        {"name": "v", "used_by": "web-1"},
        {"name": "v", "size_error": "x" * 501},
    ],
)
def test_what_an_agent_sends_about_a_volume_is_validated(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        VolumeInfo.model_validate(bad)


def test_in_use_is_computed_never_taken_from_the_sender() -> None:
    claimed = {"name": "v", "containers": 0, "in_use": True}
    assert VolumeInfo.model_validate(claimed).in_use is False
    image = {"id": "i", "tags": ["web:1"], "dangling": True}
    assert ImageInfo.model_validate(image).dangling is False


class WalkEngine(ResourcesMixin):
    """An engine whose ``/system/df`` answers when the test says (the Docker boundary)."""

    def __init__(self) -> None:
        super().__init__("unix:///nowhere")
        self.walks = 0
        self.release = asyncio.Event()
        self.answer: dict[str, Any] | FleetdeckError = {"Volumes": []}

    async def request(self, method: str, path: str, **_: Any) -> Any:
        """The walk: counted, held until released, then the answer or the engine's error."""
        assert (method, path) == ("GET", "system/df")
        self.walks += 1
        await self.release.wait()
        if isinstance(self.answer, FleetdeckError):
            raise self.answer
        return self.answer


async def test_a_slow_walk_times_out_and_the_next_listing_joins_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(engine_resources, "DISK_USAGE_WAIT_S", 0.01)
    engine = WalkEngine()
    assert await engine._disk_usage_walk() is None  # timed out; the walk goes on
    monkeypatch.setattr(engine_resources, "DISK_USAGE_WAIT_S", 30.0)
    engine.answer = {"Volumes": [{"Name": "data", "UsageData": {"Size": 7, "RefCount": 0}}]}
    joined = asyncio.ensure_future(engine._disk_usage_walk())
    await asyncio.sleep(0)
    engine.release.set()
    assert await joined == engine.answer
    assert engine.walks == 1  # one walk served both listings
    engine.answer = FleetdeckError("a disk usage operation is already running")
    failed = await engine._disk_usage_walk()
    assert isinstance(failed, FleetdeckError) and engine.walks == 2
