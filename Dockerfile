# flux-edge container image: the one-file binary that scripts/build-binary.sh builds (the build
# stage runs exactly that script, so the image runs what tests/binary tests) on slim Debian.
#
#   docker build -t flux-edge .
#   docker run -d -p 8080:8080 -v flux-edge-data:/data --stop-timeout 40 flux-edge
#
# Both stages must be the same Debian release: the binary needs the build stage's glibc or newer.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${PYTHON_IMAGE} AS build
# PyInstaller needs objdump and strip.
RUN apt-get update \
    && apt-get install -y --no-install-recommends binutils \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md constraints.txt ./
COPY scripts/build-binary.sh scripts/
COPY packaging/ packaging/
COPY flux_edge/ flux_edge/
RUN bash scripts/build-binary.sh

FROM ${RUNTIME_IMAGE}
# tini as PID 1 passes SIGTERM on and reaps worker processes; busybox's wget is the health check
# (lighter than starting Python for it). No `wget -T`: Debian 12's busybox crashes on it, and
# HEALTHCHECK --timeout bounds the check anyway.
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini busybox \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /data --shell /usr/sbin/nologin flux \
    && mkdir -p /data \
    && chown flux:flux /data
COPY --from=build /src/dist/flux-edge /usr/local/bin/flux-edge
# Unpacked here, once, into a folder only root can write (docs/install.md): a container starts
# without unpacking, and the data volume holds only data.
ENV FLUX_EDGE_UNPACK_DIR=/opt/flux-edge
RUN mkdir -m 755 /opt/flux-edge && /usr/local/bin/flux-edge --version

ENV FLUX_EDGE_HOST=0.0.0.0 \
    FLUX_EDGE_PORT=8080 \
    FLUX_EDGE_DATA_DIR=/data
USER flux
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD busybox wget -q -O /dev/null "http://127.0.0.1:${FLUX_EDGE_PORT}/health" || exit 1
# uvicorn finishes requests in flight (up to 30 s), then the runtime flushes execution records:
# give `docker stop` more than that (--stop-timeout 40 / stop_grace_period: 40s).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/flux-edge"]
CMD ["serve"]
