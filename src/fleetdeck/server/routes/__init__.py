"""The server's own routes, one module per resource, all mounted under ``/api/v1``."""

API_PREFIX = "/api/v1"
