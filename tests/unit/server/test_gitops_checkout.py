"""Reading a stack from a checkout: paths stay inside, symlinks out are refused, refs resolve."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from fleetdeck.errors import InvalidInputError, NotFoundError
from fleetdeck.server.gitops.checkout import (
    check_ref,
    fetch_refspec,
    parse_ls_remote,
    read_stack,
    resolve_ref,
)
from fleetdeck.server.gitops.git import check_url, mask

if TYPE_CHECKING:
    from pathlib import Path

SHA1, SHA2, SHA3 = "1" * 40, "2" * 40, "3" * 40
COMPOSE = "services:\n  web:\n    image: 10.0.0.1:5000/web:1\n"


def _tree(root: Path) -> None:
    (root / "app" / "conf").mkdir(parents=True)
    (root / "app" / "compose.yaml").write_text(COMPOSE)
    (root / "app" / "compose.prod.yaml").write_text(COMPOSE)
    (root / "app" / "other.yml").write_text(COMPOSE)
    (root / "app" / "conf" / "site.conf").write_text("listen 80\n")
    (root / "app" / ".env").write_text("A=1\n")
    (root / "app" / ".dockerignore").write_text("*\n")


def test_the_chosen_compose_files_come_first_and_dot_files_stay_out(tmp_path: Path) -> None:
    _tree(tmp_path)
    files = read_stack(tmp_path, SHA1, "app", ["compose.prod.yaml"], ".env")
    assert [f.name for f in files.files] == ["compose.prod.yaml", "conf/site.conf"]
    assert files.env_file == "A=1\n"
    default = read_stack(tmp_path, SHA1, "app", [], None)
    assert [f.name for f in default.files] == ["compose.yaml", "conf/site.conf"]


def test_paths_and_symlinks_that_leave_the_checkout_are_refused(tmp_path: Path) -> None:
    repo, outside = tmp_path / "repo", tmp_path / "secret"
    repo.mkdir()
    outside.write_text("root:x:0:0\n")
    _tree(repo)
    for path, compose, env in (("..", [], None), ("app", ["../x.yaml"], None),
                               ("app", [], "../../secret")):  # fmt: skip
        with pytest.raises(InvalidInputError):
            read_stack(repo, SHA1, path, compose, env)
    (repo / "app" / "leak.txt").symlink_to(outside)
    with pytest.raises(InvalidInputError, match="symlink out"):
        read_stack(repo, SHA1, "app", [], None)
    (repo / "app" / "leak.txt").unlink()
    (repo / "app" / "env.link").symlink_to(outside)
    with pytest.raises(InvalidInputError, match="outside the repository"):
        read_stack(repo, SHA1, "app", [], "env.link")
    (repo / "app" / "env.link").unlink()
    (repo / "app" / "inner.conf").symlink_to(repo / "app" / "conf" / "site.conf")
    inner = read_stack(repo, SHA1, "app", [], None)
    assert {f.name: f.data for f in inner.files}["inner.conf"] == b"listen 80\n"
    with pytest.raises(NotFoundError):
        read_stack(repo, SHA1, "app", ["missing.yaml"], None)


def test_refs_resolve_branches_first_and_tags_to_their_commit() -> None:
    refs = parse_ls_remote(
        f"{SHA1}\tHEAD\n{SHA1}\trefs/heads/main\n{SHA2}\trefs/tags/v1\n{SHA3}\trefs/tags/v1^{{}}\n"
        "garbage line\n"
    )
    assert resolve_ref(refs, "main") == ("refs/heads/main", SHA1)
    assert resolve_ref(refs, "v1") == ("refs/tags/v1", SHA3)  # the peeled commit
    assert resolve_ref(refs, SHA2) == (SHA2, SHA2)
    with pytest.raises(NotFoundError):
        resolve_ref(refs, "nope")
    assert fetch_refspec("refs/heads/main") == "+refs/heads/main:refs/fleetdeck/heads/main"
    for bad in ("--upload-pack=x", "a..b", "-x", "main.lock", "a b"):
        with pytest.raises(InvalidInputError):
            check_ref(bad)


def test_urls_are_checked_and_userinfo_is_masked() -> None:
    assert check_url("git@git.lan:team/x.git") == "git@git.lan:team/x.git"
    assert check_url("ssh://git@git.lan:2222/x.git").startswith("ssh://")
    for bad in ("file:///srv/x", "ext::sh", "/srv/x.git", "https://u:p@h/x", "http://h/x y"):
        with pytest.raises(InvalidInputError):
            check_url(bad)
    assert mask("fatal: https://u:tok@host/x.git denied") == "fatal: https://***@host/x.git denied"
