# driftsync's container image: a locked release build, then a small Debian
# runtime with only what the binary links (OpenSSL, zlib) and CA certificates.
# Both bases are pinned by version; --build-arg RUST_IMAGE=... / RUNTIME_IMAGE=...
# swap in a mirror or a stand-in (scripts/image-test does that offline).
#
#   docker build --build-arg GIT_COMMIT="$(git rev-parse HEAD)" -t driftsync .
#   docker run --rm -v "$PWD:/repo" --user "$(id -u):$(id -g)" -e AWS_REGION driftsync check

ARG RUST_IMAGE=rust:1.95.0-slim-bookworm
ARG RUNTIME_IMAGE=debian:12.11-slim

FROM ${RUST_IMAGE} AS builder
# git2 compiles its bundled libgit2 and libssh2 with the image's C compiler
# and links the system OpenSSL and zlib. Versions float with Debian's
# security updates on purpose, hence no pins.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends pkg-config libssl-dev zlib1g-dev \
 && apt-get clean && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# The build context has no .git: the commit for `driftsync --version` comes in
# as a build argument (build.rs reads DRIFTSYNC_GIT_COMMIT; else "unknown").
ARG GIT_COMMIT=""
ENV DRIFTSYNC_GIT_COMMIT=${GIT_COMMIT}
RUN cargo build --release --locked --bin driftsync \
 && strip target/release/driftsync \
 && install -m 0755 target/release/driftsync /usr/local/bin/driftsync

FROM ${RUNTIME_IMAGE}
ARG VERSION=0.1.0
ARG GIT_COMMIT=""
ARG SOURCE_URL=https://github.com/driftsync/driftsync
LABEL org.opencontainers.image.title="driftsync" \
      org.opencontainers.image.description="Keeps AWS CloudFormation stacks exactly as their Git repository says" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${GIT_COMMIT}" \
      org.opencontainers.image.source="${SOURCE_URL}"
# libssl3 and zlib1g are what the binary links dynamically (ldd); zlib1g is
# already part of the base. apt-get clean: a base without Debian's
# docker-clean hook would keep 78 MB of package caches in this layer
# (measured on the stand-in base).
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libssl3 \
 && apt-get clean && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --create-home --home-dir /home/driftsync driftsync
COPY --from=builder /usr/local/bin/driftsync /usr/local/bin/driftsync
USER 10001:10001
# Mount the infra repository here (or pass --repo URL).
WORKDIR /repo
ENTRYPOINT ["driftsync"]
CMD ["--help"]
