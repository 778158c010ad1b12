# ToggleMaster: `make run` starts the platform, `make test` runs every test.
# Both install the Debian packages they need first (scripts/install-deps.sh).
BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)

.PHONY: deps build run test test-sanitize fuzz test-deploy bench format clean

deps:
	@scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) >/dev/null
	@cmake --build $(BUILD_DIR) -j $(JOBS)

# Builds only the five services (the test suites are built by `make test`).
run: deps
	@cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) >/dev/null
	@cmake --build $(BUILD_DIR) -j $(JOBS) --target auth-service flag-service targeting-service evaluation-service analytics-service
	@BUILD_DIR=$(BUILD_DIR) scripts/run.sh

test:
	@scripts/install-deps.sh --test
	@cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) >/dev/null
	@cmake --build $(BUILD_DIR) -j $(JOBS)
	@ctest --test-dir $(BUILD_DIR) --output-on-failure -j 2

# The unit and integration suites under AddressSanitizer + UBSan, the concurrent parts under
# ThreadSanitizer (clang, in build-sanitize/ and build-tsan/; scripts/sanitizers.sh).
test-sanitize:
	@scripts/install-deps.sh --test --fuzz
	@scripts/sanitizers.sh test

# Each libFuzzer target in fuzz/ for FUZZ_SECONDS (default 60) from its seed corpus (docs/fuzzing.md).
fuzz:
	@scripts/install-deps.sh --test --fuzz
	@scripts/sanitizers.sh fuzz

# The Compose stack for real: images built, 9 containers up and healthy, the seed's flow, analytics
# restarted under load, non-root, then down -v (scripts/test-deploy.sh). Needs root, no Docker Hub.
test-deploy:
	@scripts/install-deps.sh --deploy
	@scripts/test-deploy.sh

bench:
	@scripts/install-deps.sh --test --bench
	@scripts/bench.sh

format:
	@find libs services tests bench -name '*.cpp' -o -name '*.hpp' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR) build-sanitize build-tsan build-release
