#!/usr/bin/env bash
# demo.sh: the README's first command ends here. The main job on generated
# models (random weights, fixed seeds; nothing is downloaded):
#   1. a small CNN classifier (scripts/make-example-model.py) compressed
#      three ways: static int8 calibrated on 32 generated samples, channel
#      pruning 30% then static int8, and weight-only int4;
#   2. a ResNet-18-shaped model (scripts/make-resnet18.py, 45 MB) to static
#      int8;
# and for each output ONNX Runtime runs it beside the original on the same
# inputs (tests/ort/compare.js): the static int8 outputs must keep cosine
# >= 0.99; the pruned one is printed (pruning changes the results by design).
# Last, ORT's speed on the ResNet-18 float and int8 models, 1 thread.
# DEMO_DIR (default build/demo) holds everything.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${DEMO_DIR:-build/demo}
oc=build/onnxcomp
py=/usr/bin/python3
mkdir -p "$out"

step() { printf '\n== %s\n' "$*"; }

"$py" scripts/make-example-model.py "$out/example.onnx"
"$py" scripts/bench-make-inputs.py "$out/example.onnx" "$out/cal" 32 > /dev/null
step "onnxcomp info $out/example.onnx"
"$oc" info "$out/example.onnx"

step "static int8, calibrated on 32 samples"
"$oc" compress -f "$out/example.onnx" -o "$out/example.int8.onnx" --quant static --data "$out/cal"
node tests/ort/compare.js --cos 0.99 "$out/example.onnx" "$out/example.int8.onnx"

step "channel pruning 30%, then static int8"
"$oc" compress -f "$out/example.onnx" -o "$out/example.pruned-int8.onnx" --prune channel:ratio=0.3 \
    --quant static --data "$out/cal"
node tests/ort/compare.js --cos -1 "$out/example.onnx" "$out/example.pruned-int8.onnx"

step "weight-only int4, blocks of 32"
"$oc" compress -f "$out/example.onnx" -o "$out/example.int4.onnx" --quant weight:bits=4,block=32
node tests/ort/compare.js --cos 0.9 "$out/example.onnx" "$out/example.int4.onnx"

step "ResNet-18 (generated, 45 MB) to static int8"
[ -f "$out/resnet18.onnx" ] || "$py" scripts/make-resnet18.py "$out/resnet18.onnx" > /dev/null
[ -d "$out/cal18" ] || "$py" scripts/bench-make-inputs.py "$out/resnet18.onnx" "$out/cal18" 16 > /dev/null
"$oc" compress -f "$out/resnet18.onnx" -o "$out/resnet18.int8.onnx" --quant static --data "$out/cal18"
node tests/ort/compare.js --cos 0.99 "$out/resnet18.onnx" "$out/resnet18.int8.onnx"

step "ONNX Runtime speed, 1 thread, on the 16 samples"
f=$(node scripts/bench-run-ort.js "$out/resnet18.onnx" "$out/cal18" 1 2 | sed -n 's/.*samples_per_s=\([0-9.]*\).*/\1/p')
q=$(node scripts/bench-run-ort.js "$out/resnet18.int8.onnx" "$out/cal18" 1 2 | sed -n 's/.*samples_per_s=\([0-9.]*\).*/\1/p')
printf 'float %s samples/s, int8 %s samples/s: %sx\n' "$f" "$q" "$(awk -v a="$f" -v b="$q" 'BEGIN { printf "%.2f", b / a }')"
ls -l "$out"/*.onnx
