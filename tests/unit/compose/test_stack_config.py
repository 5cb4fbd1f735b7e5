"""A realistic stack through the loader and through ``fleetdeck stack config``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import TYPE_CHECKING, Any

import yaml

from fleetdeck.compose import load_project, startup_order
from tests.unit.compose.helpers import write

if TYPE_CHECKING:
    from pathlib import Path

STACK = """
    name: shop
    x-defaults: &defaults
      restart: unless-stopped
      logging:
        driver: json-file
        options: {max-size: 10m}

    services:
      web:
        <<: *defaults
        image: ${REGISTRY:-registry.lab:5000}/shop-web:${WEB_TAG:?set WEB_TAG}
        ports:
          - target: 8080
            published: 80
            mode: host
        environment:
          DATABASE_URL: postgres://shop@db/shop
          WORKERS: 4
        networks:
          front:
            aliases: [shop]
          back:
        depends_on:
          db: {condition: service_healthy}
        healthcheck:
          test: wget -qO- http://localhost:8080/health || exit 1
          interval: 10s
          timeout: 2s
          retries: 3
          start_period: 30s
        secrets:
          - source: db_password
            target: /run/secrets/db_password
            mode: 0440
        deploy:
          replicas: 3
          endpoint_mode: dnsrr
          update_config: {parallelism: 1, delay: 5s, order: start-first, failure_action: rollback}
          rollback_config: {parallelism: 1, order: stop-first}
          resources:
            limits: {cpus: "0.50", memory: 256M}
      db:
        <<: *defaults
        image: registry.lab:5000/postgres:16
        environment:
          POSTGRES_PASSWORD_FILE: /run/secrets/db_password
        volumes: [pgdata:/var/lib/postgresql/data]
        networks: [back]
        secrets: [db_password]
        healthcheck:
          test: [CMD, pg_isready, -U, shop]
          interval: 5s
        stop_grace_period: 1m
        shm_size: 128m
      worker:
        <<: *defaults
        build:
          context: ./worker
          args: {CUDA: "12"}
        command: python -m worker --queue default
        env_file: worker.env
        depends_on:
          db: {condition: service_healthy}
          web: {condition: service_started}
        networks: [back]
        configs:
          - source: worker_conf
            target: /etc/worker.toml
        deploy:
          resources:
            reservations:
              devices:
                - driver: nvidia
                  count: 1
                  capabilities: [gpu]
        ulimits:
          nofile: {soft: 65536, hard: 65536}

    networks:
      front:
      back:
        internal: true
    volumes:
      pgdata:
    secrets:
      db_password:
        file: ./secrets/db_password.txt
    configs:
      worker_conf:
        content: |
          queue = "default"
"""

SECRET_VALUE = "s3cr3t-value-never-printed"  # noqa: S105 - a test value


def make_stack(directory: Path) -> Path:
    write(directory, "secrets/db_password.txt", SECRET_VALUE + "\n")
    write(directory, "worker.env", "QUEUE_URL=redis://cache\n")
    return write(directory, "compose.yaml", STACK)


def run_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "fleetdeck", "stack", "config", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_realistic_stack_loads(tmp_path: Path) -> None:
    compose = make_stack(tmp_path)
    project = load_project([compose], env={"WEB_TAG": "1.4.2"})
    web, db, worker = (project.services[n] for n in ("web", "db", "worker"))
    assert web.image == "registry.lab:5000/shop-web:1.4.2"
    assert web.restart == "unless-stopped" and web.logging is not None
    assert web.ports[0].mode == "host" and web.ports[0].published == "80"
    assert web.environment["WORKERS"] == "4"
    assert web.networks["front"].aliases == ["shop"]
    assert web.healthcheck is not None and web.healthcheck.start_period == 30.0
    assert web.secrets[0].mode == 0o440
    assert web.deploy is not None and web.deploy.update_config is not None
    assert web.deploy.update_config.order == "start-first"
    assert db.stop_grace_period == 60.0 and db.shm_size == 128 << 20
    assert worker.command == ["python", "-m", "worker", "--queue", "default"]
    assert worker.environment == {"QUEUE_URL": "redis://cache"}
    assert worker.build is not None and worker.build.context == str(tmp_path / "worker")
    assert worker.deploy is not None and worker.deploy.resources is not None
    reservations = worker.deploy.resources.reservations
    assert reservations is not None and reservations.devices[0].capabilities == ["gpu"]
    assert project.secrets["db_password"].file == str(tmp_path / "secrets/db_password.txt")
    assert startup_order(project) == [["db"], ["web"], ["worker"]]


def test_stack_config_json_round_trips(tmp_path: Path) -> None:
    make_stack(tmp_path)
    result = run_cli("-f", "compose.yaml", "-o", "json", cwd=tmp_path, env={"WEB_TAG": "1.4.2"})
    assert result.returncode == 0, result.stderr
    assert SECRET_VALUE not in result.stdout
    first: dict[str, Any] = json.loads(result.stdout)
    assert first["name"] == "shop"
    assert first["services"]["web"]["deploy"]["update_config"]["delay"] == 5.0
    # The printed project is itself a valid compose file that loads to the same project.
    (tmp_path / "resolved.json").write_text(result.stdout, encoding="utf-8")
    again = run_cli("-f", "resolved.json", "-o", "json", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout) == first


def test_stack_config_yaml_profiles_and_env_file(tmp_path: Path) -> None:
    make_stack(tmp_path)
    write(tmp_path, "prod.env", "WEB_TAG=9.9.9\n")
    write(
        tmp_path,
        "debug.yaml",
        """
        services:
          debug:
            image: tools
            profiles: [debug]
    """,
    )
    args = ["-f", "compose.yaml", "-f", "debug.yaml", "--env-file", "prod.env"]
    plain = run_cli(*args, "-p", "other", cwd=tmp_path)
    assert plain.returncode == 0, plain.stderr
    data = yaml.safe_load(plain.stdout)
    assert data["name"] == "other"
    assert data["services"]["web"]["image"].endswith(":9.9.9")
    assert "debug" not in data["services"]
    with_profile = run_cli(*args, "--profile", "debug", cwd=tmp_path)
    assert "debug" in yaml.safe_load(with_profile.stdout)["services"]


def test_stack_config_bad_input_exits_2_without_traceback(tmp_path: Path) -> None:
    make_stack(tmp_path)
    missing_var = run_cli("-f", "compose.yaml", cwd=tmp_path, env={"WEB_TAG": ""})
    assert missing_var.returncode == 2
    assert "compose.yaml:11: services.web.image: required variable WEB_TAG" in missing_var.stderr
    assert "Traceback" not in missing_var.stderr
    write(tmp_path, "typo.yaml", "services:\n  web:\n    imgae: x\n")
    typo = run_cli("-f", "typo.yaml", cwd=tmp_path)
    assert typo.returncode == 2
    assert "typo.yaml:3: unknown key 'imgae' in services.web" in typo.stderr
    assert "did you mean 'image'?" in typo.stderr
    assert "Traceback" not in typo.stderr
    absent = run_cli("-f", "absent.yaml", cwd=tmp_path)
    assert absent.returncode == 2 and "cannot read compose file" in absent.stderr


def test_stack_config_finds_the_default_file_and_warns(tmp_path: Path) -> None:
    write(tmp_path, "compose.yaml", "services:\n  web:\n    image: web:${TAG}\n")
    env_without_tag = {k: v for k, v in os.environ.items() if k != "TAG"}
    result = subprocess.run(
        [sys.executable, "-m", "fleetdeck", "stack", "config"],
        cwd=tmp_path,
        env=env_without_tag,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "warning: variable TAG is not set" in result.stderr
    assert yaml.safe_load(result.stdout)["services"]["web"]["image"] == "web:"
