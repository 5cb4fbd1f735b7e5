"""The one confinement rule (``StackFileSet``): lexical, no disk, same answer for all misses."""

from __future__ import annotations

import io
import tarfile

import pytest

from fleetdeck.compose.files import StackFileSet
from fleetdeck.compose.model_parts import Build
from fleetdeck.errors import InvalidInputError

ROOT = "/srv/data/stacks/shop"
FILES = {"compose.yaml": b"services: {}\n", "app/Dockerfile": b"FROM x\n", "app/a.txt": b"a"}


@pytest.mark.parametrize(
    "path",
    [
        "/srv/data/stacks/shop/app/a.txt",
        "/srv/data/stacks/shop/./app//a.txt",
        "/srv/data/stacks/shop/app/../app/a.txt",
        "app/a.txt",
    ],
)
def test_paths_inside_the_stack_name_its_files(path: str) -> None:
    assert StackFileSet(ROOT, FILES).read(path, "env file") == b"a"


@pytest.mark.parametrize(
    "path",
    [
        "/srv/data/stacks/shop-evil/app/a.txt",  # a sibling sharing the root's prefix
        "/srv/data/stacks/shop/../shop-evil/app/a.txt",
        "/srv/data/stacks/shop/../../master.key",
        "/srv/data/stacks/shop",
        "/srv/data/stacks/shop/app",  # a directory, not a file
        "/proc/self/environ",
        "/etc/passwd",
        "/",
        "../../ca/ca.key",
        "/srv/data/stacks/shop/missing.env",
    ],
)
def test_anything_else_gets_one_answer(path: str) -> None:
    fileset = StackFileSet(ROOT, FILES)
    assert not fileset.has(path)
    with pytest.raises(InvalidInputError) as caught:
        fileset.read(path, "env file")
    assert caught.value.message.endswith("is not one of the stack's files")


def test_a_context_tar_holds_only_the_stack_files_under_it() -> None:
    fileset = StackFileSet(ROOT, FILES)
    data, dockerfile = fileset.context_tar(Build(context=f"{ROOT}/app"), "service 'web'")
    names = tarfile.open(fileobj=io.BytesIO(data)).getnames()
    assert sorted(names) == ["Dockerfile", "a.txt"] and dockerfile == "Dockerfile"
    inline = Build(context=f"{ROOT}/app", dockerfile_inline="FROM y\n")
    data, dockerfile = fileset.context_tar(inline, "service 'web'")
    assert dockerfile == "Dockerfile.fleetdeck"
    tar = tarfile.open(fileobj=io.BytesIO(data))
    member = tar.extractfile("Dockerfile.fleetdeck")
    assert member is not None and member.read() == b"FROM y\n"
    for bad in (Build(context="/srv/data"), Build(context=f"{ROOT}/app", dockerfile="../x")):
        with pytest.raises(InvalidInputError, match="is not one of the stack's"):
            fileset.context_tar(bad, "service 'web'")
