#!/usr/bin/env bash
# bench-quant.sh: quantization benchmarks (not tests). Prints, from one run:
#  1. tool time and peak RSS of weight-only int8 on the ~600 MB generated model
#     beside `cp` of the same file (target: at most 2x cp);
#  2. tool time of static int8 with 100 calibration samples on the corpus CNNs
#     beside the time onnxruntime-node takes to merely run those 100 samples
#     (target: at most 1.5x);
#  3. ONNX Runtime throughput (1 thread) of each quantized CNN beside its float
#     original, and the file sizes.
# Env: BENCH_DIR (default /tmp/onnxcomp-bench-quant), ONNXCOMP, SKIP_BIG=1.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
OC=${ONNXCOMP:-$ROOT/build/onnxcomp}
DIR=${BENCH_DIR:-/tmp/onnxcomp-bench-quant}
CORPUS=$ROOT/../shared/corpus/models
PY=/usr/bin/python3
mkdir -p "$DIR"
cp "$OC" "$DIR/onnxcomp" && OC=$DIR/onnxcomp

tm() { # prints "wall_s rss_kb" of a command
    /usr/bin/time -f '%e %M' -o "$DIR/time.txt" "$@" > /dev/null 2> "$DIR/cmd.err" || { echo "fail"; return 1; }
    cat "$DIR/time.txt"
}
tbest() { # prints the best wall time of 3 runs of a command, in seconds (ms precision)
    local best="" t0 t1 d
    for _ in 1 2 3; do
        t0=$EPOCHREALTIME
        "$@" > /dev/null 2> "$DIR/cmd.err" || { echo "fail"; return 1; }
        t1=$EPOCHREALTIME
        d=$(echo "$t1 - $t0" | bc -l)
        if [ -z "$best" ] || [ "$(echo "$d < $best" | bc -l)" = 1 ]; then best=$d; fi
    done
    printf '%.3f\n' "$best"
}
mib() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }
big_samples() { # DIR COUNT SEED: COUNT samples X [1, 8, 1024] for the large model
    "$PY" -c "
import numpy as np, os, sys
r = np.random.default_rng(int(sys.argv[3]))
for k in range(int(sys.argv[2])):
    d = os.path.join(sys.argv[1], 's%03d' % k)
    os.makedirs(d, exist_ok=True)
    np.save(os.path.join(d, 'X.npy'), r.standard_normal((1, 8, 1024)).astype(np.float32))
" "$1" "$2" "$3"
}

echo "== 1. weight-only int8 on a large model"
if [ "${SKIP_BIG:-0}" != 1 ]; then
    big=$DIR/big.onnx
    [ -f "$big" ] || "$PY" "$HERE/gen-big-model.py" "$big" > /dev/null
    size=$(stat -c %s "$big")
    cat "$big" > /dev/null
    read -r cpt cpm <<< "$(tm cp "$big" "$DIR/big.cp.onnx")"
    read -r oct ocm <<< "$(tm "$OC" compress -f -q "$big" -o "$DIR/big.w8.onnx" --quant weight:bits=8)"
    out=$(stat -c %s "$DIR/big.w8.onnx" 2>/dev/null || echo 0)
    printf 'model %.0f MiB -> %.0f MiB (%.2fx smaller)\n' "$(echo "$size/1048576" | bc -l)" "$(echo "$out/1048576" | bc -l)" "$(echo "$size/$out" | bc -l)"
    printf '%-28s %8s s %8s MiB RSS\n' "cp" "$cpt" "$(mib "$cpm")"
    printf '%-28s %8s s %8s MiB RSS   time %.2fx cp, RSS %.2fx file\n' "onnxcomp weight int8" "$oct" "$(mib "$ocm")" \
        "$(echo "$oct/$cpt" | bc -l)" "$(echo "$ocm*1024/$size" | bc -l)"
    # static int8 of the same model on 16 generated samples ([1, 8, 1024]);
    # keep_sensitive=0: its random weights drive the Softmax inputs far past
    # what int8 carries, which would keep most of it float
    [ -d "$DIR/bigcal" ] || big_samples "$DIR/bigcal" 16 0
    read -r sst ssm <<< "$(tm "$OC" compress -f -q "$big" -o "$DIR/big.s8.onnx" --quant static:keep_sensitive=0 --data "$DIR/bigcal")"
    ort16=$(node "$HERE/bench-run-ort.js" "$big" "$DIR/bigcal" 1 | sed -n 's/.*run_s=\([0-9.]*\).*/\1/p')
    printf '%-28s %8s s %8s MiB RSS   RSS %.2fx file; ORT runs the 16 samples in %s s\n' "onnxcomp static int8 (16)" \
        "$sst" "$(mib "$ssm")" "$(echo "$ssm*1024/$size" | bc -l)" "${ort16:-?}"
    # int4 with GPTQ's rounding on 256 generated samples (2,048 tokens: the
    # [4096, 1024] down-projections, with more inputs than that, round to
    # nearest and are never gathered)
    [ -d "$DIR/bigcal256" ] || big_samples "$DIR/bigcal256" 256 1
    read -r g4t g4m <<< "$(tm "$OC" compress -f -q "$big" -o "$DIR/big.g4.onnx" --quant weight:bits=4,method=gptq --data "$DIR/bigcal256")"
    read -r r4t r4m <<< "$(tm "$OC" compress -f -q "$big" -o "$DIR/big.r4.onnx" --quant weight:bits=4)"
    printf '%-28s %8s s %8s MiB RSS   RSS %.2fx file; round-to-nearest int4 takes %s s\n' "onnxcomp int4 GPTQ (256)" \
        "$g4t" "$(mib "$g4m")" "$(echo "$g4m*1024/$size" | bc -l)" "$r4t"
    rm -f "$DIR/big.cp.onnx" "$DIR/big.w8.onnx" "$DIR/big.s8.onnx" "$DIR/big.g4.onnx" "$DIR/big.r4.onnx"
fi

echo
echo "== 2/3. static int8 with 100 calibration samples, and ORT speed of the result (1 thread)"
printf '%-22s %9s %9s %6s | %10s %10s %7s | %9s %9s %6s\n' model "tool s" "ORT100 s" ratio "float/s" "int8/s" speedup "float KB" "int8 KB" ratio
# ResNet-18 (generated, random weights): the issue's reference point, a
# hand-made static int8 ResNet-18 ran 1.6x faster than float here
res=$DIR/resnet18.onnx
[ -f "$res" ] || "$PY" "$HERE/make-resnet18.py" "$res" > /dev/null 2>&1
for spec in "mnist-8-cntk:" "fashion-mnist-cnn:" "ultraface-rfb-320:" "yolo-fastestv2-coco:" "ppocr-cls-v2:--dims x=1,3,48,192" \
    "ppocr-v4-det:--dims x=1,3,320,320" "resnet18:"; do
    name=${spec%%:*}
    dims=${spec#*:}
    m=$CORPUS/$name.onnx
    [ "$name" = resnet18 ] && m=$res
    [ -f "$m" ] || continue
    data=$DIR/data/$name
    # shellcheck disable=SC2086
    [ -d "$data" ] || "$PY" "$HERE/bench-make-inputs.py" "$m" "$data" 100 $dims --range 0,1 > /dev/null 2>&1
    tt=$(tbest "$OC" compress -f -q "$m" -o "$DIR/$name.s8.onnx" --quant static --data "$data" --limit 100)
    if [ "$tt" = fail ]; then
        printf '%-22s compress failed: %s\n' "$name" "$(head -c 200 "$DIR/cmd.err")"
        continue
    fi
    ort100=$(node "$HERE/bench-run-ort.js" "$m" "$data" 1 | sed -n 's/.*run_s=\([0-9.]*\).*/\1/p')
    fl=$(node "$HERE/bench-run-ort.js" "$m" "$data" 1 2 | sed -n 's/.*samples_per_s=\([0-9.]*\).*/\1/p')
    q8=$(node "$HERE/bench-run-ort.js" "$DIR/$name.s8.onnx" "$data" 1 2 | sed -n 's/.*samples_per_s=\([0-9.]*\).*/\1/p')
    a=$(stat -c %s "$m")
    b=$(stat -c %s "$DIR/$name.s8.onnx")
    printf '%-22s %9s %9s %6.2f | %10.1f %10.1f %6.2fx | %9d %9d %5.2fx\n' "$name" "$tt" "${ort100:-?}" \
        "$(echo "$tt/${ort100:-1}" | bc -l)" "${fl:-0}" "${q8:-0}" "$(echo "${q8:-0}/${fl:-1}" | bc -l)" \
        $((a / 1024)) $((b / 1024)) "$(echo "$a/$b" | bc -l)"
done
echo
echo "tool s: onnxcomp compress --quant static over 100 samples (load, calibrate, write), best of 3;"
echo "ORT100 s: onnxruntime-node running the same 100 samples (session.run only)."
