#!/usr/bin/env bash
# I/O benchmark of onnxcomp against cp and python's onnx.load/onnx.save.
#
#   scripts/bench-io.sh [--external] [--runs N] [MODEL]
#
# Without MODEL, uses ${BENCH_DIR:-/tmp/onnxcomp-bench}/big.onnx, generating
# it with scripts/gen-big-model.py (${BENCH_MB:-600} MiB) if it is not there.
# Outputs go to BENCH_DIR too (deleted at the end unless BENCH_KEEP=1).
# The onnxcomp binary is ${ONNXCOMP:-build/onnxcomp};
# if it is missing the script says so and runs the references only.
#
# Default mode: each tool reads MODEL and writes a copy; best wall time of N
# runs (default 3), peak RSS (largest of the runs, /usr/bin/time %M), and
# whether the output's bytes equal the input's (cmp).
#   cp MODEL OUT
#   cp MODEL OUT && sync OUT      (the floor if onnxcomp fsyncs its output)
#   onnxcomp compress -f MODEL -o OUT
#   /usr/bin/python3 -c 'onnx.save(onnx.load(MODEL), OUT)'
#
# --external: the same, writing external data:
#   onnxcomp compress -f --external-data[=$EXT_MIN] MODEL -o OUT
#   onnx.save(..., save_as_external_data=True, all_tensors_to_one_file=True)
# (cp copies the file as the floor), and instead of cmp checks with python that
# the output holds the same graph and tensors as the input.
#
# Page cache: nothing is dropped (that needs privileges and is unreliable in
# containers); MODEL is read once with cat first so every run reads it warm.

set -u

PY=/usr/bin/python3
TIME=/usr/bin/time
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
BIN=${ONNXCOMP:-$REPO/build/onnxcomp}
DIR=${BENCH_DIR:-/tmp/onnxcomp-bench}
MB=${BENCH_MB:-600}
EXT_MIN=${EXT_MIN:-}
RUNS=3
EXTERNAL=0
MODEL=

usage() {
    echo "usage: $0 [--external] [--runs N] [MODEL]" >&2
    exit 1
}
while [ $# -gt 0 ]; do
    case "$1" in
        --external) EXTERNAL=1 ;;
        --runs) [ $# -ge 2 ] || usage; RUNS=$2; shift ;;
        --runs=*) RUNS=${1#--runs=} ;;
        -h | --help) sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
        -*) usage ;;
        *) [ -z "$MODEL" ] || usage; MODEL=$1 ;;
    esac
    shift
done
case "$RUNS" in '' | *[!0-9]* | 0) usage ;; esac

if [ ! -x "$TIME" ]; then
    echo "bench-io: $TIME missing: apt-get install time" >&2
    exit 1
fi
mkdir -p "$DIR" || exit 1

if [ -z "$MODEL" ]; then
    MODEL=$DIR/big.onnx
    if [ ! -s "$MODEL" ]; then
        echo "generating $MODEL ($MB MiB) ..."
        "$PY" "$REPO/scripts/gen-big-model.py" "$MODEL" --mb "$MB" || exit 1
    else
        echo "reusing $MODEL"
    fi
fi
if [ ! -r "$MODEL" ]; then
    echo "bench-io: $MODEL: cannot read" >&2
    exit 1
fi
MODEL=$(cd "$(dirname "$MODEL")" && pwd)/$(basename "$MODEL")

have_bin=1
if [ ! -x "$BIN" ]; then
    have_bin=0
    echo "NOTE: onnxcomp not found at $BIN (not built yet?): measuring the references only"
fi

SIZE=$(stat -c %s "$MODEL")
SIZE_MIB=$(awk -v s="$SIZE" 'BEGIN { printf "%.1f", s / 1048576 }')
echo "warm-up: cat $MODEL > /dev/null"
cat "$MODEL" >/dev/null

TFILE=$(mktemp)
trap 'rm -f "$TFILE"' EXIT

# measure NAME OUTPATH CMD...: RUNS timed runs; OUTPATH (file or folder) is
# removed before each.  Sets BEST (s), PEAK (KiB), TIMES, OK (0 if all ran).
measure() {
    local name=$1 out=$2
    shift 2
    local i t0 t1 dt rss rc
    BEST='' PEAK=0 TIMES='' OK=0
    for ((i = 0; i < RUNS; i++)); do
        rm -rf "$out"
        case "$out" in */) mkdir -p "$out" ;; esac
        sync
        t0=$(date +%s%N)
        "$TIME" -o "$TFILE" -f '%e %M' "$@" >/dev/null 2>"$DIR/$name.err"
        rc=$?
        t1=$(date +%s%N)
        if [ $rc -ne 0 ]; then
            echo "  $name: run $((i + 1)) failed (exit $rc): $(grep -v 'Command exited' "$DIR/$name.err" | head -n 3 | tr '\n' ' ')"
            OK=1
            return
        fi
        dt=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
        rss=$(tail -n 1 "$TFILE" | awk '{ print $2 }')
        TIMES="$TIMES $dt"
        [ "$rss" -gt "$PEAK" ] && PEAK=$rss
        if [ -z "$BEST" ] || awk -v a="$dt" -v b="$BEST" 'BEGIN { exit !(a < b) }'; then
            BEST=$dt
        fi
    done
}

# Sizes of an output: a file, or everything in a folder.
out_bytes() {
    if [ -d "$1" ]; then
        du -sb "$1" | awk '{ print $1 }'
    else
        stat -c %s "$1"
    fi
}

# same_model IN OUT: python check that OUT has the graph and tensors of IN.
same_model() {
    "$PY" - "$1" "$2" 2>&1 <<'EOF'
import sys
import onnx
from onnx import numpy_helper
a = onnx.load(sys.argv[1])
b = onnx.load(sys.argv[2])
if a.graph.node != b.graph.node or a.graph.input != b.graph.input or \
        a.graph.output != b.graph.output:
    sys.exit("graph differs")
ta = {t.name: t for t in a.graph.initializer}
tb = {t.name: t for t in b.graph.initializer}
if ta.keys() != tb.keys():
    sys.exit("initializer names differ")
for k in ta:
    x, y = numpy_helper.to_array(ta[k]), numpy_helper.to_array(tb[k])
    if x.dtype != y.dtype or x.shape != y.shape or x.tobytes() != y.tobytes():
        sys.exit("tensor %s differs" % k)
print("same tensors")
EOF
}

ROWS=()
CP_BEST=
# row NAME OUT: appends a table row from the last measure.
row() {
    local name=$1 out=$2 check rss_mib rss_ratio vs_cp obytes
    if [ $OK -ne 0 ]; then
        ROWS+=("$(printf '%-12s %10s %8s %12s %9s %12s  %s' "$name" failed - - - - "see $DIR/$name.err")")
        return
    fi
    [ "$name" = cp ] && CP_BEST=$BEST
    rss_mib=$(awk -v k="$PEAK" 'BEGIN { printf "%.1f", k / 1024 }')
    rss_ratio=$(awk -v k="$PEAK" -v s="$SIZE" 'BEGIN { printf "%.2f", k * 1024 / s }')
    vs_cp=$(awk -v a="$BEST" -v b="${CP_BEST:-0}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
    obytes=$(out_bytes "$out")
    if [ $EXTERNAL -eq 1 ] && [ "${name#cp}" = "$name" ]; then
        local f
        f=$(find "$out" -maxdepth 1 -name '*.onnx' | head -n 1)
        if [ -n "$f" ]; then check=$(same_model "$MODEL" "$f" | tail -n 1); else check="no .onnx in $out"; fi
    elif cmp -s "$MODEL" "$out"; then
        check="identical"
    else
        check="DIFFERENT bytes"
    fi
    ROWS+=("$(printf '%-12s %10s %8s %12s %9s %12s  %s' "$name" "$BEST" "$vs_cp" "$rss_mib" "$rss_ratio" \
        "$(awk -v b="$obytes" 'BEGIN { printf "%.1f", b / 1048576 }')" "$check")")
    echo "  $name: runs (s):$TIMES"
}

# shellcheck disable=SC2016 # the sh -c scripts expand their own arguments
if [ $EXTERNAL -eq 0 ]; then
    MODE="inline: compress with no passes"
    echo "cp ..."
    measure cp "$DIR/cp.onnx" cp "$MODEL" "$DIR/cp.onnx"
    row cp "$DIR/cp.onnx"
    echo "cp+fsync ..."
    measure cp+fsync "$DIR/cp.onnx" sh -c 'cp "$1" "$2" && sync "$2"' sh "$MODEL" "$DIR/cp.onnx"
    row cp+fsync "$DIR/cp.onnx"
    if [ $have_bin -eq 1 ]; then
        echo "onnxcomp ..."
        measure onnxcomp "$DIR/out.onnx" "$BIN" compress -f "$MODEL" -o "$DIR/out.onnx"
        row onnxcomp "$DIR/out.onnx"
    fi
    echo "python onnx ..."
    measure python-onnx "$DIR/py.onnx" "$PY" -c \
        'import sys, onnx; onnx.save(onnx.load(sys.argv[1]), sys.argv[2])' "$MODEL" "$DIR/py.onnx"
    row python-onnx "$DIR/py.onnx"
else
    MODE="external data: compress --external-data${EXT_MIN:+=$EXT_MIN}"
    echo "cp ..."
    measure cp "$DIR/cp.onnx" cp "$MODEL" "$DIR/cp.onnx"
    row cp "$DIR/cp.onnx"
    echo "cp+fsync ..."
    measure cp+fsync "$DIR/cp.onnx" sh -c 'cp "$1" "$2" && sync "$2"' sh "$MODEL" "$DIR/cp.onnx"
    row cp+fsync "$DIR/cp.onnx"
    if [ $have_bin -eq 1 ]; then
        echo "onnxcomp --external-data ..."
        measure onnxcomp "$DIR/ext-onnxcomp/" "$BIN" compress -f "--external-data${EXT_MIN:+=$EXT_MIN}" \
            "$MODEL" -o "$DIR/ext-onnxcomp/out.onnx"
        row onnxcomp "$DIR/ext-onnxcomp"
    fi
    echo "python onnx (save_as_external_data) ..."
    measure python-onnx "$DIR/ext-python/" "$PY" -c '
import sys, onnx
onnx.save(onnx.load(sys.argv[1]), sys.argv[2], save_as_external_data=True,
          all_tensors_to_one_file=True, location="out.onnx.data",
          size_threshold=int(sys.argv[3] or 1024))' "$MODEL" "$DIR/ext-python/out.onnx" "$EXT_MIN"
    row python-onnx "$DIR/ext-python"
fi

echo
echo "model: $MODEL ($SIZE_MIB MiB, $SIZE bytes)"
echo "mode:  $MODE; best of $RUNS runs; MiB = 2^20 bytes"
printf '%-12s %10s %8s %12s %9s %12s  %s\n' tool "wall s" "vs cp" "peak RSS MiB" "RSS/file" "output MiB" "output check"
for r in "${ROWS[@]}"; do
    echo "$r"
done
[ $have_bin -eq 1 ] || echo "(onnxcomp not measured: $BIN not found)"

# Drop the output copies (GBs for the default model) unless BENCH_KEEP=1;
# the model itself is kept for reuse, and error logs if not empty.
if [ "${BENCH_KEEP:-0}" != 1 ]; then
    rm -rf "$DIR/cp.onnx" "$DIR/out.onnx" "$DIR/py.onnx" "$DIR/ext-onnxcomp" "$DIR/ext-python"
    find "$DIR" -maxdepth 1 -name '*.err' -empty -delete
fi
