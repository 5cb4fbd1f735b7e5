"""A stack file as the API takes it: ``{name, content}`` for UTF-8 text, else base64.

Build contexts hold archives, images and files in other encodings; sending them as text
would change their bytes, so anything that is not UTF-8 goes as ``content_base64``.
"""

from __future__ import annotations

import base64


def stack_file(name: str, data: bytes) -> dict[str, str]:
    """The request entry for the file ``name`` holding ``data`` (its exact bytes)."""
    try:
        return {"name": name, "content": data.decode("utf-8")}
    except UnicodeDecodeError:
        return {"name": name, "content_base64": base64.b64encode(data).decode()}


def file_bytes(entry: dict[str, str]) -> bytes:
    """The bytes of an entry as the API serves it (``content`` or ``content_base64``)."""
    if "content_base64" in entry:
        return base64.b64decode(entry["content_base64"])
    return entry["content"].encode()
