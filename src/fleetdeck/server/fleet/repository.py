"""The fleet's persistence (environments, nodes, join tokens, revoked certificates) in the store."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from fleetdeck.errors import ConflictError, NotFoundError, PermissionDeniedError
from fleetdeck.server.fleet.records import EnvironmentRecord, NodeRecord
from fleetdeck.server.store.models import Environment, JoinToken, Node, RevokedCert

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from fleetdeck.server.store import Store


async def _env_row(session: AsyncSession, name: str) -> Environment:
    row = await session.scalar(select(Environment).where(Environment.name == name))
    if row is None:
        raise NotFoundError(f"no environment {name!r}")
    return row


class SqlFleetRepository:
    """:class:`~fleetdeck.server.fleet.service.FleetRepository` over the SQLAlchemy store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def list_environments(self) -> list[EnvironmentRecord]:
        """Every environment with its nodes."""
        async with self.store.session() as session:
            envs = (await session.scalars(select(Environment).order_by(Environment.name))).all()
            nodes = (await session.scalars(select(Node).order_by(Node.name))).all()
        by_env: dict[str, list[NodeRecord]] = {}
        for node in nodes:
            by_env.setdefault(node.environment_id, []).append(
                NodeRecord(
                    name=node.name,
                    hostname=node.hostname,
                    agent_url=node.agent_url,
                    cert_serial=node.cert_serial,
                    enrolled_at=node.enrolled_at,
                    agent_version=node.agent_version,
                    agent_protocol=node.agent_protocol,
                    agent_commit=node.agent_commit,
                )
            )
        return [
            EnvironmentRecord(
                name=e.name,
                kind=e.kind,
                docker_host=e.docker_host,
                tags=list(e.tags),
                groups=list(e.groups),
                created_at=e.created_at,
                nodes=by_env.get(e.id, []),
            )
            for e in envs
        ]

    async def create_environment(self, env: EnvironmentRecord) -> None:
        """Insert an environment; ConflictError if the name is taken."""
        try:
            async with self.store.transaction() as session:
                session.add(
                    Environment(
                        name=env.name,
                        kind=env.kind,
                        docker_host=env.docker_host,
                        tags=env.tags,
                        groups=env.groups,
                        created_at=env.created_at,
                    )
                )
        except IntegrityError as exc:
            raise ConflictError(f"environment {env.name!r} exists already") from exc

    async def update_environment(self, name: str, tags: list[str], groups: list[str]) -> None:
        """Replace an environment's tags and groups."""
        async with self.store.transaction() as session:
            row = await _env_row(session, name)
            row.tags, row.groups = tags, groups

    async def delete_environment(self, name: str) -> None:
        """Delete an environment; its nodes and join tokens go with it (cascade)."""
        async with self.store.transaction() as session:
            row = await _env_row(session, name)
            await session.execute(delete(Node).where(Node.environment_id == row.id))
            await session.execute(delete(JoinToken).where(JoinToken.environment_id == row.id))
            await session.delete(row)

    async def add_join_token(
        self, environment: str, secret_hash: str, expires_at: datetime, created_by: str
    ) -> None:
        """Store a join token (hashed)."""
        async with self.store.transaction() as session:
            row = await _env_row(session, environment)
            session.add(
                JoinToken(
                    environment_id=row.id,
                    secret_hash=secret_hash,
                    created_by=created_by,
                    expires_at=expires_at,
                )
            )

    async def consume_join_token(self, secret_hash: str, now: datetime) -> str:
        """Mark a join token used and return its environment's name (single use)."""
        async with self.store.transaction() as session:
            # FOR UPDATE: on PostgreSQL a concurrent enrolment waits here and then sees used_at.
            token = await session.scalar(
                select(JoinToken).where(JoinToken.secret_hash == secret_hash).with_for_update()
            )
            _check_usable(token, now)
            assert token is not None  # noqa: S101 - _check_usable refused None
            token.used_at = now
            env = await session.get(Environment, token.environment_id)
            assert env is not None  # noqa: S101 - the foreign key guarantees it
            return env.name

    async def check_join_token(self, secret_hash: str, now: datetime) -> tuple[str, datetime]:
        """The environment and expiry of a usable join token, without using it."""
        async with self.store.session() as session:
            token = await session.scalar(
                select(JoinToken).where(JoinToken.secret_hash == secret_hash)
            )
            _check_usable(token, now)
            assert token is not None  # noqa: S101 - _check_usable refused None
            env = await session.get(Environment, token.environment_id)
            assert env is not None  # noqa: S101 - the foreign key guarantees it
            return env.name, _aware(token.expires_at)

    async def upsert_node(self, environment: str, node: NodeRecord) -> None:
        """Insert a node, or replace the one of the same name in the environment."""
        async with self.store.transaction() as session:
            env = await _env_row(session, environment)
            await session.execute(
                delete(Node).where(Node.environment_id == env.id, Node.name == node.name)
            )
            session.add(
                Node(
                    environment_id=env.id,
                    name=node.name,
                    hostname=node.hostname,
                    agent_url=node.agent_url,
                    cert_serial=node.cert_serial,
                    cert_fingerprint="",
                    enrolled_at=node.enrolled_at,
                )
            )

    async def record_agent(
        self, environment: str, node: str, version: str | None, protocol: int, commit: str | None
    ) -> None:
        """Remember what a node's agent reported (nothing if the node is gone meanwhile)."""
        async with self.store.transaction() as session:
            env = await session.scalar(select(Environment).where(Environment.name == environment))
            if env is None:
                return
            await session.execute(
                update(Node)
                .where(Node.environment_id == env.id, Node.name == node)
                .values(agent_version=version, agent_protocol=protocol, agent_commit=commit)
            )

    async def revoke(self, serials: list[str], reason: str) -> None:
        """Record certificate serials as revoked."""
        if not serials:
            return
        async with self.store.transaction() as session:
            for serial in serials:
                if await session.get(RevokedCert, serial) is None:
                    session.add(
                        RevokedCert(serial=serial, reason=reason, revoked_at=datetime.now(UTC))
                    )

    async def revoked(self) -> set[str]:
        """Every revoked certificate serial."""
        async with self.store.session() as session:
            return set((await session.scalars(select(RevokedCert.serial))).all())


def _aware(moment: datetime) -> datetime:
    """SQLite hands datetimes back naive; they were stored in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _check_usable(token: JoinToken | None, now: datetime) -> None:
    """Refuse a join token that is unknown, used or expired (one message each)."""
    hint = "get a new one with: fleetdeck env token ENV"
    if token is None:
        raise PermissionDeniedError("unknown join token", hint=hint)
    if token.used_at is not None:
        raise PermissionDeniedError(
            "this join token was used already (tokens are single use)", hint=hint
        )
    if _aware(token.expires_at) <= now:
        raise PermissionDeniedError("this join token has expired", hint=hint)
