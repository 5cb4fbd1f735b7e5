"""Bad input is rejected with the file, the line and the key."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from fleetdeck.errors import InvalidInputError
from tests.unit.compose.helpers import load, write

if TYPE_CHECKING:
    from pathlib import Path


def error_for(tmp_path: Path, text: str, **kwargs: object) -> InvalidInputError:
    write(tmp_path, "compose.yaml", text)
    with pytest.raises(InvalidInputError) as info:
        load(tmp_path, "compose.yaml", **kwargs)
    return info.value


@pytest.mark.parametrize(
    ("text", "message", "hint"),
    [
        (  # unknown service key, with a suggestion
            "services:\n  web:\n    image: x\n    helthcheck:\n      test: [CMD, x]\n",
            "compose.yaml:4: unknown key 'helthcheck' in services.web",
            "did you mean 'healthcheck'?",
        ),
        (  # unknown top-level key
            "services:\n  web:\n    image: x\nservics: {}\n",
            "compose.yaml:4: unknown key 'servics' at the top level",
            "did you mean 'services'?",
        ),
        (  # an unsupported key is never silently dropped
            "services:\n  web:\n    image: x\n    develop:\n      watch: []\n",
            "compose.yaml:4: unknown key 'develop' in services.web",
            "docs/stacks.md",
        ),
        (  # unknown nested key
            "services:\n  web:\n    image: x\n    deploy:\n      update_config:\n"
            "        paralelism: 2\n",
            "compose.yaml:6: unknown key 'paralelism' in services.web.deploy.update_config",
            "did you mean 'parallelism'?",
        ),
        (  # wrong type
            "services:\n  web:\n    image: x\n    deploy:\n      replicas: three\n",
            "compose.yaml:5: services.web.deploy.replicas: Input should be a valid integer",
            None,
        ),
        (  # wrong type: a mapping where a list is expected
            "services:\n  web:\n    image: x\n    ports: {http: 80}\n",
            "compose.yaml:4: services.web.ports: ports must be a list",
            None,
        ),
        (  # bad port, named by its item
            "services:\n  web:\n    image: x\n    ports:\n      - 80:80\n      - 80:abc\n",
            "compose.yaml:6: services.web.ports[1]: invalid port '80:abc'",
            None,
        ),
        (  # bad long-syntax port
            "services:\n  web:\n    image: x\n    ports:\n      - target: 80\n        mode: hots\n",
            "compose.yaml:6: services.web.ports[0].mode: Input should be 'ingress' or 'host'",
            "docs/stacks.md",
        ),
        (  # bad duration
            "services:\n  web:\n    image: x\n    healthcheck:\n      interval: 10 parsecs\n",
            "compose.yaml:5: services.web.healthcheck.interval: invalid duration '10 parsecs'",
            None,
        ),
        (  # bad size
            "services:\n  web:\n    image: x\n    shm_size: lots\n",
            "compose.yaml:4: services.web.shm_size: invalid size 'lots'",
            None,
        ),
        (  # bad enum value
            "services:\n  web:\n    image: x\n    restart: sometimes\n",
            "compose.yaml:4: services.web.restart: String should match pattern",
            "docs/stacks.md",
        ),
        (  # missing required variable
            "services:\n  web:\n    image: x\n    environment:\n"
            "      PASSWORD: ${DB_PASSWORD:?set the database password}\n",
            "compose.yaml:5: services.web.environment.PASSWORD: required variable DB_PASSWORD "
            "is missing a value: set the database password",
            "set it in the environment, in .env or in a file given with --env-file",
        ),
        (  # bad interpolation syntax
            "services:\n  web:\n    image: x:${TAG\n",
            "compose.yaml:3: services.web.image: invalid interpolation format",
            "write $$ for a literal dollar sign",
        ),
        (  # unknown dependency
            "services:\n  web:\n    image: x\n    depends_on:\n      - dbb\n  db:\n    image: y\n",
            "compose.yaml:5: service 'web' refers to undefined service 'dbb'",
            "did you mean 'db'?",
        ),
        (  # dependency cycle
            "services:\n  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: x\n"
            "    depends_on:\n      c: {condition: service_healthy}\n"
            "  c:\n    image: x\n    depends_on: [a]\n",
            "compose.yaml:4: dependency cycle between services: a -> b -> c -> a",
            "remove one of these depends_on entries",
        ),
        (  # neither image nor build
            "services:\n  web:\n    command: [x]\n",
            "compose.yaml:2: service 'web' has neither an image nor a build",
            "add `image:` or `build:`",
        ),
        (  # undefined network
            "services:\n  web:\n    image: x\n    networks: [front]\n",
            "compose.yaml:4: service 'web' refers to undefined network 'front'",
            "define it under top-level `networks:`",
        ),
        (  # undefined named volume
            "services:\n  web:\n    image: x\n    volumes:\n      - data:/data\n",
            "compose.yaml:5: service 'web' refers to undefined volume 'data'",
            None,
        ),
        (  # undefined secret
            "services:\n  web:\n    image: x\n    secrets: [pw]\n",
            "compose.yaml:4: service 'web' refers to undefined secret 'pw'",
            None,
        ),
        (  # a secret from two places
            "services:\n  web:\n    image: x\nsecrets:\n  pw:\n    file: ./pw\n"
            "    environment: PW\n",
            "compose.yaml:5: secret 'pw' must set exactly one of file, environment or external",
            None,
        ),
        (  # network_mode and networks together
            "services:\n  web:\n    image: x\n    network_mode: host\n    networks: [default]\n",
            "compose.yaml:4: service 'web' sets both network_mode and networks",
            None,
        ),
        (  # bad service name
            "services:\n  'web app':\n    image: x\n",
            "compose.yaml:2: services.web app: invalid service name 'web app'",
            None,
        ),
        (  # invalid YAML
            "services:\n  web:\n    image: x\n   ports: [80]\n",
            "compose.yaml:4: invalid YAML",
            "check indentation and quoting around that line",
        ),
        (  # duplicate key
            "services:\n  web:\n    image: x\n    image: y\n",
            "compose.yaml:4: invalid YAML: duplicate key 'image'",
            None,
        ),
        (  # not a mapping
            "- just\n- a list\n",
            "compose.yaml:1: the top level of a compose file must be a mapping",
            None,
        ),
        (  # no services
            "networks: {}\n",
            "no service is defined",
            None,
        ),
        (  # healthcheck test must be well-formed
            "services:\n  web:\n    image: x\n    healthcheck:\n      test: [curl, x]\n",
            "compose.yaml:5: services.web.healthcheck.test: a healthcheck test list must start "
            "with CMD, CMD-SHELL or NONE",
            None,
        ),
        (  # device requests: count and device_ids are exclusive
            "services:\n  web:\n    image: x\n    gpus:\n      - {count: 1, device_ids: ['0']}\n",
            "compose.yaml:5: services.web.gpus[0]: count and device_ids are mutually exclusive",
            None,
        ),
    ],
)
def test_errors_name_file_line_and_key(
    tmp_path: Path, text: str, message: str, hint: str | None
) -> None:
    error = error_for(tmp_path, text)
    assert message in error.message
    assert error.message.startswith(str(tmp_path)) or "no service" in error.message
    if hint is not None:
        assert error.hint is not None and hint in error.hint


def test_error_in_second_file_names_that_file(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", "services:\n  web:\n    image: x\n")
    write(tmp_path, "override.yaml", "services:\n  web:\n    stop_grace_period: soon\n")
    with pytest.raises(InvalidInputError) as info:
        load(tmp_path, "base.yaml", "override.yaml")
    assert info.value.message.startswith(f"{tmp_path / 'override.yaml'}:3: ")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="cannot read compose file"):
        load(tmp_path, "absent.yaml")


def test_sexagesimal_port_is_a_string(tmp_path: Path) -> None:
    write(tmp_path, "compose.yaml", "services:\n  web:\n    image: x\n    ports: [22:22]\n")
    assert load(tmp_path, "compose.yaml").services["web"].ports[0].published == "22"
