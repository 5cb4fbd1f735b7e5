"""Showing a Docker pull as it happens: one bar per layer, from Docker's progress objects.

Docker's objects are loose: ``id`` is a layer (or the tag, for "Pulling from…"),
``progressDetail`` may be empty, ``total`` may be missing or -1, and plain status lines
("Digest: …", "Status: …") have no id. Anything unexpected is shown as text, never fatal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
)

if TYPE_CHECKING:
    from rich.console import Console

#: Layer states after which a layer has nothing more to do.
FINAL_STATES = frozenset({"Pull complete", "Already exists"})
#: Layer states Docker repeats many times a second (only bars show them).
CHATTY_STATES = frozenset({"Downloading", "Extracting", "Waiting", "Verifying Checksum"})


def _numbers(item: dict[str, Any]) -> tuple[int | None, int | None]:
    """``(current, total)`` from ``progressDetail``, None where Docker gave nothing usable."""
    detail = item.get("progressDetail")
    if not isinstance(detail, dict):
        return None, None
    current, total = detail.get("current"), detail.get("total")
    current = current if isinstance(current, int) and current >= 0 else None
    total = total if isinstance(total, int) and total > 0 else None
    return current, total


class PullRenderer:
    """Feeds progress objects to a Rich display (bars on a terminal, status lines elsewhere).

    Use as a context manager around the loop; :meth:`feed` takes each object.
    """

    def __init__(self, console: Console) -> None:
        self.console = console
        self.live = console.is_terminal
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            console=console,
            transient=False,
            disable=not self.live,
        )
        self._tasks: dict[str, TaskID] = {}
        self._last_status: dict[str, str] = {}
        self._totals: dict[str, int] = {}

    def __enter__(self) -> PullRenderer:
        self.progress.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.progress.stop()

    def _say(self, text: str) -> None:
        self.console.print(text, highlight=False, markup=False)

    def feed(self, item: dict[str, Any]) -> None:
        """Show one progress object."""
        status = str(item.get("status") or "")
        node = item.get("node")
        where = f"[{node}] " if node else ""
        if status == "done":
            self._say(f"{where}pulled {item.get('image', '')}".strip())
            return
        layer = item.get("id")
        if not layer or status.startswith("Pulling from"):
            if status:
                self._say(f"{where}{layer + ': ' if layer else ''}{status}")
            return
        key = f"{node or ''}/{layer}"
        if self.live:
            self._update_bar(key, f"{where}{layer}: {status}", status, item)
        elif status not in CHATTY_STATES and self._last_status.get(key) != status:
            self._say(f"{where}{layer}: {status}")
        self._last_status[key] = status

    def _update_bar(self, key: str, description: str, status: str, item: dict[str, Any]) -> None:
        task = self._tasks.get(key)
        if task is None:
            task = self._tasks[key] = self.progress.add_task(description, total=None)
        current, total = _numbers(item)
        if total is not None:
            self._totals[key] = total
            self.progress.update(
                task, description=description, total=total, completed=min(current or 0, total)
            )
        elif status in FINAL_STATES:
            done = self._totals.get(key, 1)
            self.progress.update(task, description=description, total=done, completed=done)
        else:
            self.progress.update(task, description=description)
