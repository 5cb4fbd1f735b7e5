"""Client methods for volume backups: policies, runs, restores."""

from __future__ import annotations

from typing import Any

from fleetdeck.client.backups import BACKUP_TIMEOUT_S
from fleetdeck.client.base import BaseClient, parse, parse_list, quote_segment
from fleetdeck.wire.volume_backups import VolumeBackupPolicy, VolumeBackupRun, VolumeRestoreResult


class VolumeBackupsAPI(BaseClient):
    """The ``/backups/volumes`` routes (admin only)."""

    def list_volume_backups(
        self, limit: int = 100, policy: str | None = None
    ) -> list[VolumeBackupRun]:
        """``GET /backups/volumes``: newest first."""
        params: dict[str, Any] = {"limit": limit}
        if policy is not None:
            params["policy"] = policy
        return parse_list(VolumeBackupRun, self._request("GET", "/backups/volumes", params=params))

    def create_volume_backup(self, policy: str) -> list[VolumeBackupRun]:
        """``POST /backups/volumes``: back a policy's volumes up now (one run each)."""
        answer = self._request(
            "POST", "/backups/volumes", json_body={"policy": policy}, timeout=BACKUP_TIMEOUT_S
        )
        return parse_list(VolumeBackupRun, answer)

    def restore_volume_backup(self, backup: str, **fields: Any) -> VolumeRestoreResult:
        """``POST /backups/volumes/restore``: into the same volume, a new one, another node."""
        body = {"backup": backup, **{k: v for k, v in fields.items() if v is not None}}
        answer = self._request(
            "POST", "/backups/volumes/restore", json_body=body, timeout=BACKUP_TIMEOUT_S
        )
        return parse(VolumeRestoreResult, answer)

    def list_volume_backup_policies(self) -> list[VolumeBackupPolicy]:
        """``GET /backups/volumes/policies``."""
        return parse_list(VolumeBackupPolicy, self._request("GET", "/backups/volumes/policies"))

    def add_volume_backup_policy(self, **fields: Any) -> VolumeBackupPolicy:
        """``POST /backups/volumes/policies`` (None fields keep the server's defaults).

        ``interval_s`` is sent when given, None included (no schedule: on demand only).
        """
        body = {k: v for k, v in fields.items() if v is not None or k == "interval_s"}
        return parse(
            VolumeBackupPolicy, self._request("POST", "/backups/volumes/policies", json_body=body)
        )

    def remove_volume_backup_policy(self, name: str) -> None:
        """``DELETE /backups/volumes/policies/{name}``."""
        self._request("DELETE", f"/backups/volumes/policies/{quote_segment(name)}")
