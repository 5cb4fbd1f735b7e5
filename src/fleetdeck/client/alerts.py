"""Client methods for alerting: alerts, rules, silences, maintenance, channels, deliveries."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fleetdeck.client.base import BaseClient, quote_segment
from fleetdeck.wire.alerts import (
    Alert,
    AlertPage,
    Channel,
    Delivery,
    MaintenanceWindow,
    Rule,
    Silence,
)

if TYPE_CHECKING:
    from datetime import datetime

#: How long ``test_channel`` waits for the server's answer (it waits for the send).
TEST_TIMEOUT_S = 90.0


def _period(
    duration: str | None, ends_at: datetime | None, starts_at: datetime | None
) -> dict[str, Any]:
    return {
        "duration": duration,
        "ends_at": ends_at.isoformat() if ends_at else None,
        "starts_at": starts_at.isoformat() if starts_at else None,
    }


class AlertsAPI(BaseClient):
    """Routes under ``/alerts``, ``/rules``, ``/silences``, ``/maintenance``, ``/channels``."""

    def list_alerts(
        self,
        *,
        state: str | None = None,
        rule: str | None = None,
        environment: str | None = None,
        limit: int = 200,
    ) -> AlertPage:
        """``GET /alerts`` (``state``: pending, firing, resolved or active)."""
        params = {"state": state, "rule": rule, "environment": environment, "limit": limit}
        return AlertPage.model_validate(self._request("GET", "/alerts", params=params))

    def get_alert(self, alert_id: str) -> Alert:
        """``GET /alerts/{id}``."""
        return Alert.model_validate(self._request("GET", f"/alerts/{quote_segment(alert_id)}"))

    def ack_alert(self, alert_id: str) -> Alert:
        """``POST /alerts/{id}/ack``: no more repeats while it fires."""
        path = f"/alerts/{quote_segment(alert_id)}/ack"
        return Alert.model_validate(self._request("POST", path))

    # ------------------------------------------------------------ rules
    def list_rules(self) -> list[Rule]:
        """``GET /rules``."""
        return [Rule.model_validate(r) for r in self._request("GET", "/rules")]

    def get_rule(self, name: str) -> Rule:
        """``GET /rules/{name}``."""
        return Rule.model_validate(self._request("GET", f"/rules/{quote_segment(name)}"))

    def create_rule(self, spec: dict[str, Any]) -> Rule:
        """``POST /rules`` with the keys of a rule (``for`` and ``window`` as ``5m`` or seconds)."""
        return Rule.model_validate(self._request("POST", "/rules", json_body=spec))

    def update_rule(self, name: str, changes: dict[str, Any]) -> Rule:
        """``PATCH /rules/{name}``."""
        path = f"/rules/{quote_segment(name)}"
        return Rule.model_validate(self._request("PATCH", path, json_body=changes))

    def set_rule_enabled(self, name: str, enabled: bool) -> Rule:
        """``POST /rules/{name}/enable`` or ``/disable``."""
        path = f"/rules/{quote_segment(name)}/{'enable' if enabled else 'disable'}"
        return Rule.model_validate(self._request("POST", path))

    def delete_rule(self, name: str) -> None:
        """``DELETE /rules/{name}`` (user rules only)."""
        self._request("DELETE", f"/rules/{quote_segment(name)}")

    # ------------------------------------------------------------ silences, maintenance
    def list_silences(self) -> list[Silence]:
        """``GET /silences``."""
        return [Silence.model_validate(s) for s in self._request("GET", "/silences")]

    def create_silence(
        self,
        matchers: list[str],
        *,
        duration: str | None = None,
        ends_at: datetime | None = None,
        starts_at: datetime | None = None,
        comment: str = "",
    ) -> Silence:
        """``POST /silences``: give ``duration`` (``2h``) or ``ends_at``."""
        body = {"matchers": matchers, "comment": comment, **_period(duration, ends_at, starts_at)}
        return Silence.model_validate(
            self._request("POST", "/silences", json_body=_drop_none(body))
        )

    def expire_silence(self, silence_id: str) -> Silence:
        """``DELETE /silences/{id}``: end it now."""
        path = f"/silences/{quote_segment(silence_id)}"
        return Silence.model_validate(self._request("DELETE", path))

    def list_maintenance(self) -> list[MaintenanceWindow]:
        """``GET /maintenance``."""
        return [MaintenanceWindow.model_validate(m) for m in self._request("GET", "/maintenance")]

    def create_maintenance(
        self,
        environment: str,
        *,
        duration: str | None = None,
        ends_at: datetime | None = None,
        starts_at: datetime | None = None,
        reason: str = "",
    ) -> MaintenanceWindow:
        """``POST /maintenance``: the environment's alerts notify nobody for a while."""
        body = {
            "environment": environment,
            "reason": reason,
            **_period(duration, ends_at, starts_at),
        }
        data = self._request("POST", "/maintenance", json_body=_drop_none(body))
        return MaintenanceWindow.model_validate(data)

    def end_maintenance(self, window_id: str) -> MaintenanceWindow:
        """``DELETE /maintenance/{id}``: end it now."""
        path = f"/maintenance/{quote_segment(window_id)}"
        return MaintenanceWindow.model_validate(self._request("DELETE", path))

    # ------------------------------------------------------------ channels, deliveries
    def list_channels(self) -> list[Channel]:
        """``GET /channels``."""
        return [Channel.model_validate(c) for c in self._request("GET", "/channels")]

    def create_channel(
        self, name: str, url: str, *, min_severity: str = "info", enabled: bool = True
    ) -> Channel:
        """``POST /channels`` with an Apprise URL."""
        body = {"name": name, "url": url, "min_severity": min_severity, "enabled": enabled}
        return Channel.model_validate(self._request("POST", "/channels", json_body=body))

    def update_channel(self, name: str, changes: dict[str, Any]) -> Channel:
        """``PATCH /channels/{name}`` (``url``, ``min_severity``, ``enabled``)."""
        path = f"/channels/{quote_segment(name)}"
        return Channel.model_validate(self._request("PATCH", path, json_body=changes))

    def reveal_channel_url(self, name: str) -> str:
        """``GET /channels/{name}/url``: the stored URL in clear (admins; audited)."""
        answer = self._request("GET", f"/channels/{quote_segment(name)}/url")
        return str(answer["url"])

    def delete_channel(self, name: str) -> None:
        """``DELETE /channels/{name}``."""
        self._request("DELETE", f"/channels/{quote_segment(name)}")

    def test_channel(self, name: str) -> Delivery:
        """``POST /channels/{name}/test``: send a test notification; how it went."""
        path = f"/channels/{quote_segment(name)}/test"
        # The server waits for the attempt (up to its delivery timeout, 20 s by default).
        return Delivery.model_validate(self._request("POST", path, timeout=TEST_TIMEOUT_S))

    def list_deliveries(
        self, *, channel: str | None = None, status: str | None = None, limit: int = 100
    ) -> list[Delivery]:
        """``GET /deliveries``, newest first."""
        params = {"channel": channel, "status": status, "limit": limit}
        return [
            Delivery.model_validate(d) for d in self._request("GET", "/deliveries", params=params)
        ]


def _drop_none(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if v is not None}
