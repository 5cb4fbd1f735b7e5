# fleetdeck's container images: `--target server` (fleetdeck/server) and `--target agent`
# (fleetdeck/agent). Build them with scripts/build-images, which first makes the wheelhouses
# this file installs from (scripts/wheelhouse), so nothing is fetched from an index and no
# compiler is needed: every dependency arrives as a locked wheel.
#
#   BASE        the Python base image (default the official one; the lab passes a
#               debootstrap-made stand-in, see src/fleetdeck/lab/product_images.py)
#   WHEELHOUSE  the wheelhouses' directory in the build context (agent/ and server/ below it)
#   VERSION, REVISION, CREATED   the OCI labels (fleetdeck.__version__, the commit, the date)
#
# Each role's virtualenv is made in a stage of its own and copied whole into the final image:
# the final images hold one layer for it (no wheels, no pip cache, no pip), and the
# classic builder of Docker 20.10 builds this file as BuildKit does.
ARG BASE=python:3.11-slim-bookworm

FROM ${BASE} AS venv-agent
ARG WHEELHOUSE=build/wheelhouse
COPY ${WHEELHOUSE}/agent /tmp/wheels
RUN python3 -m venv /opt/fleetdeck \
    && /opt/fleetdeck/bin/pip install --no-cache-dir --disable-pip-version-check --no-index \
        --only-binary=:all: --find-links /tmp/wheels fleetdeck \
    && /opt/fleetdeck/bin/pip uninstall --yes --quiet pip setuptools

FROM ${BASE} AS venv-server
ARG WHEELHOUSE=build/wheelhouse
COPY ${WHEELHOUSE}/server /tmp/wheels
RUN python3 -m venv /opt/fleetdeck \
    && /opt/fleetdeck/bin/pip install --no-cache-dir --disable-pip-version-check --no-index \
        --only-binary=:all: --find-links /tmp/wheels "fleetdeck[server]" \
    && /opt/fleetdeck/bin/pip uninstall --yes --quiet pip setuptools

# ------------------------------------------------------- what both images say about themselves
FROM ${BASE} AS runtime
ARG VERSION=0.0.0
ARG REVISION=unknown
ARG CREATED=
LABEL org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.vendor="fleetdeck" \
      org.opencontainers.image.licenses="Apache-2.0"

# ---------------------------------------------------------------------------------- server
FROM runtime AS server
# An unprivileged user owns /data: a new named volume takes the ownership of the image's
# directory, so the server can write its store there without running as root.
RUN useradd --system --uid 10001 --user-group --home-dir /data --no-create-home \
        --shell /usr/sbin/nologin fleetdeck \
    && mkdir -m 0700 /data && chown fleetdeck:fleetdeck /data
COPY --from=venv-server /opt/fleetdeck /opt/fleetdeck
ENV PATH=/opt/fleetdeck/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    FLEETDECK_DATA_DIR=/data \
    FLEETDECK_LISTEN=0.0.0.0:8443
VOLUME ["/data"]
EXPOSE 8443
USER fleetdeck:fleetdeck
WORKDIR /data
# GET /api/v1/health over the server's own TLS (verified against its CA in /data/ca).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-m", "fleetdeck.healthcheck", "server"]
ENTRYPOINT ["fleetdeck"]
CMD ["server"]
LABEL org.opencontainers.image.title="fleetdeck server" \
      org.opencontainers.image.description="fleetdeck's control plane: API, web UI, reconcilers, store"

# ----------------------------------------------------------------------------------- agent
FROM runtime AS agent
# The agent runs as root in its container: it needs the engine's socket, which is mounted
# (-v /var/run/docker.sock:/var/run/docker.sock), never published on the network.
RUN mkdir -m 0700 /data
COPY --from=venv-agent /opt/fleetdeck /opt/fleetdeck
ENV PATH=/opt/fleetdeck/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    FLEETDECK_AGENT_STATE_DIR=/data \
    FLEETDECK_AGENT_LISTEN=0.0.0.0:9001 \
    DOCKER_HOST=unix:///var/run/docker.sock
VOLUME ["/data"]
EXPOSE 9001
# A TCP connect to the agent's port: it is open only once the agent has enrolled and serves
# (its API needs the server's client certificate, so there is nothing to GET without one).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-m", "fleetdeck.healthcheck", "agent"]
# The lean entry point (not the CLI): enrols with FLEETDECK_SERVER and FLEETDECK_JOIN_TOKEN
# when /data holds no identity yet, then serves with what it keeps there.
ENTRYPOINT ["python", "-m", "fleetdeck.agent"]
LABEL org.opencontainers.image.title="fleetdeck agent" \
      org.opencontainers.image.description="fleetdeck's agent for one Docker host (mutual TLS, port 9001)"
