#!/usr/bin/env bash
# Installs the Debian 12 packages ToggleMaster needs to build, run, test and benchmark.
# The single list used by `make run`, `make test`, `make bench`, CI and the Dockerfiles.
# Only missing packages are installed, so a second run takes a fraction of a second.
#
#   scripts/install-deps.sh            build + run + test
#   scripts/install-deps.sh --bench    also wrk (load generator) for `make bench`
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config   # toolchain
  libboost-dev                                   # Boost.Beast / Asio (header-only)
  nlohmann-json3-dev                             # JSON
  libsqlite3-dev                                 # embedded storage
  libpq-dev postgresql                           # PostgreSQL client (DATABASE_URL=postgres://); the server for tests
  libssl-dev                                     # SHA-1/256, RAND_bytes, constant-time compare
  libcurl4-openssl-dev                           # service-to-service HTTP client
  libspdlog-dev                                  # structured logs
  libhiredis-dev redis-server                    # Redis client; the server for tests
  libgtest-dev libgmock-dev                      # unit / integration / end-to-end tests
  libbenchmark-dev                               # evaluator micro-benchmarks
  curl ca-certificates procps                    # scripts: health checks, the seed's curl flow
)
if [[ "${1:-}" == "--bench" ]]; then
  packages+=(wrk)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
