"""Client methods for server backups: runs, verification, schedule, targets."""

from __future__ import annotations

from typing import Any

from fleetdeck.client.base import BaseClient, parse, parse_list, quote_segment
from fleetdeck.wire.backups import (
    BackupRun,
    BackupSchedule,
    BackupTarget,
    BackupVerification,
)

#: A backup or a verification reads the whole store and talks to the target: give it time.
BACKUP_TIMEOUT_S = 3600.0


class BackupsAPI(BaseClient):
    """The ``/backups`` routes (admin only)."""

    def list_backups(self, limit: int = 100) -> list[BackupRun]:
        """``GET /backups``: newest first."""
        return parse_list(BackupRun, self._request("GET", "/backups", params={"limit": limit}))

    def create_backup(self, target: str | None = None, passphrase: str | None = None) -> BackupRun:
        """``POST /backups``: back the server up now (returns once written and verified)."""
        body: dict[str, Any] = {}
        if target is not None:
            body["target"] = target
        if passphrase is not None:
            body["passphrase"] = passphrase
        answer = self._request("POST", "/backups", json_body=body, timeout=BACKUP_TIMEOUT_S)
        return parse(BackupRun, answer)

    def verify_backup(
        self,
        target: str | None = None,
        snapshot: str | None = None,
        passphrase: str | None = None,
        read_data: bool = False,
    ) -> BackupVerification:
        """``POST /backups/verify``: check the repository, read a backup's manifest back."""
        body: dict[str, Any] = {"read_data": read_data}
        for key, value in (("target", target), ("snapshot", snapshot), ("passphrase", passphrase)):
            if value is not None:
                body[key] = value
        answer = self._request("POST", "/backups/verify", json_body=body, timeout=BACKUP_TIMEOUT_S)
        return parse(BackupVerification, answer)

    def backup_schedule(self) -> BackupSchedule:
        """``GET /backups/schedule``."""
        return parse(BackupSchedule, self._request("GET", "/backups/schedule"))

    def set_backup_schedule(
        self, enabled: bool, interval_s: float | None = None, target: str | None = None
    ) -> BackupSchedule:
        """``PUT /backups/schedule``."""
        body: dict[str, Any] = {"enabled": enabled}
        if interval_s is not None:
            body["interval_s"] = interval_s
        if target is not None:
            body["target"] = target
        return parse(BackupSchedule, self._request("PUT", "/backups/schedule", json_body=body))

    def list_backup_targets(self) -> list[BackupTarget]:
        """``GET /backups/targets``."""
        return parse_list(BackupTarget, self._request("GET", "/backups/targets"))

    def add_backup_target(self, name: str, destination: str, **fields: Any) -> BackupTarget:
        """``POST /backups/targets`` (``fields``: known_hosts, ssh_key, keep_daily, …)."""
        body = {"name": name, "destination": destination}
        body.update({k: v for k, v in fields.items() if v is not None})
        return parse(BackupTarget, self._request("POST", "/backups/targets", json_body=body))

    def remove_backup_target(self, name: str) -> None:
        """``DELETE /backups/targets/{name}``."""
        self._request("DELETE", f"/backups/targets/{quote_segment(name)}")
