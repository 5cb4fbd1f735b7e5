"""Byte counts as people read them (``12.3 MiB``), the same in the CLI and the UI."""

from __future__ import annotations


def format_bytes(value: int | None) -> str:
    """Bytes in binary units, one decimal (``—`` for None)."""
    if value is None:
        return "—"
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return str(value)  # not reached
