#!/usr/bin/env bash
# corpus.sh ONNXCOMP: every corpus model without custom-domain ops pruned
# three ways, each output loaded and run by ONNX Runtime:
#   - magnitude 50%: every pruned layer (weights of >= 256 elements, in any
#     graph) holds exactly round(0.5 x n) zeros (or the zeros it already
#     had, when more), counted by tests/prune/zeros.py, not by onnxcomp;
#   - nm 2:4: build/oc-nmcheck (an independent checker) finds at most 2
#     nonzeros in every group of 4 input channels of every layer it checks;
#   - channel 30%: fewer parameters (info --json), and the model with the
#     channels removed gives the same outputs in ONNX Runtime as the same
#     pass in mode=mask (channels kept, their outgoing weights zeroed):
#     cosine >= 0.9999 and max abs error <= 1e-3 x max |output|; a model
#     whose every group is refused for a LayerNorm over its channels is
#     pruned again with norm=approx: fewer parameters, each group said to be
#     approximate, run by ONNX Runtime (cosine printed);
# and prune + quantize keeps every pruned weight exactly zero (zeros.py: the
# int8 weights equal their zero point at least as often as the pruned float
# weights were zero).
set -u
oc=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(dirname "$oc")
corpus=$root/../shared/corpus
tmp=$(mktemp -d /tmp/oc-prune.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cmp_js=$root/tests/ort/compare.js
hints=$root/tests/ort/hints.json
py=/usr/bin/python3
[ -d "$corpus/models" ] || { echo "SKIP prune corpus: ../shared/corpus is absent"; exit 0; }
[ -f "$root/tests/ort/node_modules/onnxruntime-node/package.json" ] || { echo "FAIL prune corpus: onnxruntime-node missing"; exit 1; }

# ort_check NAME ORIG NEW COS INPUTS [TOL]: ORT runs NEW and agrees with ORIG
# (COS 0: only loads and runs); INPUTS as data.sh's real_inputs gives them
ort_check() {
    local out args=(--hints "$hints")
    [ "$4" != 0 ] && args+=(--cos "$4")
    [ -n "${6:-}" ] && args+=(--tol "$6")
    [ "$4" = 0 ] && args+=(--cos -1)
    if out=$(node "$cmp_js" "${args[@]}" "$2" "$3" "$5" 2>&1) && ! echo "$out" | grep -q '^SKIP'; then
        echo "PASS $1$(echo "$out" | head -1 | sed 's/^PASS [^:]*//')"
    else
        echo "FAIL $1: $(echo "$out" | grep -v '^ort:' | head -2 | tr '\n' ' ')"
    fi
}

# generated inputs (shaped by the hints) for models without real data
$py "$root/tests/quant/gen_calib.py" "$hints" "$tmp/gen" "$corpus"/models/*.onnx > /dev/null
# shellcheck source=tests/quant/data.sh
. "$root/tests/quant/data.sh"

# sparsity NAME PRUNED ORIG FRACTION LEFT: tests/prune/zeros.py counts the
# zeros; LEFT layers (filter banks onnxcomp said it left alone) are unchanged
sparsity_check() {
    local msg
    if msg=$($py "$root/tests/prune/zeros.py" check "$2" "$3" "$4" "$5" 2>&1); then
        echo "PASS $1: $(echo "$msg" | tail -1)"
    else
        echo "FAIL $1: $(echo "$msg" | head -3 | tr '\n' ' ')"
    fi
}
layer_zeros() { $py "$root/tests/prune/zeros.py" count "$1"; }

params() { "$oc" info --json --no-run "$1" | $py -c "import json,sys; print(json.load(sys.stdin)['parameters'])"; }

# only_norm ERRFILE: every group the channel pass left alone was refused for
# a normalisation over its channels alone, which norm=approx lets through
only_norm() {
    local left
    left=$(grep -c "channel: left .* alone: " "$1")
    [ "$left" -gt 0 ] && [ "$left" = "$(grep -c "(norm=approx prunes through it, approximately)" "$1")" ] &&
        ! grep -q "channel: and [0-9]* more groups left alone" "$1"
}

# approx_check NAME MODEL PARAMS INPUTS: channel 30% with norm=approx: fewer
# parameters, one notice per group saying it is approximate, ONNX Runtime
# loads and runs it (the cosine to the original printed, not checked: the
# normalisation's statistics change), and the interpreter's cosine and max
# abs error over the model's calibration samples are printed
approx_check() {
    local p1 n_approx ev
    if ! "$oc" compress "$2" -o "$tmp/$1.cha.onnx" --prune channel:ratio=0.3,norm=approx 2> "$tmp/erra"; then
        echo "FAIL prune channel-30 norm=approx $1: $(cat "$tmp/erra")"
        return
    fi
    p1=$(params "$tmp/$1.cha.onnx")
    n_approx=$(grep -c "approximate (norm=approx), its statistics now cover the kept channels only" "$tmp/erra")
    # shellcheck disable=SC2046
    ev=$("$oc" eval "$2" "$tmp/$1.cha.onnx" $(calib_args "$1") --json 2> /dev/null | $py -c "
import json,sys
o = json.load(sys.stdin)
print('; over %d samples: cosine %s' % (o['samples'], ', '.join('%.6f (max abs %.4g)' % (x['cosine'], x['max_abs_error']) for x in o['outputs'])))" 2> /dev/null)
    if [ "$p1" -lt "$3" ] && [ "$n_approx" -gt 0 ]; then
        echo "PASS prune channel-30 norm=approx $1: $3 -> $p1 parameters, $n_approx groups approximate$ev"
    else
        echo "FAIL prune channel-30 norm=approx $1: $3 -> $p1 parameters, $n_approx groups said approximate"
    fi
    ort_check "prune channel-30 norm=approx $1 runs in ORT" "$2" "$tmp/$1.cha.onnx" 0 "$4"
}

for f in "$corpus"/models/*.onnx; do
    name=$(basename "$f" .onnx)
    if "$oc" info --json --no-run "$f" | $py -c "import json,sys; sys.exit(0 if any('::' in k for k in json.load(sys.stdin)['ops']) else 1)"; then
        echo "SKIP prune $name: custom-domain ops"
        continue
    fi
    inputs=$(real_inputs "$name" "$f")

    # unstructured 50%
    if "$oc" compress "$f" -o "$tmp/$name.mag.onnx" --prune magnitude:sparsity=0.5 2> "$tmp/err"; then
        left=$(grep -c "left '.*' (.*) alone: it feeds a magnitude/log" "$tmp/err")
        ort_check "prune magnitude-50 $name runs in ORT" "$f" "$tmp/$name.mag.onnx" 0 "$inputs"
        sparsity_check "prune magnitude-50 $name sparsity" "$tmp/$name.mag.onnx" "$f" 0.5 "$left"
        # then quantized: the pruned weights stay exactly zero
        if "$oc" compress -q "$f" -o "$tmp/$name.magq.onnx" --prune magnitude:sparsity=0.5 --quant weight 2> "$tmp/err"; then
            z0=$(layer_zeros "$tmp/$name.mag.onnx") z1=$(layer_zeros "$tmp/$name.magq.onnx")
            if [ "$z1" -ge "$z0" ] && [ "$z0" -gt 0 ]; then
                echo "PASS prune magnitude-50 + weight int8 $name: $z0 zeros before quantization, $z1 after"
            else
                echo "FAIL prune magnitude-50 + weight int8 $name: $z0 zeros before quantization, $z1 after"
            fi
            ort_check "prune magnitude-50 + weight int8 $name runs in ORT" "$f" "$tmp/$name.magq.onnx" 0 "$inputs"
        else
            echo "FAIL prune magnitude-50 + weight int8 $name: $(cat "$tmp/err")"
        fi
    else
        echo "FAIL prune magnitude-50 $name: $(cat "$tmp/err")"
    fi

    # 2:4
    if "$oc" compress -q "$f" -o "$tmp/$name.nm.onnx" --prune nm:n=2,m=4 2> "$tmp/err"; then
        ort_check "prune nm-2:4 $name runs in ORT" "$f" "$tmp/$name.nm.onnx" 0 "$inputs"
        if out=$("$build/oc-nmcheck" "$tmp/$name.nm.onnx" 2 4 2>&1); then
            echo "PASS prune nm-2:4 $name pattern: $(echo "$out" | tail -1)"
        else
            echo "FAIL prune nm-2:4 $name pattern: $(echo "$out" | grep -iv '^ok' | head -3 | tr '\n' ' ')"
        fi
    else
        echo "FAIL prune nm-2:4 $name: $(cat "$tmp/err")"
    fi

    # structured 30%: removed == masked, fewer parameters
    if "$oc" compress "$f" -o "$tmp/$name.ch.onnx" --prune channel:ratio=0.3 2> "$tmp/err" &&
        "$oc" compress -q "$f" -o "$tmp/$name.chm.onnx" --prune channel:ratio=0.3,mode=mask 2>> "$tmp/err"; then
        p0=$(params "$f") p1=$(params "$tmp/$name.ch.onnx")
        if [ "$p1" -lt "$p0" ]; then
            echo "PASS prune channel-30 $name: $p0 -> $p1 parameters"
        elif grep -q "channel: nothing to remove" "$tmp/err" && only_norm "$tmp/err"; then
            # every group refused for a LayerNorm over its channels: norm=approx
            # prunes through them, approximately
            approx_check "$name" "$f" "$p0" "$inputs"
        elif grep -q "channel: nothing to remove" "$tmp/err"; then
            # every group refused (subgraph layers, LayerNorm over channels,
            # filter banks): said so, and the model is unchanged
            echo "SKIP prune channel-30 $name: $(grep -E "channel: (left|nothing)" "$tmp/err" | head -1 | sed 's/^onnxcomp: [^:]*: //' | cut -c1-200)"
        else
            echo "FAIL prune channel-30 $name: $p0 -> $p1 parameters"
        fi
        ort_check "prune channel-30 $name runs in ORT" "$f" "$tmp/$name.ch.onnx" 0 "$inputs"
        ort_check "prune channel-30 $name removed == masked in ORT" "$tmp/$name.chm.onnx" "$tmp/$name.ch.onnx" 0.9999 "$inputs" 1e-3
    else
        echo "FAIL prune channel-30 $name: $(cat "$tmp/err")"
    fi
done
