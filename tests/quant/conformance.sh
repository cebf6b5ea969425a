#!/usr/bin/env bash
# conformance.sh ONNXCOMP: every model of Debian's libonnx-testdata (about
# 1,070 single-op and small models) through each quantization mode: static
# (calibrated on the model's own test_data_set_0; also per-tensor weights,
# and symmetric int8 activations), weight-only int8, dynamic and fp16 (also
# keep_default=0). The models are valid, so a refusal must be exit 5 (something
# onnxcomp does not support: sequence inputs, ops the interpreter lacks for
# calibration, an opset it cannot raise), in one line naming the model. Every output written is then
# run by ONNX Runtime on test_data_set_0 beside the original: cosine >= 0.999
# for weight, dynamic and fp16, >= 0.99 for static and fp16 with
# keep_default=0 (static: inputs the model was calibrated on), >= 0.98 for
# static with symmetric int8 activations; models ORT cannot load, or whose outputs are random, are
# skipped by compare.js. Prints one PASS/FAIL line per model and mode for the
# exits, then compare.js's lines. Then the same for the pruning passes
# (magnitude, N:M, channel and Wanda, the last two on the test data): their
# outputs change the model's results by design, so ORT must load and run
# them, nothing more.
set -u
oc=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
root=$(cd "$(dirname "$0")/../.." && pwd)
data=/usr/share/libonnx-testdata/data
[ -d "$data" ] || { echo "SKIP quant conformance: libonnx-testdata not installed"; exit 0; }
[ -f "$root/tests/ort/node_modules/onnxruntime-node/package.json" ] || { echo "FAIL quant conformance: onnxruntime-node missing"; exit 1; }
tmp=$(mktemp -d /tmp/oc-qconf.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

mapfile -t models < <(find "$data" -name model.onnx | sort)
: > "$tmp/hi.tsv"
: > "$tmp/lo.tsv"
: > "$tmp/pr.tsv"
: > "$tmp/s8.tsv"
refused=0
n=0
for m in "${models[@]}"; do
    n=$((n + 1))
    d=$(dirname "$m")
    name=${d#"$data"/}
    ds=$d/test_data_set_0
    for mode in static static-pt static-s8 weight dynamic fp16 fp16-all magnitude nm channel wanda; do
        case $mode in
            magnitude|nm|channel|wanda) args=(--prune "$mode") ;;
            static-pt) args=(--quant static:per_channel=0) ;;
            static-s8) args=(--quant "static:activations=int8,symmetric=1") ;;
            fp16-all) args=(--quant fp16:keep_default=0) ;;
            *) args=(--quant "$mode") ;;
        esac
        case $mode in
            static*|channel|wanda)
                [ -d "$ds" ] || continue
                args+=(--data "$ds") ;;
        esac
        out=$tmp/$n.$mode.onnx
        "$oc" compress -q -f "$m" -o "$out" "${args[@]}" > /dev/null 2> "$tmp/err"
        rc=$?
        if [ "$rc" -eq 0 ]; then
            [ -d "$ds" ] || continue
            case $mode in
                static-s8) list="s8" ;;
                static*|fp16-all) list="lo" ;;
                magnitude|nm|channel|wanda) list="pr" ;;
                *) list="hi" ;;
            esac
            printf '%s\t%s\t%s\t%s\n' "$mode $name" "$m" "$out" "$ds" >> "$tmp/$list.tsv"
        elif [ "$rc" -eq 5 ] && [ "$(wc -l < "$tmp/err")" -eq 1 ] && grep -qF "$m" "$tmp/err" &&
            [ ! -e "$out" ]; then
            refused=$((refused + 1))
        else
            echo "FAIL conformance $mode $name: exit $rc, $(wc -l < "$tmp/err") lines: $(head -c 300 "$tmp/err")"
        fi
    done
done
echo "PASS conformance: $n models x 11 passes, $refused refusals (exit 5, unsupported: one line naming the model, no output)"
node "$root/tests/ort/compare.js" --cos 0.999 "$tmp/hi.tsv"
node "$root/tests/ort/compare.js" --cos 0.99 "$tmp/lo.tsv"
# symmetric int8 activations put a probability in [0, 1] on 128 of the 256
# levels (zero point 0): a 1,000-way Softmax's small probabilities move by a
# step (test_softmax_lastdim: 0.981)
node "$root/tests/ort/compare.js" --cos 0.98 "$tmp/s8.tsv"
# pruned: ORT loads and runs them (any cosine)
node "$root/tests/ort/compare.js" --cos -1 "$tmp/pr.tsv"
