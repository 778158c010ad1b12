# ToggleMaster's five services: one image each, all from one shared build stage.
#
#   docker build --target evaluation-service -t togglemaster/evaluation-service .
#
# Targets: auth-service, flag-service, targeting-service, evaluation-service, analytics-service
# (docker-compose.yml builds all five; its init-cloud service runs the analytics-service image's
# init-cloud.sh). The build stage installs the toolchain and libraries with
# scripts/install-deps.sh, the project's one package list, and compiles the five executables once
# (Release); each service image is debian:bookworm-slim with only the shared libraries they link
# (install-deps.sh --runtime), the one executable, and a non-root user (UID/GID 10001) that owns
# DATA_DIR=/data. Without Docker Hub, scripts/docker-offline.sh makes the two Debian base images.
#
# No RUN --mount caches: Compose v1 runs the `docker build` it finds, which may be the legacy builder
# (a docker CLI without buildx), and that builder rejects them. Layer order does the caching
# instead: packages (until install-deps.sh changes), then the sources the build reads.

FROM debian:bookworm AS build
COPY scripts/install-deps.sh /src/scripts/install-deps.sh
RUN /src/scripts/install-deps.sh && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Only what the five executables are built from: a change to tests, docs or deployment files
# does not rebuild them.
COPY CMakeLists.txt ./
COPY libs libs
COPY services services
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DTOGGLE_BUILD_TESTS=OFF -DTOGGLE_BUILD_BENCH=OFF >/dev/null \
 && cmake --build /build --target auth-service flag-service targeting-service evaluation-service analytics-service \
 && mkdir /out \
 && for service in auth-service flag-service targeting-service evaluation-service analytics-service; do \
      strip --strip-unneeded -o "/out/$service" "/build/bin/$service"; \
    done

# What every service image shares: the runtime libraries, the user, DATA_DIR, the health check.
FROM debian:bookworm-slim AS runtime
COPY scripts/install-deps.sh /tmp/install-deps.sh
RUN /tmp/install-deps.sh --runtime \
 && rm -rf /var/lib/apt/lists/* /tmp/install-deps.sh \
 && groupadd --gid 10001 togglemaster \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /data --shell /usr/sbin/nologin togglemaster \
 && mkdir /data && chown 10001:10001 /data && chmod 0750 /data
ENV DATA_DIR=/data
WORKDIR /data
USER 10001:10001
STOPSIGNAL SIGTERM
# Healthy = ready to serve (its database, auth-service or first sync answer), not merely alive.
# ${PORT} is read when the check runs, so a PORT set at `docker run` is followed.
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD curl -fsS -o /dev/null "http://127.0.0.1:${PORT}/ready" || exit 1

FROM runtime AS auth-service
ENV PORT=8001
EXPOSE 8001
COPY --from=build /out/auth-service /usr/local/bin/auth-service
# A library the executable links but install-deps.sh --runtime does not install fails the build.
RUN if ldd /usr/local/bin/auth-service | grep 'not found'; then exit 1; fi
ENTRYPOINT ["/usr/local/bin/auth-service"]

FROM runtime AS flag-service
ENV PORT=8002
EXPOSE 8002
COPY --from=build /out/flag-service /usr/local/bin/flag-service
RUN if ldd /usr/local/bin/flag-service | grep 'not found'; then exit 1; fi
ENTRYPOINT ["/usr/local/bin/flag-service"]

FROM runtime AS targeting-service
ENV PORT=8003
EXPOSE 8003
COPY --from=build /out/targeting-service /usr/local/bin/targeting-service
RUN if ldd /usr/local/bin/targeting-service | grep 'not found'; then exit 1; fi
ENTRYPOINT ["/usr/local/bin/targeting-service"]

FROM runtime AS evaluation-service
ENV PORT=8004
EXPOSE 8004
COPY --from=build /out/evaluation-service /usr/local/bin/evaluation-service
RUN if ldd /usr/local/bin/evaluation-service | grep 'not found'; then exit 1; fi
ENTRYPOINT ["/usr/local/bin/evaluation-service"]

FROM runtime AS analytics-service
ENV PORT=8005
EXPOSE 8005
COPY --from=build /out/analytics-service /usr/local/bin/analytics-service
RUN if ldd /usr/local/bin/analytics-service | grep 'not found'; then exit 1; fi
# `init-cloud.sh aws|azure` creates the pipeline's queues and tables (analytics-service
# --init-cloud, the one place that knows them): docker-compose.yml's one-shot init-cloud service
# runs it from this image before analytics and evaluation start.
COPY scripts/init-cloud.sh /usr/local/bin/init-cloud.sh
ENTRYPOINT ["/usr/local/bin/analytics-service"]
