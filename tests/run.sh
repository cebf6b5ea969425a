#!/usr/bin/env bash
# run.sh: the whole test suite (`make test` calls it after building).
#
# Every suite prints one line per check: PASS, FAIL or SKIP. Full output goes
# to build/test-logs/; the terminal shows failures, skips and a line per
# suite. The last line is "N passed, N failed, N skipped"; the exit code is 1
# when anything failed.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
SAN_BUILD=${SAN_BUILD:-build-san}
CLANG_BUILD=${CLANG_BUILD:-build-clang}
LOGS=$BUILD/test-logs
WORK=$(mktemp -d /tmp/onnxcomp-tests.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$LOGS"
passed=0 failed=0 skipped=0

# suite NAME CMD... : run, count its lines, show what is not a PASS
suite() {
    local name=$1
    shift
    local log="$LOGS/$name.log"
    local t0=$SECONDS
    "$@" > "$log" 2>&1
    local rc=$?
    local p f s
    p=$(grep -c '^PASS' "$log")
    f=$(grep -c '^FAIL' "$log")
    s=$(grep -c '^SKIP' "$log")
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "FAIL $name: exited with $rc and no FAIL line (see $log)"
        tail -5 "$log" | sed 's/^/    /'
        f=1
    fi
    grep -E '^(FAIL|SKIP)' "$log" | head -40
    passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
    printf '%-12s %5d passed, %d failed, %d skipped (%ds)\n' "$name:" "$p" "$f" "$s" $((SECONDS - t0))
}

units() {
    local dir=$1 ok=0
    for t in "$dir"/tests/test_*; do
        [ -x "$t" ] || continue
        "$t" || ok=1
    done
    return $ok
}

# 1. unit tests
suite unit units "$BUILD"

# 2. round trip of every conformance and corpus model
suite roundtrip bash tests/roundtrip.sh "$BUILD/onnxcomp" "$WORK/rt" "$WORK/rt-pairs.tsv"

# 3. ONNX Runtime runs every written model and matches the original exactly
if [ -f tests/ort/node_modules/onnxruntime-node/package.json ]; then
    suite ort node tests/ort/compare.js --hints tests/ort/hints.json "$WORK/rt-pairs.tsv"
else
    echo "FAIL ort: onnxruntime-node is not installed (run scripts/setup.sh)"
    failed=$((failed + 1))
fi

# 3b. the interpreter on every ONNX conformance test folder
conformance() {
    local dirs=()
    if [ -d /usr/share/libonnx-testdata/data ]; then
        mapfile -t dirs < <(find /usr/share/libonnx-testdata/data -name model.onnx -printf '%h\n' | sort)
        "$BUILD/oc-conform" "${dirs[@]}"
    else
        echo "SKIP conformance: libonnx-testdata not installed"
    fi
}
suite conformance conformance

# 3c. the interpreter against ONNX Runtime on the corpus models
if [ -d ../shared/corpus/models ] && [ -f tests/ort/node_modules/onnxruntime-node/package.json ]; then
    suite interp node tests/ort/interp_check.js --onnxcomp "$BUILD/onnxcomp" --hints tests/ort/hints.json \
        ../shared/corpus/models/*.onnx
else
    echo "SKIP interp: ../shared/corpus or onnxruntime-node is absent"
    skipped=$((skipped + 1))
fi

# 4. bad input: one error line naming the file, documented exit code, no output
suite bad-input bash tests/cli/bad-input.sh "$BUILD/onnxcomp"

# 4b. failures: allocations, I/O, full disk, removed folder, signals, racing writers, hostile sizes
suite failure env SAN_BUILD="$SAN_BUILD" bash tests/failure/run.sh "$BUILD/onnxcomp"

# 5. command-line behaviour
suite cli bash tests/cli/basics.sh "$BUILD/onnxcomp"
suite batch bash tests/cli/batch.sh "$BUILD/onnxcomp"
suite recipes bash tests/cli/recipes.sh "$BUILD/onnxcomp"

# 5a. quantization of every corpus model, checked in ONNX Runtime
suite quant bash tests/quant/corpus.sh "$BUILD/onnxcomp"

suite modes bash tests/quant/modes.sh "$BUILD/onnxcomp"
suite quant-conf bash tests/quant/conformance.sh "$BUILD/onnxcomp"
suite quant-sub bash tests/quant/subgraph.sh "$BUILD/onnxcomp"

# 5b. pruning of every corpus model, checked in ONNX Runtime; what it costs
suite prune bash tests/prune/corpus.sh "$BUILD/onnxcomp"
suite prune-acc bash tests/prune/accuracy.sh "$BUILD/onnxcomp"

# 5c. run and eval end to end
suite run-eval bash tests/cli/run-eval.sh "$BUILD/onnxcomp"
# the README's first command's last step, as a user runs it
suite demo env DEMO_DIR="$WORK/demo" bash scripts/demo.sh

# 6. the same unit, round-trip and bad-input tests under ASan + UBSan
san() {
    local flags="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"
    make -s BUILD="$SAN_BUILD" SAN="$flags" OPT="-O1 -g" all units >/dev/null || {
        echo "FAIL sanitizer build"
        return 1
    }
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=99
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    units "$SAN_BUILD" || true
    bash tests/roundtrip.sh "$SAN_BUILD/onnxcomp" "$WORK/rt-san" "$WORK/rt-san-pairs.tsv"
    bash tests/cli/bad-input.sh "$SAN_BUILD/onnxcomp"
    bash tests/cli/run-eval.sh "$SAN_BUILD/onnxcomp"
    bash tests/cli/recipes.sh "$SAN_BUILD/onnxcomp"
    if [ -d /usr/share/libonnx-testdata/data ]; then
        mapfile -t dirs < <(find /usr/share/libonnx-testdata/data -name model.onnx -printf '%h\n' | sort)
        "$SAN_BUILD/oc-conform" "${dirs[@]}" | grep -v '^SKIP'
    fi
}
suite sanitizers san
suite fuzz-replay bash tests/fuzz/replay.sh "$SAN_BUILD"

# 6b. the same sources with clang (-Werror too) and its unit tests:
#     scripts/fuzz.sh builds with clang, and a GCC-only construct should stop
#     this run rather than the next fuzzing session
clang_build() {
    command -v clang > /dev/null || {
        echo "SKIP clang build: clang is not installed (scripts/setup.sh installs it)"
        return 0
    }
    if ! make -s CC=clang BUILD="$CLANG_BUILD" all units > "$WORK/clang.err" 2>&1; then
        echo "FAIL clang build: $(grep -m 3 'error' "$WORK/clang.err" | tr '\n' ' ')"
        return 1
    fi
    echo "PASS clang build"
    units "$CLANG_BUILD"
}
suite clang clang_build

# 7. valgrind on a few real models, every unit test and a sample of CLI runs:
#    no leak, no invalid access
vg() {
    if ! command -v valgrind >/dev/null; then
        echo "SKIP valgrind: not installed"
        return 0
    fi
    local models=() m
    for m in ../shared/corpus/models/silero-vad-v4.onnx ../shared/corpus/models/ppocr-cls-v2.onnx \
        /usr/share/libonnx-testdata/data/node/test_if_seq/model.onnx \
        /usr/share/libonnx-testdata/data/pytorch-converted/test_Conv2d/model.onnx; do
        [ -f "$m" ] && models+=("$m")
    done
    for m in "${models[@]}"; do
        if valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=9 \
            "$BUILD/onnxcomp" compress -f "$m" -o "$WORK/vg.onnx" 2> "$WORK/vg.err" &&
            valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=9 \
                "$BUILD/onnxcomp" info "$m" > /dev/null 2>> "$WORK/vg.err"; then
            echo "PASS valgrind $m"
        else
            echo "FAIL valgrind $m: $(head -c 600 "$WORK/vg.err")"
        fi
    done
    # every unit test, then a sample of the CLI: prune + static quantization
    # with calibration, a batch with -j and a report, GPTQ, run and eval
    local vgq=(valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=9)
    for t in "$BUILD"/tests/test_*; do
        if "${vgq[@]}" "$t" > "$WORK/vg.out" 2> "$WORK/vg.err"; then
            echo "PASS valgrind unit $(basename "$t")"
        else
            echo "FAIL valgrind unit $(basename "$t"): $(grep -v '^PASS' "$WORK/vg.out" "$WORK/vg.err" | head -c 600)"
        fi
    done
    local conv=/usr/share/libonnx-testdata/data/pytorch-converted/test_Conv2d
    if [ -d "$conv" ]; then
        mkdir -p "$WORK/vgb/m"
        cp "$conv/model.onnx" "$WORK/vgb/m/a.onnx"
        cp /usr/share/libonnx-testdata/data/pytorch-converted/test_Linear/model.onnx "$WORK/vgb/m/b.onnx" 2>/dev/null
        local cmds=(
            "compress -f $conv/model.onnx -o $WORK/vgb/p.onnx --prune magnitude:sparsity=0.5 --prune channel:ratio=0.3 --quant static --data $conv"
            "compress -f -r $WORK/vgb/m --output-dir $WORK/vgb/out -j 2 --preset int8-weights --report $WORK/vgb/r.json"
            "compress -f $conv/model.onnx -o $WORK/vgb/g.onnx --quant weight:bits=4,method=gptq --data $conv"
            "run $conv/model.onnx --data $conv -o $WORK/vgb/run -f"
            "eval $conv/model.onnx $WORK/vgb/p.onnx --data $conv --json"
        )
        # helgrind: calibration on two worker threads (64 copies of one
        # sample, so that both take some) shares nothing unlocked;
        # tests/valgrind/openblas.supp holds OpenBLAS's own pool handshake
        mkdir -p "$WORK/hg"
        local k
        for k in $(seq 0 63); do cp -r "$conv/test_data_set_0" "$WORK/hg/test_data_set_$k"; done
        if valgrind --tool=helgrind -q --error-exitcode=9 --suppressions=tests/valgrind/openblas.supp \
            "$BUILD/onnxcomp" compress -f -q "$conv/model.onnx" -o "$WORK/hg.onnx" --quant static \
            --data "$WORK/hg" --limit 64 --threads 2 2> "$WORK/vg.err"; then
            echo "PASS helgrind: sample-parallel calibration"
        else
            echo "FAIL helgrind: sample-parallel calibration: $(grep -m3 -A4 'Possible data race' "$WORK/vg.err" | head -c 600)"
        fi
        local c
        for c in "${cmds[@]}"; do
            # shellcheck disable=SC2086
            if "${vgq[@]}" --trace-children=yes "$BUILD/onnxcomp" $c > /dev/null 2> "$WORK/vg.err"; then
                echo "PASS valgrind onnxcomp ${c%% *} (${c:0:60}...)"
            else
                echo "FAIL valgrind onnxcomp $c: $(head -c 600 "$WORK/vg.err")"
            fi
        done
    fi
}
suite valgrind vg

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
