#!/usr/bin/env bash
# Inference throughput of `onnxcomp run` beside ONNX Runtime (onnxruntime-node).
#
#   scripts/bench-run.sh [--threads "1 2"] [--only NAME,NAME...] [MODEL.onnx...]
#
# A benchmark, not a test: it prints figures and exits 0 unless it could not
# set itself up.  For every model and thread count, both engines run the same
# model on the same inputs:
#
#   onnxcomp run MODEL --data DIR -o OUT -f -q --threads T
#       timed whole (wall clock, so model load and writing outputs included),
#       on a 1-sample folder (t_1: best of 2, or 1 run when it takes > 3 s)
#       and once on N samples (t_N); steady-state samples/s =
#       (N-1) / (t_N - t_1).  Peak RSS of the N-sample run (/usr/bin/time %M).
#   node scripts/bench-run-ort.js MODEL DIR T $BENCH_ORT_MIN
#       one session (intraOpNumThreads T, interOpNumThreads 1, graph
#       optimization 'all'), 1 warm-up, then the samples one by one (read the
#       .npy + session.run), repeated until BENCH_ORT_MIN seconds (default 1)
#       have gone by; samples/s from that loop.  Peak RSS of the node process
#       (/usr/bin/time %M), which includes node itself (the baseline is printed
#       at the end).
#
# Models (without MODEL arguments):
#   - from $CORPUS (default ../shared/corpus/models beside the repo), when it
#     exists: mnist-8-cntk, fashion-mnist-cnn, ultraface-rfb-320,
#     yolo-fastestv2-coco, ppocr-cls-v2 (input [1,3,48,192]);
#   - resnet18: scripts/make-resnet18.py (random weights, [1,3,224,224]);
#   - small-transformer: scripts/make-small-transformer.py (4 layers, D 256,
#     seq 64, 4 heads).
# --only keeps the models of those names.  MODEL arguments bench those files
# instead (N = ${BENCH_SAMPLES:-50}, symbolic dims = 1).
#
# Inputs: scripts/bench-make-inputs.py writes N sample folders of
# deterministic uniform [-1, 1) float32 .npy files, the layout `onnxcomp run
# --data` reads: DIR/0000/<input>.npy ...  Generated models and inputs are
# kept in BENCH_DIR (default /tmp/onnxcomp-bench-run) and reused by later runs.
#
# Environment:
#   ONNXCOMP       binary (default build/onnxcomp; a copy made at the start runs)
#   BENCH_DIR      work folder (default /tmp/onnxcomp-bench-run)
#   CORPUS         folder of corpus models
#   BENCH_SAMPLES  N for every model (default: per model, 20 to 3000: the fast models get enough samples for a run of about a second)
#   BENCH_BUDGET   seconds one N-sample onnxcomp run should take at most
#                  (default 12): N shrinks to about BUDGET / t_1 when the
#                  interpreter is slow (never below 3)
#   BENCH_TIMEOUT  seconds before an onnxcomp run is killed (default 120)
#   BENCH_ORT_MIN  seconds of ORT timing loop (default 1)
# The table is also written to $BENCH_DIR/results.txt.

set -u

PY=/usr/bin/python3
TIME=/usr/bin/time
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
BIN=${ONNXCOMP:-$REPO/build/onnxcomp}
DIR=${BENCH_DIR:-/tmp/onnxcomp-bench-run}
CORPUS=${CORPUS:-$REPO/../shared/corpus/models}
BUDGET=${BENCH_BUDGET:-12}
TIMEOUT=${BENCH_TIMEOUT:-120}
ORT_MIN=${BENCH_ORT_MIN:-1}
ORT_JS=$HERE/bench-run-ort.js
THREADS="1 2"
ONLY=
MODELS=()

usage() {
    echo "usage: $0 [--threads \"1 2\"] [--only NAME,NAME...] [MODEL.onnx...]" >&2
    exit 1
}
while [ $# -gt 0 ]; do
    case "$1" in
        --threads) [ $# -ge 2 ] || usage; THREADS=$2; shift ;;
        --threads=*) THREADS=${1#--threads=} ;;
        --only) [ $# -ge 2 ] || usage; ONLY=$2; shift ;;
        --only=*) ONLY=${1#--only=} ;;
        -h | --help) sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
        -*) usage ;;
        *) MODELS+=("$1") ;;
    esac
    shift
done
for t in $THREADS; do
    case "$t" in '' | *[!0-9]* | 0) usage ;; esac
done
for v in "$BUDGET" "$TIMEOUT"; do
    case "$v" in '' | *[!0-9]* | 0) echo "bench-run: BENCH_BUDGET and BENCH_TIMEOUT are whole seconds" >&2; exit 1 ;; esac
done

die() { echo "bench-run: $*" >&2; exit 1; }
[ -x "$TIME" ] || die "$TIME missing: apt-get install time"
command -v node >/dev/null || die "node missing: apt-get install nodejs"
[ -d "$REPO/tests/ort/node_modules/onnxruntime-node" ] ||
    die "onnxruntime-node missing: run scripts/setup.sh (npm ci in tests/ort)"
mkdir -p "$DIR/models" "$DIR/data" "$DIR/out" "$DIR/logs" || exit 1
RESULTS=$DIR/results.txt
: >"$RESULTS"

# --- model list: NAME|PATH|N|DIMS (DIMS: --dims argument for inputs, or empty)
LIST=()
if [ ${#MODELS[@]} -gt 0 ]; then
    for m in "${MODELS[@]}"; do
        [ -r "$m" ] || die "$m: cannot read"
        m=$(cd "$(dirname "$m")" && pwd)/$(basename "$m")
        LIST+=("$(basename "$m" .onnx)|$m|${BENCH_SAMPLES:-50}|")
    done
else
    if [ -d "$CORPUS" ]; then
        CORPUS=$(cd "$CORPUS" && pwd)
        for spec in \
            "mnist-8-cntk|3000|" \
            "fashion-mnist-cnn|1000|" \
            "ultraface-rfb-320|50|" \
            "yolo-fastestv2-coco|40|" \
            "ppocr-cls-v2|100|x=1,3,48,192"; do
            name=${spec%%|*}
            rest=${spec#*|}
            if [ -r "$CORPUS/$name.onnx" ]; then
                LIST+=("$name|$CORPUS/$name.onnx|${rest%%|*}|${rest#*|}")
            else
                echo "bench-run: $CORPUS/$name.onnx missing, skipped" >&2
            fi
        done
    else
        echo "bench-run: no corpus at $CORPUS; generated models only" >&2
    fi
    LIST+=("resnet18|$DIR/models/resnet18.onnx|20|")
    LIST+=("small-transformer|$DIR/models/small-transformer.onnx|50|")
fi
if [ -n "$ONLY" ]; then
    kept=()
    for e in "${LIST[@]}"; do
        case ",$ONLY," in *",${e%%|*},"*) kept+=("$e") ;; esac
    done
    LIST=("${kept[@]+"${kept[@]}"}")
    [ ${#LIST[@]} -gt 0 ] || die "--only $ONLY: no such model"
fi

# --- helpers ----------------------------------------------------------------
now_ns() { date +%s%N; }

# fcalc EXPR: floating-point arithmetic with awk (the value is assigned
# first: a bare '>' inside printf's arguments would redirect to a file).
fcalc() { awk "BEGIN { v = ($1); printf \"%s\", v }" 2>/dev/null; }

# timed LOG CMD...: runs CMD under /usr/bin/time, CMD's stdout+stderr to LOG.
# Sets T_WALL (seconds, from the clock around it), T_RSS (KiB), T_CPU (%P:
# user+sys over wall, "100%" = one core busy all along), T_RC.
timed() {
    local log=$1 tf=$DIR/logs/time.$$ t0 t1
    shift
    rm -f "$tf"
    t0=$(now_ns)
    "$TIME" -o "$tf" -f '%e %M %P' "$@" >"$log" 2>&1
    T_RC=$?
    t1=$(now_ns)
    T_WALL=$(fcalc "($t1 - $t0) / 1e9")
    T_RSS=$(tail -n 1 "$tf" 2>/dev/null | awk 'NF == 3 { print $2 }')
    T_CPU=$(tail -n 1 "$tf" 2>/dev/null | awk 'NF == 3 { print $3 }')
    [ -n "$T_RSS" ] || T_RSS=0
    [ -n "$T_CPU" ] || T_CPU=-
    rm -f "$tf"
}

mib() { fcalc "$1 / 1024"; }

# first_error LOG: the first line of LOG worth quoting.
first_error() { grep -v '^[[:space:]]*$' "$1" 2>/dev/null | head -n 1 | cut -c 1-90; }

# subset SRC N DST: DST holds hard links to the first N sample folders of SRC.
subset() {
    local src=$1 n=$2 dst=$3 s i=0
    rm -rf "$dst"
    mkdir -p "$dst" || return 1
    for s in "$src"/*/; do
        [ "$i" -lt "$n" ] || break
        s=${s%/}
        cp -al "$s" "$dst/${s##*/}" || return 1
        i=$((i + 1))
    done
}

# ensure_model NAME PATH: generate the project's models when missing.
ensure_model() {
    local name=$1 path=$2
    [ -s "$path" ] && return 0
    case "$name" in
        resnet18) "$PY" "$HERE/make-resnet18.py" "$path.tmp" ;;
        small-transformer) "$PY" "$HERE/make-small-transformer.py" "$path.tmp" ;;
        *) echo "bench-run: $path missing" >&2; return 1 ;;
    esac >&2 && mv "$path.tmp" "$path"
}

# ensure_data NAME PATH N DIMS: (re)generate $DIR/data/NAME when its stamp differs.
ensure_data() {
    local name=$1 path=$2 n=$3 dims=$4 d stamp
    d=$DIR/data/$name
    stamp="$path $(stat -c '%s %Y' "$path") n=$n dims=$dims v1"
    if [ "$(cat "$d/.stamp" 2>/dev/null)" != "$stamp" ] || [ ! -d "$d/all" ] || [ ! -d "$d/one" ]; then
        rm -rf "$d"
        mkdir -p "$d" || return 1
        local args=("$path" "$d/all" "$n")
        [ -n "$dims" ] && args+=(--dims "$dims")
        "$PY" "$HERE/bench-make-inputs.py" "${args[@]}" >&2 || return 1
        subset "$d/all" 1 "$d/one" || return 1
        echo "$stamp" >"$d/.stamp"
    fi
}

FMT='%-19s %3s %5s %9s %5s %10s %8s %7s %7s %6s %6s %7s  %s\n'
row() {
    # shellcheck disable=SC2059
    printf "$FMT" "$@" | tee -a "$RESULTS"
}

# --- run ----------------------------------------------------------------------
START=$(now_ns)
echo "onnxcomp: $BIN"
echo "ORT:      onnxruntime-node $(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' \
    "$REPO/tests/ort/node_modules/onnxruntime-node/package.json" | head -n 1)"
echo "cores:    $(nproc)   threads: $THREADS   work dir: $DIR"
LOAD0=$(cut -d ' ' -f 1 /proc/loadavg 2>/dev/null)
echo "load:     $LOAD0 (1-minute average at start)"
if [ -n "$LOAD0" ] && [ "$(fcalc "$LOAD0 >= 0.5")" = 1 ]; then
    echo "warning:  the machine is busy; figures (2-thread ones most) will be low and noisy"
fi
# Bench a copy, so a rebuild of build/onnxcomp during the bench does not bite.
if [ -x "$BIN" ]; then
    cp "$BIN" "$DIR/onnxcomp.snapshot" && BIN=$DIR/onnxcomp.snapshot
else
    echo "onnxcomp binary missing: its columns will say so"
fi
echo
row "model" "thr" "oc N" "oc samp/s" "ORT N" "ORT samp/s" "ours/ORT" "oc MiB" "ORT MiB" "oc CPU" "ORT CPU" "oc t_1" "notes"

for entry in "${LIST[@]}"; do
    IFS='|' read -r name path n dims <<<"$entry"
    [ -n "${BENCH_SAMPLES:-}" ] && n=$BENCH_SAMPLES
    if ! ensure_model "$name" "$path"; then
        row "$name" - - - - - - - - - - - "cannot make the model"
        continue
    fi
    if ! ensure_data "$name" "$path" "$n" "$dims"; then
        row "$name" - - - - - - - - - - - "cannot make inputs"
        continue
    fi
    data=$DIR/data/$name
    for th in $THREADS; do
        out=$DIR/out/$name
        log=$DIR/logs/$name-t$th
        oc_sps=- oc_n=- oc_mib=- oc_cpu=- oc_t1=- notes=()

        # onnxcomp: 1 sample twice (warms the page cache; keep the best), then N.
        if [ ! -x "$BIN" ]; then
            notes+=("onnxcomp: no binary")
        else
            t1=
            for _ in 1 2; do
                rm -rf "$out"
                timed "$log.oc1" timeout -k 5 "$TIMEOUT" "$BIN" run "$path" --data "$data/one" \
                    -o "$out" -f -q --threads "$th"
                if [ "$T_RC" -ne 0 ]; then
                    t1=
                    break
                fi
                if [ -z "$t1" ] || [ "$(fcalc "$T_WALL < $t1")" = 1 ]; then t1=$T_WALL; fi
                # A slow model: one run is enough to warm the cache.
                [ "$(fcalc "$T_WALL > 3")" = 1 ] && break
            done
            if [ "$T_RC" -eq 124 ] || [ "$T_RC" -eq 137 ]; then
                notes+=("onnxcomp: 1 sample timed out (${TIMEOUT}s)")
            elif [ -z "$t1" ]; then
                notes+=("onnxcomp exit $T_RC: $(first_error "$log.oc1")")
            else
                oc_t1=$(fcalc "$t1")
                oc_t1=$(printf '%.3f' "$oc_t1")
                # Fewer samples when one run costs too much for the budget.
                k=$(fcalc "int($BUDGET / ($t1 > 0.001 ? $t1 : 0.001))")
                [ "$k" -lt 3 ] && k=3
                [ "$k" -gt "$n" ] && k=$n
                ndir=$data/all
                if [ "$k" -lt "$n" ]; then
                    ndir=$data/first$k
                    [ -d "$ndir" ] || subset "$data/all" "$k" "$ndir"
                    notes+=("oc N cut to $k by BENCH_BUDGET")
                fi
                rm -rf "$out"
                timed "$log.ocN" timeout -k 5 "$TIMEOUT" "$BIN" run "$path" --data "$ndir" \
                    -o "$out" -f -q --threads "$th"
                if [ "$T_RC" -eq 124 ] || [ "$T_RC" -eq 137 ]; then
                    notes+=("onnxcomp: $k samples timed out (${TIMEOUT}s)")
                elif [ "$T_RC" -ne 0 ]; then
                    notes+=("onnxcomp exit $T_RC on $k samples: $(first_error "$log.ocN")")
                else
                    oc_n=$k
                    oc_mib=$(printf '%.1f' "$(mib "$T_RSS")")
                    oc_cpu=$T_CPU
                    if [ "$(fcalc "$T_WALL > $t1")" = 1 ] && [ "$k" -gt 1 ]; then
                        oc_sps=$(printf '%.2f' "$(fcalc "($k - 1) / ($T_WALL - $t1)")")
                    else
                        notes+=("t_N <= t_1: no figure")
                    fi
                    nout=$(find "$out" -name '*.npy' 2>/dev/null | wc -l)
                    [ "$nout" -lt "$k" ] && notes+=("only $nout .npy outputs for $k samples")
                fi
            fi
            rm -rf "$out"
        fi

        # ONNX Runtime on all N samples.
        ort_sps=- ort_n=- ort_mib=- ort_cpu=-
        timed "$log.ort" node "$ORT_JS" "$path" "$data/all" "$th" "$ORT_MIN"
        if [ "$T_RC" -eq 0 ] && grep -q '^samples=' "$log.ort"; then
            line=$(grep '^samples=' "$log.ort" | tail -n 1)
            ort_n=$(echo "$line" | sed -n 's/.*samples=\([0-9]*\) .*/\1/p')
            ort_sps=$(echo "$line" | sed -n 's/.*samples_per_s=\([0-9.]*\).*/\1/p')
            ort_mib=$(printf '%.1f' "$(mib "$T_RSS")")
            ort_cpu=$T_CPU
        else
            notes+=("ORT exit $T_RC: $(first_error "$log.ort")")
        fi

        ratio=-
        if [ "$oc_sps" != - ] && [ "$ort_sps" != - ]; then
            ratio=$(printf '%.3f' "$(fcalc "$oc_sps / $ort_sps")")
        fi
        note=
        for x in "${notes[@]+"${notes[@]}"}"; do note="${note:+$note; }$x"; done
        row "$name" "$th" "$oc_n" "$oc_sps" "$ort_n" "$ort_sps" "$ratio" "$oc_mib" "$ort_mib" "$oc_cpu" "$ort_cpu" \
            "$oc_t1" "$note"
    done
done

# Baseline RSS of the ORT column: node with onnxruntime-node loaded, no session.
timed "$DIR/logs/node-baseline" node -e \
    "require(require('path').join('$REPO', 'tests/ort/node_modules/onnxruntime-node'))"
{
    echo
    echo "samples/s: onnxcomp = (N-1)/(t_N - t_1), whole-process wall times (load + reading"
    echo "  inputs + writing outputs); ORT = in-process loop of read .npy + session.run."
    echo "oc t_1: seconds for onnxcomp run on 1 sample (model load + 1 inference + output)."
    echo "CPU: (user+sys)/wall of the whole process (oc: the N-sample run); well under"
    echo "  100% x threads means threads idle or the machine busy with something else."
    if [ "$T_RC" -eq 0 ]; then
        echo "ORT MiB includes node itself: node + onnxruntime-node loaded, no session =" \
            "$(printf '%.1f' "$(mib "$T_RSS")") MiB."
    fi
    echo "load: $LOAD0 at start, $(cut -d ' ' -f 1 /proc/loadavg 2>/dev/null) at the end (1-minute averages)."
    echo "total bench time: $(printf '%.0f' "$(fcalc "($(now_ns) - $START) / 1e9")") s;" \
        "logs in $DIR/logs"
} | tee -a "$RESULTS"
exit 0
