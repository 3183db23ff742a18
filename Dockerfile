# Sirr's container image (docs/deploy.md "Container"). Multi-stage: sirrd and sirr are built on
# debian:12 with the project's own dependency script; the runtime stage is debian:12-slim with
# the runtime libraries only (no compiler, headers, tests, sources or build tree).
#
#   docker build --build-arg SIRR_COMMIT=$(git rev-parse --short=12 HEAD) -t sirr .
#   docker run -d -p 39999:39999 -v sirr-data:/var/lib/sirr \
#     -v ./master.key:/run/secrets/master.key:ro -v ./tls:/run/secrets/tls:ro \
#     -e SIRR_TLS_CERT_FILE=/run/secrets/tls/tls.crt -e SIRR_TLS_KEY_FILE=/run/secrets/tls/tls.key sirr
#
# The master key is never in the image: it is read from SIRR_KEY_FILE (default
# /run/secrets/master.key, a read-only mount or a Swarm secret). sirrd listens on 0.0.0.0:39999
# and therefore refuses to start without TLS (SIRR_TLS_CERT_FILE + SIRR_TLS_KEY_FILE) unless
# SIRR_TLS_DISABLE=true says a TLS-terminating proxy is in front.

FROM debian:12 AS build
ENV DEBIAN_FRONTEND=noninteractive
WORKDIR /src
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN bash scripts/install-deps.sh --build-only && rm -rf /var/lib/apt/lists/*
COPY CMakeLists.txt ./
COPY cmake cmake
COPY src src
COPY apps apps
ARG SIRR_COMMIT=unknown
# ccache: when the build is given the host's cache (podman build -v ~/.cache/ccache:/ccache, as
# scripts/test-container.sh does) objects the host already compiled are not compiled again;
# paths are hashed relative to /src, as the host hashes them relative to its checkout.
ENV CCACHE_DIR=/ccache CCACHE_BASEDIR=/src CCACHE_NOHASHDIR=1
RUN SIRR_COMMIT=${SIRR_COMMIT} cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DSIRR_BUILD_TESTS=OFF -DSIRR_BUILD_BENCH=OFF \
 && ninja -C build -j"$(nproc)" sirrd sirr \
 && strip build/sirrd build/sirr

FROM debian:12-slim
ENV DEBIAN_FRONTEND=noninteractive
# Downloaded packages are not kept (and /var/cache/apt/archives is left alone: a build may
# mount the host's package cache there).
RUN apt-get update \
 && apt-get install -y --no-install-recommends -o APT::Keep-Downloaded-Packages=false \
      libssl3 libsqlite3-0 libpq5 libsodium23 libsecp256k1-1 libunistring2 libsystemd0 libcurl4 \
      ca-certificates \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log \
 && groupadd --system --gid 10001 sirr \
 && useradd --system --uid 10001 --gid sirr --home-dir /var/lib/sirr --no-create-home \
      --shell /usr/sbin/nologin sirr \
 && install -d -m 0700 -o sirr -g sirr /var/lib/sirr
COPY --from=build /src/build/sirrd /src/build/sirr /usr/local/bin/
ENV SIRR_ADDR=0.0.0.0:39999 \
    SIRR_DATA_DIR=/var/lib/sirr \
    SIRR_KEY_FILE=/run/secrets/master.key
USER 10001:10001
VOLUME /var/lib/sirr
EXPOSE 39999
STOPSIGNAL SIGTERM
# 200 only when unsealed and serving (503 sealed, 501 uninitialised): `sirrd health` asks the
# local sirrd over TLS, accepting exactly its SIRR_TLS_CERT_FILE.
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 CMD ["sirrd", "health"]
ENTRYPOINT ["sirrd"]
