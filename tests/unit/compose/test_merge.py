"""Several files merged in order, with Compose's override semantics."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.unit.compose.helpers import load, service_data, write

if TYPE_CHECKING:
    from pathlib import Path


def test_three_files_merge_in_order(tmp_path: Path) -> None:
    write(
        tmp_path,
        "base.yaml",
        """
        services:
          web:
            image: web:1
            command: [serve, --port, "80"]
            environment: {A: base, B: base}
            labels: [tier=web]
            ports: ["8080:80"]
            expose: ["3000"]
            dns: [1.1.1.1]
            volumes: [data:/data, ./conf:/conf:ro]
            depends_on: [db]
            healthcheck: {test: [CMD, probe], interval: 10s, retries: 3}
            deploy: {replicas: 2, update_config: {parallelism: 1, order: stop-first}}
          db:
            image: db:1
        volumes:
          data:
    """,
    )
    write(
        tmp_path,
        "override.yaml",
        """
        services:
          web:
            image: web:2
            command: serve --debug
            environment: [B=override, C=new]
            labels: {owner: team}
            ports: ["8080:80", "9090:90"]
            expose: ["3000", "3001"]
            dns: [9.9.9.9]
            volumes: ["./conf-dev:/conf"]
            depends_on:
              cache: {condition: service_healthy}
            healthcheck: {test: [CMD, other-probe]}
            deploy: {update_config: {order: start-first}}
          cache:
            image: cache:1
    """,
    )
    write(
        tmp_path,
        "prod.yaml",
        """
        services:
          web:
            deploy: {replicas: 5}
            environment: {A: prod}
    """,
    )
    web = service_data(load(tmp_path, "base.yaml", "override.yaml", "prod.yaml"), "web")
    assert web["image"] == "web:2"
    assert web["command"] == ["serve", "--debug"]  # replaced, not appended
    assert web["environment"] == {"A": "prod", "B": "override", "C": "new"}
    assert web["labels"] == {"tier": "web", "owner": "team"}
    assert [p.get("published") for p in web["ports"]] == ["8080", "9090"]  # unique append
    assert web["expose"] == ["3000", "3001"]
    assert web["dns"] == ["1.1.1.1", "9.9.9.9"]
    # volumes merge by target: /conf is replaced by the later file, /data stays
    assert [(v["target"], v["source"].rsplit("/", 1)[-1]) for v in web["volumes"]] == [
        ("/data", "data"),
        ("/conf", "conf-dev"),
    ]
    assert set(web["depends_on"]) == {"db", "cache"}
    assert web["depends_on"]["cache"]["condition"] == "service_healthy"
    assert web["healthcheck"] == {"test": ["CMD", "other-probe"], "interval": 10.0, "retries": 3}
    assert web["deploy"] == {
        "replicas": 5,
        "update_config": {"parallelism": 1, "order": "start-first"},
    }


def test_reset_and_override_tags(tmp_path: Path) -> None:
    write(
        tmp_path,
        "base.yaml",
        """
        services:
          web:
            image: web:1
            ports: ["80:80", "443:443"]
            environment: {A: "1", B: "2"}
            healthcheck: {test: [CMD, probe], interval: 5s}
    """,
    )
    write(
        tmp_path,
        "override.yaml",
        """
        services:
          web:
            ports: !reset []
            environment: !override {C: "3"}
            healthcheck: !reset
    """,
    )
    web = service_data(load(tmp_path, "base.yaml", "override.yaml"), "web")
    assert "ports" not in web
    assert "healthcheck" not in web
    assert web["environment"] == {"C": "3"}


def test_relative_paths_resolve_against_their_own_file(tmp_path: Path) -> None:
    write(tmp_path, "compose.yaml", "services:\n  s:\n    build: ./app\n")
    write(tmp_path, "sub/extra.yaml", "services:\n  s:\n    volumes: [./data:/data]\n")
    s = service_data(load(tmp_path, "compose.yaml", "sub/extra.yaml"), "s")
    assert s["build"]["context"] == str(tmp_path / "app")
    assert s["volumes"][0]["source"] == str(tmp_path / "sub" / "data")


def test_service_only_in_override_and_top_level_resources_merge(tmp_path: Path) -> None:
    write(
        tmp_path,
        "a.yaml",
        """
        services:
          a: {image: a}
        networks:
          net: {driver: bridge, labels: {x: "1"}}
    """,
    )
    write(
        tmp_path,
        "b.yaml",
        """
        services:
          b: {image: b, networks: [net]}
        networks:
          net: {labels: {y: "2"}, internal: true}
    """,
    )
    data = load(tmp_path, "a.yaml", "b.yaml").to_data()
    assert set(data["services"]) == {"a", "b"}
    assert data["networks"]["net"]["labels"] == {"x": "1", "y": "2"}
    assert data["networks"]["net"]["driver"] == "bridge"
    assert data["networks"]["net"]["internal"] is True


def test_reset_networks_falls_back_to_default_and_override_whole_service(tmp_path: Path) -> None:
    write(
        tmp_path,
        "base.yaml",
        """
        services:
          web: {image: web:1, networks: [front], ports: ["80:80"]}
          db: {image: db:1, environment: {A: "1"}}
        networks:
          front:
    """,
    )
    write(
        tmp_path,
        "override.yaml",
        """
        services:
          web:
            networks: !reset null
          db: !override
            image: db:2
    """,
    )
    project = load(tmp_path, "base.yaml", "override.yaml")
    assert set(project.services["web"].networks) == {"default"}
    assert project.services["db"].environment == {}
    assert project.services["db"].image == "db:2"
    # the class default was not mutated by resolving
    assert load(tmp_path, "base.yaml").services["db"].networks.keys() == {"default"}


def test_logging_driver_change_drops_options_and_hosts_replace(tmp_path: Path) -> None:
    write(
        tmp_path,
        "base.yaml",
        """
        services:
          web:
            image: x
            logging: {driver: json-file, options: {max-size: 10m}}
            extra_hosts: ["db:10.0.0.2", "cache:10.0.0.3"]
          db:
            image: y
            logging: {driver: json-file, options: {max-size: 10m}}
    """,
    )
    write(
        tmp_path,
        "override.yaml",
        """
        services:
          web:
            logging: {driver: syslog, options: {tag: web}}
            extra_hosts: {db: 10.0.0.9}
          db:
            logging: {options: {max-file: "3"}}
    """,
    )
    project = load(tmp_path, "base.yaml", "override.yaml")
    web, db = project.services["web"], project.services["db"]
    assert web.logging is not None and web.logging.options == {"tag": "web"}
    assert web.extra_hosts == {"db": ["10.0.0.9"], "cache": ["10.0.0.3"]}
    assert db.logging is not None and db.logging.driver == "json-file"
    assert db.logging.options == {"max-size": "10m", "max-file": "3"}
