#!/usr/bin/env bash
# modes.sh ONNXCOMP: the float16 and dynamic int8 passes, and weight-only
# int4 rounded by GPTQ beside round-to-nearest, on every corpus
# model without custom-domain ops, and on a small transformer made by
# scripts/make-small-transformer.py. ONNX Runtime must load and run each
# output, and agree with the float model: cosine >= 0.999 for fp16, >= 0.99
# for dynamic. Each PASS line gives the file sizes, their ratio and the
# cosine. fp16 gets the model's samples (--data) for its range check;
# a model with no MatMul/Gemm (or none the pass rewrites) is a SKIP for
# dynamic. Ends with "N passed, N failed, N skipped".
set -u
oc=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
root=$(cd "$(dirname "$0")/../.." && pwd)
corpus=$root/../shared/corpus
tmp=$(mktemp -d /tmp/oc-modes.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cmp_js=$root/tests/ort/compare.js
hints=$root/tests/ort/hints.json
py=/usr/bin/python3
passed=0 failed=0 skipped=0

say() { # LINE: print and count
    echo "$1"
    case $1 in
        PASS*) passed=$((passed + 1)) ;;
        FAIL*) failed=$((failed + 1)) ;;
        SKIP*) skipped=$((skipped + 1)) ;;
    esac
}

[ -f "$root/tests/ort/node_modules/onnxruntime-node/package.json" ] || {
    echo "FAIL quant modes: onnxruntime-node missing (run scripts/setup.sh)"
    exit 1
}

# shellcheck source=tests/quant/data.sh
. "$root/tests/quant/data.sh"
data_args() { calib_args "$@"; }
compare_inputs() { real_inputs "$@"; }

size_of() { stat -c %s "$1"; }

# check LABEL ORIG NEW COS INPUTS: ORT runs NEW and agrees with ORIG
check() {
    local out cos sizes
    sizes="$(size_of "$2") -> $(size_of "$3") bytes, $(awk -v a="$(size_of "$2")" -v b="$(size_of "$3")" 'BEGIN { printf "%.2fx", a / b }')"
    if out=$(node "$cmp_js" --hints "$hints" --cos "$4" "$2" "$3" "$5" 2>&1); then
        # the cosine, for the record: compare.js's lowest over all outputs, or
        # (older compare.js) the first output's, which a threshold above 1 reports
        cos=$(echo "$out" | grep -o 'min cosine [0-9.]*' | head -1)
        [ -n "$cos" ] || cos=$(node "$cmp_js" --hints "$hints" --cos 2 "$2" "$3" "$5" 2>&1 | grep -o 'cos [0-9.]*' | head -1)
        say "PASS $1 ($sizes, ${cos:-identical outputs})"
    else
        case $out in
            SKIP*) say "SKIP $1: $(echo "$out" | head -1 | sed 's/^SKIP [^ ]* //')" ;;
            *) say "FAIL $1 ($sizes): $(echo "$out" | grep -v '^ort:' | head -2 | tr '\n' ' ')" ;;
        esac
    fi
}

# quantized layers reported by compress's summary line
quantized_count() { sed -n 's/.*, \([0-9][0-9]*\) weights quantized.*/\1/p' "$1" | tail -1; }

# cos_of NAME ORIG NEW INPUTS: ORT's lowest output cosine of NEW against ORIG
cos_of() {
    node "$cmp_js" --hints "$hints" --cos 0 "$2" "$3" "$4" 2>&1 | grep -o 'min cosine [0-9.]*' | head -1 | awk '{print $3}'
}

# gptq NAME MODEL INPUTS STRICT: weight-only int4 (blocks of 32) rounded to
# nearest and by GPTQ on the model's samples; ORT must run both. GPTQ must
# reach cosine >= 0.8 (the int4 bound of corpus.sh) and, with STRICT=1,
# at least round-to-nearest's cosine.
gptq() {
    local name=$1 f=$2 inputs=$3 strict=$4 a b
    # shellcheck disable=SC2046
    if ! "$oc" compress "$f" -o "$tmp/$name.g4.onnx" --quant weight:bits=4,method=gptq $(data_args "$name") \
        > "$tmp/log" 2>&1 || ! "$oc" compress "$f" -o "$tmp/$name.r4.onnx" --quant weight:bits=4 > "$tmp/log2" 2>&1; then
        say "FAIL quant gptq-int4 $name: $(cat "$tmp/log" "$tmp/log2" | grep -v '^ *$' | tail -2 | tr '\n' ' ')"
        return
    fi
    if grep -q "no weight to quantize\|GPTQ rounded 0 of" "$tmp/log"; then
        # LSTM weights, If-branch layers (GPTQ takes main-graph layers), STFT filters
        say "SKIP quant gptq-int4 $name: no layer for GPTQ: $(grep -o 'weight: [^;]*' "$tmp/log" | grep -v 'raised\|kept' | tail -1)"
        return
    fi
    if ! grep -q "GPTQ rounded [1-9]" "$tmp/log"; then
        say "FAIL quant gptq-int4 $name: no GPTQ notice: $(grep -o 'weight: .*' "$tmp/log" | tail -1)"
        return
    fi
    a=$(cos_of "$name" "$f" "$tmp/$name.r4.onnx" "$inputs")
    b=$(cos_of "$name" "$f" "$tmp/$name.g4.onnx" "$inputs")
    if [ -z "$a" ] || [ -z "$b" ]; then
        say "FAIL quant gptq-int4 $name: ONNX Runtime did not run both ($(node "$cmp_js" --hints "$hints" --cos 0 "$f" "$tmp/$name.g4.onnx" "$inputs" 2>&1 | head -1))"
    elif awk -v a="$a" -v b="$b" -v s="$strict" 'BEGIN { exit !(b >= 0.8 && (s == 0 || b >= a)) }'; then
        say "PASS quant gptq-int4 $name (cosine $b, round-to-nearest $a)"
    else
        say "FAIL quant gptq-int4 $name: cosine $b, round-to-nearest $a"
    fi
}

# mode NAME MODEL INPUTS: both passes on one model
modes() {
    local name=$1 f=$2 inputs=$3 ops
    # float16, with samples for the range check
    # shellcheck disable=SC2046
    if "$oc" compress "$f" -o "$tmp/$name.fp16.onnx" --quant fp16 $(data_args "$name") > "$tmp/log" 2>&1; then
        check "quant fp16 $name" "$f" "$tmp/$name.fp16.onnx" 0.999 "$inputs"
    else
        say "FAIL quant fp16 $name: $(grep -v '^ *$' "$tmp/log" | tail -2 | tr '\n' ' ')"
    fi
    # dynamic int8
    ops=$("$oc" info --json "$f" | $py -c "import json,sys; o=json.load(sys.stdin)['ops']; print(sum(o.get(k, 0) for k in ('MatMul', 'Gemm')))")
    if [ "$ops" = 0 ]; then
        say "SKIP quant dynamic $name: no MatMul or Gemm"
        return
    fi
    if "$oc" compress "$f" -o "$tmp/$name.dyn.onnx" --quant dynamic > "$tmp/log" 2>&1; then
        if [ "$(quantized_count "$tmp/log")" = 0 ]; then
            say "SKIP quant dynamic $name: $(grep -o 'dynamic: .*' "$tmp/log" | tail -1)"
        else
            check "quant dynamic $name" "$f" "$tmp/$name.dyn.onnx" 0.99 "$inputs"
        fi
    else
        say "FAIL quant dynamic $name: $(grep -v '^ *$' "$tmp/log" | tail -2 | tr '\n' ' ')"
    fi
}

if [ -d "$corpus/models" ]; then
    # generated samples (shaped by the hints) for models without real data
    $py "$root/tests/quant/gen_calib.py" "$hints" "$tmp/gen" "$corpus"/models/*.onnx > /dev/null
    for f in "$corpus"/models/*.onnx; do
        name=$(basename "$f" .onnx)
        if "$oc" info --json "$f" | $py -c "import json,sys; sys.exit(0 if any('::' in k for k in json.load(sys.stdin)['ops']) else 1)"; then
            say "SKIP quant modes $name: custom-domain ops"
            continue
        fi
        inputs=$(compare_inputs "$name" "$f")
        modes "$name" "$f" "$inputs"
        # at least round-to-nearest's cosine where the comparison sample is
        # real and held out of the samples GPTQ used (--split calib)
        case $(data_args "$name") in
            *"--split calib"*) gptq "$name" "$f" "$inputs" 1 ;;
            *) gptq "$name" "$f" "$inputs" 0 ;;
        esac
    done
else
    say "SKIP quant modes corpus: ../shared/corpus is absent"
fi

# a transformer encoder: MatMul-heavy, with decomposed LayerNorm and Softmax
if $py "$root/scripts/make-small-transformer.py" "$tmp/small-transformer.onnx" --layers 2 --dim 128 --seq 32 > /dev/null 2>&1; then
    mkdir -p "$tmp/gen/small-transformer"
    $py - "$tmp/gen/small-transformer" <<'PY'
import os, sys, numpy as np
from onnx import numpy_helper
rng = np.random.default_rng(3)
for s in range(8):  # samples for the range check, and one held out
    d = os.path.join(sys.argv[1], "s%02d" % s)
    os.makedirs(d, exist_ok=True)
    np.save(os.path.join(d, "X.npy"), rng.standard_normal((1, 32, 128)).astype(np.float32))
ev = sys.argv[1] + ".eval"
os.makedirs(ev, exist_ok=True)
t = numpy_helper.from_array(rng.standard_normal((1, 32, 128)).astype(np.float32), "X")
open(os.path.join(ev, "input_0.pb"), "wb").write(t.SerializeToString())
PY
    modes small-transformer "$tmp/small-transformer.onnx" "$tmp/gen/small-transformer.eval"
    gptq small-transformer "$tmp/small-transformer.onnx" "$tmp/gen/small-transformer.eval" 0
else
    say "SKIP quant modes small-transformer: scripts/make-small-transformer.py failed (numpy/onnx missing?)"
fi

# ONNX Runtime fuses the dynamic form into its integer kernels
if [ -f "$tmp/gtzan-mlp-keras.dyn.onnx" ]; then
    if node "$root/tests/ort/optimized.js" "$tmp/gtzan-mlp-keras.dyn.onnx" "$tmp/opt.onnx" > /dev/null 2>&1 &&
        "$oc" info --json "$tmp/opt.onnx" > "$tmp/info.json" 2>/dev/null &&
        $py -c "import json,sys; o=json.load(open(sys.argv[1]))['ops']; sys.exit(0 if o.get('com.microsoft::DynamicQuantizeMatMul', 0) + o.get('com.microsoft::MatMulIntegerToFloat', 0) >= 4 and 'MatMul' not in o else 1)" "$tmp/info.json"; then
        say "PASS quant dynamic fused gtzan-mlp-keras (ORT runs DynamicQuantizeMatMul)"
    else
        say "FAIL quant dynamic fused gtzan-mlp-keras: $(head -c 300 "$tmp/info.json" 2>/dev/null)"
    fi
fi

# small models for the cases the corpus lacks
edge=$tmp/edge
if $py - "$edge" <<'PY'
import os, sys, numpy as np, onnx
from onnx import helper as h, TensorProto as T, numpy_helper as nh
out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(5)
I = nh.from_array
def r(*s): return rng.standard_normal(s).astype(np.float32)
def vi(n, s, t=T.FLOAT): return h.make_tensor_value_info(n, t, s)
def save(name, nodes, ins, outs, inits, opset=13, ir=7):
    m = h.make_model(h.make_graph(nodes, name, ins, outs, initializer=inits), opset_imports=[h.make_opsetid('', opset)])
    m.ir_version = ir
    onnx.save(m, os.path.join(out, name + '.onnx'))
# Gemm: transA, transB, alpha, beta with a constant and a computed bias, no bias
save('gemm-variants', [
    h.make_node('Gemm', ['a', 'w1', 'c1'], ['y1'], transA=1, transB=1, alpha=0.5, beta=2.0),
    h.make_node('Relu', ['y1'], ['r1']),
    h.make_node('ReduceMean', ['r1'], ['r1b'], axes=[1], keepdims=1),
    h.make_node('Gemm', ['r1', 'w2', 'r1b'], ['y2'], beta=0.7),
    h.make_node('Gemm', ['y2', 'w3'], ['y3'], alpha=1.5),
    h.make_node('Sigmoid', ['y3'], ['y'])],
    [vi('a', [64, 4])], [vi('y', [4, 32])],
    [I(r(48, 64), 'w1'), I(r(48), 'c1'), I(r(48, 48) * 0.2, 'w2'), I(r(48, 32) * 0.2, 'w3')])
# one activation read by two MatMuls, a 3-D activation
save('matmul-shared', [
    h.make_node('MatMul', ['x', 'w'], ['p']), h.make_node('MatMul', ['x', 'v'], ['q']),
    h.make_node('Tanh', ['p'], ['t']), h.make_node('MatMul', ['t', 'u'], ['s']),
    h.make_node('Add', ['s', 'q'], ['y'])],
    [vi('x', [2, 8, 64])], [vi('y', [2, 8, 64])],
    [I(r(64, 64) * 0.1, 'w'), I(r(64, 64) * 0.1, 'v'), I(r(64, 64) * 0.1, 'u')])
# fp16: a weight read by converted nodes and a kept TopK, a Cast to float,
# a graph output also read inside, an input passed to an output,
# value_float(s) Constants, If branches and a Loop body reading outer values
br = lambda nm, op: h.make_graph([h.make_node(op, ['m', 'k'], [nm + '_o'])], nm, [], [vi(nm + '_o', None)])
body = h.make_graph([h.make_node('Identity', ['cin'], ['cout']), h.make_node('Mul', ['acc', 'k'], ['accm']),
                     h.make_node('Add', ['accm', 'cf'], ['acc_o'])], 'body',
                    [vi('it', [], T.INT64), vi('cin', [], T.BOOL), vi('acc', None)],
                    [vi('cout', [], T.BOOL), vi('acc_o', None)])
save('fp16-mixed', [
    h.make_node('Constant', [], ['cf'], value_float=0.25),
    h.make_node('Constant', [], ['cfs'], value_floats=[1.0, 2.0, 3.0, 4.0]),
    h.make_node('Add', ['x', 'k'], ['a']),
    h.make_node('TopK', ['k', 'two'], ['tv', 'ti'], axis=-1),
    h.make_node('Cast', ['ti'], ['tif'], to=T.FLOAT),
    h.make_node('ReduceSum', ['tv'], ['tvs'], keepdims=0),
    h.make_node('Mul', ['a', 'cfs'], ['m']),
    h.make_node('ReduceMean', ['m'], ['mm'], keepdims=0),
    h.make_node('Greater', ['mm', 'tvs'], ['c']),
    h.make_node('If', ['c'], ['iy'], then_branch=br('th', 'Add'), else_branch=br('el', 'Sub')),
    h.make_node('Loop', ['three', '', 'iy'], ['ly'], body=body),
    h.make_node('ReduceSum', ['tif'], ['tifs'], keepdims=1),
    h.make_node('Add', ['ly', 'tifs'], ['y'])],
    [vi('x', [3, 4])], [vi('y', [3, 4]), vi('m', [3, 4]), vi('x', [3, 4])],
    [I(r(4), 'k'), I(np.array([2], np.int64), 'two'), I(np.array(3, np.int64), 'three')])
# float shape arithmetic feeding Resize: stays float32
save('shape-arith', [
    h.make_node('Shape', ['x'], ['s']), h.make_node('Cast', ['s'], ['sf'], to=T.FLOAT),
    h.make_node('Mul', ['sf', 'half'], ['sh']), h.make_node('Floor', ['sh'], ['sfl']),
    h.make_node('Cast', ['sfl'], ['si'], to=T.INT64),
    h.make_node('Resize', ['x', '', '', 'si'], ['rs'], mode='nearest'), h.make_node('Relu', ['rs'], ['y'])],
    [vi('x', [1, 2, 8, 8])], [vi('y', None)], [I(np.array([1, 1, 0.5, 0.5], np.float32), 'half')])
# IR 3 (initializers listed as inputs), opset 8: raised to 11 for dynamic
m = h.make_model(h.make_graph([h.make_node('MatMul', ['x', 'w'], ['p']), h.make_node('Add', ['p', 'b'], ['y'])], 'ir3',
                              [vi('x', [1, 32]), vi('w', [32, 16]), vi('b', [16])], [vi('y', [1, 16])],
                              initializer=[I(r(32, 16), 'w'), I(r(16), 'b')]),
                 opset_imports=[h.make_opsetid('', 8)])
m.ir_version = 3
onnx.save(m, os.path.join(out, 'ir3-opset8.onnx'))
# opset 6 legacy broadcast of unknown rank: cannot be raised to 11
save('opset6-broadcast', [h.make_node('Relu', ['x'], ['rl']), h.make_node('Add', ['rl', 'b'], ['a'], broadcast=1, axis=1),
                          h.make_node('MatMul', ['a', 'w'], ['y'])],
     [vi('x', None)], [vi('y', None)], [I(r(16, 16), 'w'), I(r(16), 'b')], opset=6, ir=3)
PY
then
    for f in "$edge"/gemm-variants.onnx "$edge"/matmul-shared.onnx "$edge"/fp16-mixed.onnx "$edge"/shape-arith.onnx \
        "$edge"/ir3-opset8.onnx; do
        name=$(basename "$f" .onnx)
        modes_for="fp16 dynamic:min_elems=16"
        case $name in fp16-*|shape-*) modes_for=fp16 ;; esac
        for mode in $modes_for; do
            m=${mode%%:*}
            if "$oc" compress "$f" -o "$edge/$name.$m.out.onnx" --quant "$mode" > "$tmp/log" 2>&1; then
                check "quant $m edge $name" "$f" "$edge/$name.$m.out.onnx" "$([ "$m" = fp16 ] && echo 0.999 || echo 0.99)" -
            else
                say "FAIL quant $m edge $name: $(grep -v '^ *$' "$tmp/log" | tail -2 | tr '\n' ' ')"
            fi
        done
    done
    # every Gemm rewritten; one DynamicQuantizeLinear per activation
    if $py - "$edge/gemm-variants.dynamic.out.onnx" "$edge/matmul-shared.dynamic.out.onnx" <<'PY'
import sys, onnx
from collections import Counter
a = Counter(n.op_type for n in onnx.load(sys.argv[1]).graph.node)
assert a["Gemm"] == 0 and a["MatMulInteger"] == 3 and a["DynamicQuantizeLinear"] == 3, a
b = Counter(n.op_type for n in onnx.load(sys.argv[2]).graph.node)
assert b["MatMul"] == 0 and b["MatMulInteger"] == 3 and b["DynamicQuantizeLinear"] == 2, b
PY
    then say "PASS quant dynamic edge structure"
    else say "FAIL quant dynamic edge structure"
    fi
    # shape arithmetic and Resize stay float32; TopK's input weight stays float32 once
    if $py - "$edge/shape-arith.fp16.out.onnx" "$edge/fp16-mixed.fp16.out.onnx" <<'PY'
import sys, onnx
a = onnx.load(sys.argv[1])
mul = [n for n in a.graph.node if n.op_type == "Mul"][0]
casts = {n.output[0]: n for n in a.graph.node if n.op_type == "Cast"}
assert all(i not in casts or casts[i].attribute[0].i != 10 for i in mul.input), "shape Mul reads float16"
b = onnx.load(sys.argv[2])
k = [t for t in b.graph.initializer if t.name == "k"][0]
assert k.data_type == 1, "k should stay float32 (TopK reads it)"
assert [o.type.tensor_type.elem_type for o in b.graph.output] == [1, 1, 1], "outputs must stay float32"
PY
    then say "PASS quant fp16 edge kept-float32 parts"
    else say "FAIL quant fp16 edge kept-float32 parts"
    fi
    # below opset 11 with an op that cannot follow: refused, saying why
    if "$oc" compress "$edge/opset6-broadcast.onnx" -o "$edge/refused.onnx" --quant dynamic > "$tmp/log" 2>&1; then
        say "FAIL quant dynamic edge opset6-broadcast: should have been refused"
    elif grep -q "needs opset 11.*cannot be raised.*Add" "$tmp/log" && [ ! -e "$edge/refused.onnx" ]; then
        say "PASS quant dynamic edge opset6-broadcast refused ($(grep -o 'cannot raise.*' "$tmp/log" | head -1 | cut -c1-80)...)"
    else
        say "FAIL quant dynamic edge opset6-broadcast: $(tail -1 "$tmp/log")"
    fi
else
    say "SKIP quant modes edge cases: numpy/onnx missing"
fi

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
