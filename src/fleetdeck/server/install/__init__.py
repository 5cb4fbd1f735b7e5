"""Agent install from the server: the distribution it serves and the lines it prints."""

from fleetdeck.server.install.api import router

__all__ = ["router"]
