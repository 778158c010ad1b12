#!/usr/bin/env bash
# Installs what ToggleMaster needs on Debian 12: the one list of Debian packages (and, for the
# tests only, the npm packages declared in tests/package.json). Used by `make run`, `make test`,
# `make bench`, `make test-deploy`, `make fuzz`, CI and the Dockerfile. Only what is missing is
# installed, so a second run takes a fraction of a second.
#
#   scripts/install-deps.sh            build and run (what `make run` and the Dockerfile need)
#   scripts/install-deps.sh --test     also the servers, emulators and tools the tests start
#   scripts/install-deps.sh --bench    also wrk (load generator) for `make bench`
#   scripts/install-deps.sh --deploy   also Docker Engine, Compose, debootstrap, jq and Node.js (`make test-deploy`)
#   scripts/install-deps.sh --fuzz     also clang's libFuzzer and sanitizer runtimes (`make fuzz`)
#   scripts/install-deps.sh --runtime  INSTEAD of the build list: only the shared libraries the five
#                                      executables link, and what their health check runs (the
#                                      Dockerfile's runtime images)
# Options combine: `--test --bench`.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake ninja-build pkg-config   # toolchain
  libboost-dev                                   # Boost.Beast / Asio (header-only): HTTP server
  nlohmann-json3-dev                             # JSON
  libsqlite3-dev                                 # embedded storage (the default)
  libpq-dev                                      # PostgreSQL client (DATABASE_URL=postgres://)
  libhiredis-dev                                 # Redis client (REDIS_URL)
  libssl-dev                                     # SHA-1/256, HMAC, RAND_bytes, TLS
  libcurl4-openssl-dev                           # HTTP client: other services, AWS and Azure REST APIs
  libqpid-proton-cpp12-dev                       # AMQP 1.0 client: Azure Service Bus
  libre2-dev                                     # linear-time regular expressions in targeting rules
  libspdlog-dev                                  # structured logs
  curl ca-certificates procps iproute2           # scripts: health checks, the seed's curl flow, who holds a port
)
# What the executables need at run time: the libraries of the -dev packages above that they link
# dynamically (check with `ldd build/bin/*`; the Dockerfile fails when one is missing), TLS roots,
# and curl for the container health check. Keep in step with the list above.
runtime_packages=(
  libsqlite3-0 libpq5 libhiredis0.14 libssl3 libcurl4 libspdlog1.10 libfmt9
  libqpid-proton-cpp12 libre2-9
  ca-certificates curl
)
npm_needed=false  # the tests' npm packages
node_needed=false # Node.js and npm themselves
for option in "$@"; do
  case "$option" in
    --test)
      packages+=(
        libgtest-dev libgmock-dev                # unit / integration / end-to-end tests
        postgresql redis-server                  # real servers the tests start on loopback
        rabbitmq-server                          # AMQP 1.0 broker (Service Bus stand-in for tests)
        python3-qpid-proton openssl              # the Service Bus test broker (TLS + CBS), its certificates
        wrk                                      # load-test/wrk-load-test.sh, run by tests/deploy
      )
      npm_needed=true node_needed=true ;;
    --bench) packages+=(libbenchmark-dev wrk) ;;
    --deploy)  # the engine, Compose v1, base images without Docker Hub (scripts/docker-offline.sh)
      packages+=(docker.io docker-compose debootstrap jq)
      node_needed=true ;;
    --runtime)
      if [[ $# -ne 1 ]]; then echo "install-deps: --runtime is used alone" >&2; exit 2; fi
      packages=("${runtime_packages[@]}") ;;
    --fuzz) packages+=(clang libclang-rt-14-dev) ;;
    *) echo "install-deps: unknown option $option" >&2; exit 2 ;;
  esac
done
# Node.js and npm: Debian's, unless a Node.js with npm is already installed.
if $node_needed && ! command -v npm >/dev/null; then packages+=(nodejs npm); fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "install-deps: installing ${missing[*]}" >&2
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The tests' npm packages (emulators, validators, the OpenFeature SDK), pinned by
# tests/package-lock.json, into tests/node_modules; again only when the lock file changed.
if $npm_needed; then
  stamp=tests/node_modules/.installed-lock
  if ! cmp -s tests/package-lock.json "$stamp" 2>/dev/null; then
    echo "install-deps: npm ci in tests/" >&2
    (cd tests && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    cp tests/package-lock.json "$stamp"
  fi
fi
