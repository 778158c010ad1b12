#!/usr/bin/env bash
# Makes Docker usable for ToggleMaster on a machine that cannot reach Docker Hub (such as the
# project's CI machines). Everything the project does to work without Docker Hub is here, never in
# the Dockerfile or the Compose file, which name only the official images:
#
#   1. The engine: when `docker info` fails, starts `dockerd` in the background (there may be no
#      systemd), logging to $DOCKERD_LOG (default /var/log/togglemaster-dockerd.log); its PID goes
#      to $DOCKERD_PIDFILE (default /run/togglemaster-dockerd.pid) so a caller can stop it again.
#   2. The base images debian:bookworm and debian:bookworm-slim: pulled, or, when that fails, made
#      from Debian's archive with debootstrap (minbase) and imported; both tags name that image.
#   3. The infrastructure images docker-compose.yml names (postgres:15, redis:7,
#      localstack/localstack:…): pulled, or, ONLY when the pull fails, a stand-in built from Debian
#      packages under the official name (LocalStack: the npm emulators local-aws-sqs and dynalite
#      behind one port, 4566, see scripts/localstack-standin/). Stand-ins carry the label
#      org.togglemaster.standin=true; a later run tries the pull again, so a real image replaces a
#      stand-in as soon as it can be pulled. They honour the same settings the Compose file uses of
#      the official images (POSTGRES_* variables and /docker-entrypoint-initdb.d; LocalStack's
#      /_localstack/health and /_localstack/init/ready, and its /etc/localstack/init/ready.d
#      hooks, which the Compose file no longer uses), not the rest.
#
#   scripts/docker-offline.sh           all three
#   scripts/docker-offline.sh --engine  1 only
#   scripts/docker-offline.sh --base    1 and 2
#   scripts/docker-offline.sh --infra   1 and 3 (3 needs 2 done: make test-deploy runs it while
#                                       the services' images build)
# Needs root (or a user allowed to start dockerd) and `scripts/install-deps.sh --deploy`.
set -euo pipefail
cd "$(dirname "$0")/.."

STANDIN_LABEL=org.togglemaster.standin
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

log() { echo "docker-offline: $*" >&2; }
die() { log "$*"; exit 1; }

start_engine() {
  if docker info >/dev/null 2>&1; then return; fi
  command -v dockerd >/dev/null || die "no Docker engine: run scripts/install-deps.sh --deploy"
  local log_file=${DOCKERD_LOG:-/var/log/togglemaster-dockerd.log}
  local pid_file=${DOCKERD_PIDFILE:-/run/togglemaster-dockerd.pid}
  log "starting dockerd (log: $log_file)"
  # setsid + redirected streams: the daemon outlives this script without holding its terminal or
  # the pipes of whoever called it (CI reads our output until every writer has closed it).
  setsid dockerd >>"$log_file" 2>&1 </dev/null &
  echo $! >"$pid_file"
  for _ in $(seq 1 120); do
    if docker info >/dev/null 2>&1; then return; fi
    kill -0 "$(cat "$pid_file")" 2>/dev/null || { tail -n 20 "$log_file" >&2; die "dockerd exited"; }
    sleep 0.5
  done
  tail -n 20 "$log_file" >&2
  die "dockerd did not answer within 60 s"
}

is_standin() {
  [[ $(docker image inspect -f "{{index .Config.Labels \"$STANDIN_LABEL\"}}" "$1" 2>/dev/null) == true ]]
}

# Succeeds when IMAGE is here and real: present and not a stand-in, or pulled now.
have_real() {
  local image=$1
  if docker image inspect "$image" >/dev/null 2>&1 && ! is_standin "$image"; then return 0; fi
  if docker pull -q "$image" >/dev/null 2>&1; then
    log "pulled $image"
    return 0
  fi
  return 1
}

# debian:bookworm from Debian's archive, with the settings of the official image: its apt sources
# (with security updates), apt caches not kept, documentation not installed (the official "slim"
# image's rules; both tags name this one image).
make_debian_image() {
  command -v debootstrap >/dev/null || die "debootstrap missing: run scripts/install-deps.sh --deploy"
  local rootfs
  rootfs=$(mktemp -d /var/tmp/togglemaster-bookworm-XXXXXX)
  log "making debian:bookworm with debootstrap from $DEBIAN_MIRROR (a few minutes)"
  if ! debootstrap --variant=minbase bookworm "$rootfs" "$DEBIAN_MIRROR" >"$rootfs.log" 2>&1; then
    tail -n 30 "$rootfs.log" >&2
    rm -rf "$rootfs"
    die "debootstrap failed (full log: $rootfs.log)"
  fi
  rm -f "$rootfs.log" "$rootfs/etc/apt/sources.list"
  cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $DEBIAN_MIRROR
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${DEBIAN_MIRROR%/debian}/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  echo 'Acquire::Languages "none";' >"$rootfs/etc/apt/apt.conf.d/docker-no-languages"
  echo 'Acquire::GzipIndexes "true";' >"$rootfs/etc/apt/apt.conf.d/docker-gzip-indexes"
  # dpkg's fsync after every file halves the speed of `apt-get install` on overlayfs, and an image
  # layer is written whole or not at all anyway (the setting earlier official images carried).
  echo force-unsafe-io >"$rootfs/etc/dpkg/dpkg.cfg.d/docker-apt-speedup"
  cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/locale/*
EOF
  find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  rm -rf "$rootfs/usr/share/man/"* "$rootfs/usr/share/info/"* "$rootfs/usr/share/locale/"* \
    "$rootfs/var/cache/apt/"*.bin "$rootfs/var/cache/apt/archives/"*.deb "$rootfs/var/lib/apt/lists/"* \
    "$rootfs/var/log/"*.log
  tar -C "$rootfs" -c . | docker import \
    --change 'CMD ["bash"]' --change "LABEL $STANDIN_LABEL=true" \
    --message "debootstrap --variant=minbase bookworm (docker-offline.sh)" - debian:bookworm >/dev/null
  rm -rf "$rootfs"
}

ensure_base_images() {
  local bookworm=false slim=false
  have_real debian:bookworm && bookworm=true
  have_real debian:bookworm-slim && slim=true
  if $bookworm && $slim; then return; fi
  # A stand-in made by an earlier run is kept (it takes minutes to make): only a pull replaces it.
  if ! docker image inspect debian:bookworm >/dev/null 2>&1 && ! docker image inspect debian:bookworm-slim >/dev/null 2>&1; then
    make_debian_image
    docker tag debian:bookworm debian:bookworm-slim
  elif ! docker image inspect debian:bookworm >/dev/null 2>&1; then
    docker tag debian:bookworm-slim debian:bookworm
  elif ! docker image inspect debian:bookworm-slim >/dev/null 2>&1; then
    docker tag debian:bookworm debian:bookworm-slim
  fi
  log "debian:bookworm and debian:bookworm-slim: $(docker image inspect -f '{{.Id}}' debian:bookworm | cut -c8-19)"
}

# Builds a stand-in image: the Dockerfile on stdin, CONTEXT the build context.
build_standin() {
  local image=$1 context=$2
  log "building a stand-in for $image from Debian packages (it cannot be pulled here)"
  local build_log
  build_log=$(mktemp)
  if ! docker build --label "$STANDIN_LABEL=true" -t "$image" -f - "$context" >"$build_log" 2>&1; then
    tail -n 30 "$build_log" >&2
    die "building the stand-in for $image failed (log: $build_log)"
  fi
  rm -f "$build_log"
}

# PostgreSQL 15 from Debian, with the official image's interface as far as the Compose file uses
# it: POSTGRES_USER / POSTGRES_PASSWORD / POSTGRES_DB, PGDATA=/var/lib/postgresql/data, the
# scripts in /docker-entrypoint-initdb.d on a first start, password (scram) logins from other
# hosts, pg_isready, UID 999. Unlike the official image it runs as that user from the start.
standin_postgres() {
  local context
  context=$(mktemp -d)
  cat >"$context/docker-entrypoint.sh" <<'SCRIPT'
#!/usr/bin/env bash
# Entry point of the postgres stand-in (scripts/docker-offline.sh): initialise an empty PGDATA as
# the official postgres image does, then run the server.
set -euo pipefail
if [[ "${1:-}" == -* ]]; then set -- postgres "$@"; fi
if [[ "${1:-}" == postgres && ! -s "$PGDATA/PG_VERSION" ]]; then
  user=${POSTGRES_USER:-postgres}
  db=${POSTGRES_DB:-$user}
  if [[ -z "${POSTGRES_PASSWORD:-}" && "${POSTGRES_HOST_AUTH_METHOD:-}" != trust ]]; then
    echo "postgres stand-in: set POSTGRES_PASSWORD (or POSTGRES_HOST_AUTH_METHOD=trust)" >&2
    exit 1
  fi
  mkdir -p "$PGDATA"
  chmod 0700 "$PGDATA"
  initdb -D "$PGDATA" --username="$user" --pwfile=<(printf '%s\n' "${POSTGRES_PASSWORD:-}") \
    -E UTF8 --locale=C.UTF-8 ${POSTGRES_INITDB_ARGS:-} >/dev/null
  echo "listen_addresses = '*'" >>"$PGDATA/postgresql.conf"
  echo "host all all all ${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}" >>"$PGDATA/pg_hba.conf"
  # A server on the unix socket only, for the initialisation, as the official image does.
  pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
  if [[ "$db" != postgres ]]; then
    psql -v ON_ERROR_STOP=1 -U "$user" -d postgres -q -c "CREATE DATABASE \"$db\""
  fi
  for f in /docker-entrypoint-initdb.d/*; do
    case "$f" in
      *.sh) echo "postgres stand-in: running $f"; if [[ -x "$f" ]]; then "$f"; else . "$f"; fi ;;
      *.sql) echo "postgres stand-in: running $f"; psql -v ON_ERROR_STOP=1 -U "$user" -d "$db" -q -f "$f" ;;
      *) if [[ -e "$f" ]]; then echo "postgres stand-in: ignoring $f"; fi ;;
    esac
  done
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  echo "postgres stand-in: database initialised"
fi
exec "$@"
SCRIPT
  chmod +x "$context/docker-entrypoint.sh"
  build_standin "$1" "$context" <<'DOCKERFILE'
FROM debian:bookworm-slim
RUN groupadd --system --gid 999 postgres \
 && useradd --system --uid 999 --gid 999 --home-dir /var/lib/postgresql --shell /bin/bash postgres \
 && mkdir -p /etc/postgresql-common \
 && echo 'create_main_cluster = false' >/etc/postgresql-common/createcluster.conf \
 && apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql-15 >/dev/null \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /var/lib/postgresql/data /var/run/postgresql /docker-entrypoint-initdb.d \
 && chown -R postgres:postgres /var/lib/postgresql /var/run/postgresql && chmod 0700 /var/lib/postgresql/data
COPY docker-entrypoint.sh /usr/local/bin/
ENV PATH=/usr/lib/postgresql/15/bin:$PATH PGDATA=/var/lib/postgresql/data
USER postgres
STOPSIGNAL SIGINT
EXPOSE 5432
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["postgres"]
DOCKERFILE
  rm -rf "$context"
}

# Redis 7 from Debian, run as the official image runs it: UID 999, /data as working directory,
# and reachable from other containers without a password (the official build turns protected mode
# off; Debian's does not, so the entry point does).
standin_redis() {
  local context
  context=$(mktemp -d)
  cat >"$context/docker-entrypoint.sh" <<'SCRIPT'
#!/bin/sh
# Entry point of the redis stand-in (scripts/docker-offline.sh).
set -e
case "$1" in -*|*.conf) set -- redis-server "$@" ;; esac
if [ "$1" = redis-server ]; then
  shift
  # A configuration file must stay redis-server's first argument.
  case "$1" in
    *.conf) conf=$1; shift; set -- redis-server "$conf" --protected-mode no "$@" ;;
    *) set -- redis-server --protected-mode no "$@" ;;
  esac
fi
exec "$@"
SCRIPT
  chmod +x "$context/docker-entrypoint.sh"
  build_standin "$1" "$context" <<'DOCKERFILE'
FROM debian:bookworm-slim
RUN groupadd --system --gid 999 redis \
 && useradd --system --uid 999 --gid 999 --home-dir /data --no-create-home redis \
 && apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server >/dev/null \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /data && chown redis:redis /data
COPY docker-entrypoint.sh /usr/local/bin/
WORKDIR /data
USER redis
EXPOSE 6379
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["redis-server"]
DOCKERFILE
  rm -rf "$context"
}

# LocalStack's SQS and DynamoDB: scripts/localstack-standin/ (a Node proxy in front of the npm
# emulators local-aws-sqs and dynalite, at the versions tests/package.json pins). The npm packages
# are installed on this machine (npm ci, reusing npm's own settings) and copied into the image.
standin_localstack() {
  local dir=scripts/localstack-standin name
  command -v npm >/dev/null || die "npm missing (the LocalStack stand-in's emulators): run scripts/install-deps.sh --deploy"
  for name in local-aws-sqs dynalite; do
    if [[ $(jq -r ".dependencies[\"$name\"]" "$dir/package.json") != $(jq -r ".dependencies[\"$name\"]" tests/package.json) ]]; then
      die "$dir/package.json and tests/package.json pin different versions of $name: make them equal"
    fi
  done
  if ! cmp -s "$dir/package-lock.json" "$dir/node_modules/.installed-lock" 2>/dev/null; then
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    cp "$dir/package-lock.json" "$dir/node_modules/.installed-lock"
  fi
  build_standin "$1" "$dir" <<'DOCKERFILE'
FROM debian:bookworm-slim
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs curl ca-certificates >/dev/null \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 1000 localstack \
 && useradd --uid 1000 --gid 1000 --create-home localstack \
 && mkdir -p /etc/localstack/init/ready.d
COPY package.json proxy.mjs /opt/localstack-standin/
COPY node_modules /opt/localstack-standin/node_modules
USER localstack
EXPOSE 4566
CMD ["node", "/opt/localstack-standin/proxy.mjs"]
DOCKERFILE
}

# Every image docker-compose.yml names that it does not build itself.
ensure_infrastructure_images() {
  local image
  for image in $(sed -n 's/^ *image: *//p' docker-compose.yml | grep -v '^togglemaster/' | sort -u); do
    have_real "$image" && continue
    case "$image" in
      postgres:15) standin_postgres "$image" ;;
      redis:7) standin_redis "$image" ;;
      localstack/localstack:*) standin_localstack "$image" ;;
      *) die "$image cannot be pulled and has no stand-in here (postgres:15, redis:7, localstack/localstack)" ;;
    esac
  done
}

case "${1:-}" in
  --engine) start_engine ;;
  --base) start_engine; ensure_base_images ;;
  --infra) start_engine; ensure_infrastructure_images ;;
  "") start_engine; ensure_base_images; ensure_infrastructure_images ;;
  *) die "unknown option $1 (usage: docker-offline.sh [--engine | --base | --infra])" ;;
esac
