"""The server's own routes, one module per resource, all mounted under ``/api/v1``."""

API_PREFIX = "/api/v1"
#: The agent's distribution for installs from the server (server/install/api.py), no login.
INSTALL_PREFIX = "/install"
