#!/usr/bin/env bash
# The sanitizer runs and the fuzzing (docs/fuzzing.md), built with clang in build directories of
# their own, so they never disturb `make test`'s build:
#
#   scripts/sanitizers.sh test   `make test-sanitize`: the unit and integration suites under
#                                AddressSanitizer + UndefinedBehaviorSanitizer (build-sanitize), then
#                                the concurrent parts (server, change feeds, event sender, caches)
#                                under ThreadSanitizer (build-tsan). Any finding fails the run.
#   scripts/sanitizers.sh fuzz   `make fuzz`: each libFuzzer target in fuzz/ for FUZZ_SECONDS
#                                (default 60) from its seed corpus fuzz/corpus/<target>, under
#                                ASan + UBSan (build-sanitize). A crash, a leak, a sanitizer finding,
#                                a broken property or a hang (-timeout) fails the run and leaves
#                                the input in build-sanitize/fuzz-findings/.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc)}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
ASAN_DIR=${SANITIZE_BUILD_DIR:-build-sanitize}
TSAN_DIR=${TSAN_BUILD_DIR:-build-tsan}

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1:strict_init_order=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1

# $1 build directory, $2 sanitizers, $3 fuzz targets ON/OFF, then the targets to build.
build() {
  local dir=$1 sanitize=$2 fuzz=$3
  shift 3
  local launcher=()
  if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
  # -O1 and line tables only: quicker to build than -O2 -g, with the same findings and
  # stack traces that name the line.
  CC=clang CXX=clang++ cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" \
    -DTOGGLE_SANITIZE="$sanitize" -DTOGGLE_FUZZ="$fuzz" "${launcher[@]}" >/dev/null
  cmake --build "$dir" -j "$JOBS" --target "$@"
}

# ThreadSanitizer maps its shadow memory at fixed addresses, which the address-space layout
# randomisation of recent kernels (vm.mmap_rnd_bits > 28) can overlap: run without it.
without_aslr() { setarch "$(uname -m)" -R "$@"; }

case "${1:-}" in
  test)
    build "$ASAN_DIR" address,undefined ON unit_tests rules_tests integration_tests
    # The PostgreSQL fixture comes along: integration tests use the real server too.
    ctest --test-dir "$ASAN_DIR" --output-on-failure -j 2 -R '^(unit|integration)\.'
    build "$TSAN_DIR" thread OFF unit_concurrency_tests integration_concurrency_tests
    without_aslr "$TSAN_DIR/bin/unit_concurrency_tests" --gtest_brief=1
    without_aslr "$TSAN_DIR/bin/integration_concurrency_tests" --gtest_brief=1
    echo "sanitizers: ASan + UBSan and TSan runs clean"
    ;;
  fuzz)
    targets=(rules_fuzz http_fuzz feed_fuzz spool_fuzz config_fuzz)
    build "$ASAN_DIR" address,undefined ON "${targets[@]}"
    mkdir -p "$ASAN_DIR/fuzz-findings"
    for t in "${targets[@]}"; do
      # New inputs go to the build's corpus; the checked-in seeds are read, never written.
      mkdir -p "$ASAN_DIR/fuzz-corpus/$t"
      log="$ASAN_DIR/fuzz-findings/$t.log"
      if ! "$ASAN_DIR/bin/$t" -max_total_time="$FUZZ_SECONDS" -timeout=30 -rss_limit_mb=4096 \
        -artifact_prefix="$ASAN_DIR/fuzz-findings/$t-" "$ASAN_DIR/fuzz-corpus/$t" "fuzz/corpus/$t" >"$log" 2>&1; then
        tail -n 80 "$log" >&2
        echo "fuzz: $t found a problem: the input is in $ASAN_DIR/fuzz-findings/ (log: $log)" >&2
        exit 1
      fi
      echo "fuzz: $t: $(grep -E '^Done [0-9]+ runs' "$log" || echo 'done'), corpus $(ls "$ASAN_DIR/fuzz-corpus/$t" | wc -l) inputs"
    done
    echo "fuzz: every target ran ${FUZZ_SECONDS}s without a finding"
    ;;
  *)
    echo "usage: scripts/sanitizers.sh test|fuzz" >&2
    exit 2
    ;;
esac
