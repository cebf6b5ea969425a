#!/usr/bin/env bash
# bench-prune.sh: pruning benchmarks (not tests). Prints, from one run:
#  1. tool time of magnitude 50% and channel 30% on the ~600 MB generated
#     model beside `cp` of the same file;
#  2. for the corpus CNNs and a generated ResNet-18: parameters and MACs
#     (onnxcomp info) and ONNX Runtime throughput (1 thread) of the float
#     model beside channel-pruned ones (ratio 0.3 and 0.5, round_to 8), and
#     beside magnitude 50% and 2:4 (same shapes: dense kernels see no gain);
#     also channel 0.3 followed by static int8 (the two compose).
# Env: BENCH_DIR (default /tmp/onnxcomp-bench-prune), ONNXCOMP, SKIP_BIG=1.
set -u
PY=/usr/bin/python3
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
DIR=${BENCH_DIR:-/tmp/onnxcomp-bench-prune}
CORPUS=${CORPUS:-$REPO/../shared/corpus/models}
mkdir -p "$DIR"
cp "${ONNXCOMP:-$REPO/build/onnxcomp}" "$DIR/onnxcomp" || { echo "bench-prune: build onnxcomp first (make)" >&2; exit 1; }
OC=$DIR/onnxcomp
[ -f "$REPO/tests/ort/node_modules/onnxruntime-node/package.json" ] || { echo "bench-prune: run scripts/setup.sh first" >&2; exit 1; }

tm() { # prints "wall_s rss_kb" of a command
    /usr/bin/time -f '%e %M' -o "$DIR/time.txt" "$@" > /dev/null 2> "$DIR/cmd.err" || { echo "fail"; return 1; }
    cat "$DIR/time.txt"
}
mib() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }
info() { # MODEL [--dim N=V...] -> "params macs"
    "$OC" info --json "$@" | $PY -c "import json,sys; d=json.load(sys.stdin); print(d['parameters'], d['macs'] if d['macs'] is not None else -1)"
}
ort() { # MODEL DATA -> samples/s at 1 thread
    node "$HERE/bench-run-ort.js" "$1" "$2" 1 2 | sed -n 's/.*samples_per_s=\([0-9.]*\).*/\1/p'
}

echo "== 1. tool time on a large model"
if [ "${SKIP_BIG:-0}" != 1 ]; then
    big=$DIR/big.onnx
    [ -f "$big" ] || "$PY" "$HERE/gen-big-model.py" "$big" > /dev/null
    size=$(stat -c %s "$big")
    cat "$big" > /dev/null
    read -r cpt cpm <<< "$(tm cp "$big" "$DIR/big.cp.onnx")"
    printf 'model %.0f MiB\n' "$(echo "$size/1048576" | bc -l)"
    printf '%-34s %8s s %8s MiB RSS\n' "cp" "$cpt" "$(mib "$cpm")"
    for p in magnitude:sparsity=0.5 magnitude:sparsity=0.5,scope=global nm:n=2,m=4 channel:ratio=0.3; do
        read -r t r <<< "$(tm "$OC" compress -f -q "$big" -o "$DIR/big.p.onnx" --prune "$p")"
        if [ "$t" = fail ]; then
            printf '%-34s failed: %s\n' "$p" "$(head -c 200 "$DIR/cmd.err")"
            continue
        fi
        printf '%-34s %8s s %8s MiB RSS   time %.2fx cp, RSS %.2fx file\n' "$p" "$t" "$(mib "$r")" \
            "$(echo "$t/$cpt" | bc -l)" "$(echo "$r*1024/$size" | bc -l)"
    done
    rm -f "$DIR/big.cp.onnx" "$DIR/big.p.onnx"
fi

echo
echo "== 2. parameters, MACs and ONNX Runtime throughput (1 thread, samples/s), float vs pruned"
printf '%-20s %-34s %10s %12s %9s %8s\n' model variant params MACs "ORT/s" speedup
res=$DIR/resnet18.onnx
[ -f "$res" ] || "$PY" "$HERE/make-resnet18.py" "$res" > /dev/null 2>&1
for spec in "fashion-mnist-cnn:$CORPUS/fashion-mnist-cnn.onnx:" "ultraface-rfb-320:$CORPUS/ultraface-rfb-320.onnx:" \
    "yolo-fastestv2-coco:$CORPUS/yolo-fastestv2-coco.onnx:" "ppocr-cls-v2:$CORPUS/ppocr-cls-v2.onnx:--dims x=1,3,48,192" \
    "ppocr-v4-det:$CORPUS/ppocr-v4-det.onnx:--dims x=1,3,320,320" "resnet18:$res:"; do
    name=${spec%%:*}
    rest=${spec#*:}
    m=${rest%%:*}
    dims=${rest#*:}
    [ -f "$m" ] || continue
    data=$DIR/data/$name
    # shellcheck disable=SC2086
    [ -d "$data" ] || "$PY" "$HERE/bench-make-inputs.py" "$m" "$data" 20 $dims --range 0,1 > /dev/null 2>&1
    # the benchmark's input size as --dim pins for info's MACs run
    mapfile -t pin < <($PY - "$m" "$dims" <<'PY'
import sys, onnx
m = onnx.load(sys.argv[1], load_external_data=False)
spec = dict(s.split("=", 1) for s in sys.argv[2].replace("--dims ", "").split() if "=" in s)
inits = {t.name for t in m.graph.initializer}
for i in m.graph.input:
    if i.name in spec and i.name not in inits:
        vals = spec[i.name].split(",")
        for d, v in zip(i.type.tensor_type.shape.dim, vals):
            if d.dim_param:
                print("--dim"); print("%s=%s" % (d.dim_param, v))
PY
)
    base=$(ort "$m" "$data")
    read -r p0 mac0 <<< "$(info "$m" "${pin[@]}")"
    printf '%-20s %-34s %10s %12s %9.1f %8s\n' "$name" float "$p0" "$mac0" "${base:-0}" 1.00x
    for p in channel:ratio=0.3,round_to=8 channel:ratio=0.5,round_to=8 magnitude:sparsity=0.5 nm:n=2,m=4 \
        "channel:ratio=0.3,round_to=8 + static"; do
        args=(--prune "${p% + static}")
        case $p in *static) args+=(--quant static --data "$data") ;; esac
        if ! "$OC" compress -f -q "$m" -o "$DIR/$name.p.onnx" "${args[@]}" 2> "$DIR/cmd.err"; then
            printf '%-20s %-34s failed: %s\n' "$name" "$p" "$(head -c 150 "$DIR/cmd.err")"
            continue
        fi
        s=$(ort "$DIR/$name.p.onnx" "$data")
        read -r p1 mac1 <<< "$(info "$DIR/$name.p.onnx" "${pin[@]}")"
        printf '%-20s %-34s %10s %12s %9.1f %7.2fx\n' "$name" "$p" "$p1" "$mac1" "${s:-0}" \
            "$(echo "${s:-0}/${base:-1}" | bc -l)"
    done
done
echo
echo "MACs: onnxcomp info (one run on zero inputs at the benchmark's input size)."
