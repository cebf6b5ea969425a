#!/usr/bin/env bash
# demo.sh: the README's first command ends here. Generates the example model,
# describes it, compresses it, and has ONNX Runtime check that the output runs
# and matches the original.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${DEMO_DIR:-build/demo}
mkdir -p "$out"
/usr/bin/python3 scripts/make-example-model.py "$out/example.onnx"
echo "== onnxcomp info $out/example.onnx"
build/onnxcomp info "$out/example.onnx"
echo "== onnxcomp compress $out/example.onnx -o $out/example.out.onnx"
build/onnxcomp compress -f -v "$out/example.onnx" -o "$out/example.out.onnx"
ls -l "$out/example.onnx" "$out/example.out.onnx"
echo "== ONNX Runtime: original vs output on the same inputs"
node tests/ort/compare.js "$out/example.onnx" "$out/example.out.onnx"
