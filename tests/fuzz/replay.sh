#!/usr/bin/env bash
# replay.sh [BUILD]: the fuzz-replay suite of `make test`.
#
# Builds every fuzz target (tests/fuzz/fuzz_*.c) with the replay driver
# (tests/fuzz/replay.c) under plain $CC + ASan + UBSan into BUILD/fuzz/
# (default build-san, the sanitizer build the suite before this one made),
# then runs each over its committed corpus (tests/fuzz/corpus/TARGET) and
# regression inputs (tests/fuzz/regress/TARGET). One line per target:
# "PASS fuzz-replay TARGET: N inputs ..." or FAIL with the first sanitizer
# or check report and the input it came from. No clang needed.
set -u
cd "$(dirname "$0")/../.."
B=${1:-build-san}
flags="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"
if ! make -s BUILD="$B" SAN="$flags" OPT="-O1 -g" fuzz-replay > "$B.fuzz-build.log" 2>&1; then
    echo "FAIL fuzz-replay build (see $B.fuzz-build.log)"
    tail -5 "$B.fuzz-build.log"
    exit 1
fi
rm -f "$B.fuzz-build.log"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=99
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
log=$(mktemp /tmp/onnxcomp-fuzz-replay.XXXXXX)
trap 'rm -f "$log"' EXIT
status=0
for src in tests/fuzz/fuzz_*.c; do
    t=${src#tests/fuzz/fuzz_}
    t=${t%.c}
    dirs=()
    for d in "tests/fuzz/corpus/$t" "tests/fuzz/regress/$t"; do
        [ -d "$d" ] && dirs+=("$d")
    done
    if [ ${#dirs[@]} -eq 0 ]; then
        echo "FAIL fuzz-replay $t: no tests/fuzz/corpus/$t or tests/fuzz/regress/$t"
        status=1
        continue
    fi
    if "$B/fuzz/replay-$t" "${dirs[@]}" > "$log" 2>&1; then
        grep '^PASS' "$log"
    else
        rc=$?
        what=$(grep -m1 -E 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error|fuzz check failed' "$log")
        input=$(sed -n 's/^replay: input //p' "$log" | tail -1)
        echo "FAIL fuzz-replay $t: exit $rc on ${input:-?}: ${what:-$(tail -1 "$log")}"
        grep -v '^replay: input ' "$log" | head -40 | sed 's/^/    /'
        status=1
    fi
done
exit $status
