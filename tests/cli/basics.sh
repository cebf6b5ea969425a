#!/usr/bin/env bash
# basics.sh ONNXCOMP: help, version, exit codes, info text and JSON,
# compress round trip, external data (checked by ONNX Runtime), make install.
set -u
oc=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d /tmp/oc-cli.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
model=/usr/share/libonnx-testdata/data/pytorch-converted/test_Conv2d/model.onnx
[ -f "$model" ] || { echo "SKIP basics: libonnx-testdata not installed"; exit 0; }

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; }

# expect NAME CODE CMD... : exit code must be CODE
expect() {
    local name=$1 code=$2
    shift 2
    "$@" > "$tmp/out" 2> "$tmp/err"
    local rc=$?
    if [ "$rc" -eq "$code" ]; then pass "$name"; else fail "$name" "exit $rc, want $code: $(head -c 300 "$tmp/err")"; fi
}

expect help 0 "$oc" --help
grep -q "exit codes" "$tmp/out" && pass "help lists exit codes" || fail "help lists exit codes" "missing"
expect version 0 "$oc" --version
grep -qE '^onnxcomp [0-9]+\.[0-9]+\.[0-9]+$' "$tmp/out" && pass "version format" || fail "version format" "$(cat "$tmp/out")"
expect "no arguments" 1 "$oc"
expect "unknown command" 1 "$oc" frobnicate
[ "$(wc -l < "$tmp/err")" -eq 1 ] && pass "unknown command: one line" || fail "unknown command: one line" "$(cat "$tmp/err")"
expect "compress --help" 0 "$oc" compress --help
expect "info --help" 0 "$oc" info --help
expect "compress without -o" 1 "$oc" compress "$model"
expect "compress unknown option" 1 "$oc" compress "$model" -o "$tmp/x.onnx" --bogus
expect "compress bad --external-data" 1 "$oc" compress "$model" -o "$tmp/x.onnx" --external-data=lots
expect "info without model" 1 "$oc" info

# info, text and JSON
expect "info text" 0 "$oc" info "$model"
grep -q "Conv=1" "$tmp/out" && pass "info op histogram" || fail "info op histogram" "$(cat "$tmp/out")"
jarvis=../shared/corpus/models/oww-hey-jarvis.onnx
[ -f "$jarvis" ] || jarvis=  # a model with an If: only in the corpus
expect "info json" 0 "$oc" info --json "$model" $jarvis
if /usr/bin/python3 - "$tmp/out" <<'PY'
import json, sys
lines = [l for l in open(sys.argv[1]) if l.strip()]
docs = [json.loads(l) for l in lines]
need = {"file", "ir_version", "producer_name", "opsets", "inputs", "outputs", "nodes", "subgraph_nodes",
        "ops", "parameters", "parameters_by_type", "zero_fraction", "metadata"}
for d in docs:
    missing = need - set(d)
    assert not missing, missing
assert docs[0]["ops"] == {"Conv": 1}, docs[0]["ops"]
assert docs[0]["parameters"] > 0
if len(docs) > 1:  # the corpus model with an If: subgraph nodes are counted
    assert docs[1]["subgraph_nodes"] == 30, docs[1]["subgraph_nodes"]
PY
then pass "info json fields"; else fail "info json fields" "bad JSON"; fi

# info's layer table: parameters, zeros and MACs of the Conv, against the
# weight and the expected output shape read here with python onnx
expect "info --layers" 0 "$oc" info --layers "$model"
grep -qE "^  layers: +1 weighted" "$tmp/out" && grep -qE "^  compute: +[0-9]+ MACs" "$tmp/out" &&
    pass "info --layers text" || fail "info --layers text" "$(cat "$tmp/out")"
"$oc" info --json "$model" > "$tmp/l.json" 2>&1
if /usr/bin/python3 - "$tmp/l.json" "$model" <<'PY'
import json, sys, os
import numpy as np, onnx
from onnx import numpy_helper
d = json.loads(open(sys.argv[1]).read())
m = onnx.load(sys.argv[2])
w = numpy_helper.to_array(m.graph.initializer[0]) if m.graph.initializer[0].dims and len(m.graph.initializer[0].dims) == 4 else \
    [numpy_helper.to_array(t) for t in m.graph.initializer if len(t.dims) == 4][0]
y = onnx.TensorProto()
y.ParseFromString(open(os.path.join(os.path.dirname(sys.argv[2]), "test_data_set_0", "output_0.pb"), "rb").read())
ydims = list(y.dims)
ydims[0] = 1 if not m.graph.input[0].type.tensor_type.shape.dim[0].dim_value else ydims[0]
(l,) = d["layers"]
assert l["op"] == "Conv" and l["shape"] == list(w.shape), l
assert l["macs"] == int(np.prod(ydims)) * int(np.prod(w.shape[1:])), (l["macs"], ydims, w.shape)
assert l["zeros"] == int((w == 0).sum()), l
assert d["macs"] == l["macs"] and d["layer_parameters"] == l["parameters"]
PY
then pass "info layer MACs and zeros"; else fail "info layer MACs and zeros" "$(head -c 300 "$tmp/l.json")"; fi
expect "info --no-run" 0 "$oc" info --no-run --json "$model"
grep -q '"macs":null' "$tmp/out" && pass "info --no-run skips MACs" || fail "info --no-run skips MACs" "$(head -c 300 "$tmp/out")"

# info on several models continues past a failure and reports it
printf 'garbage' > "$tmp/bad.onnx"
expect "info continues past a bad model" 3 "$oc" info "$model" "$tmp/bad.onnx" "$model"
[ "$(grep -c 'Conv=1' "$tmp/out")" -eq 2 ] && pass "info describes the good models" || fail "info describes the good models" "$(cat "$tmp/out")"

# compress round trip and refusals
expect "compress" 0 "$oc" compress "$model" -o "$tmp/rt.onnx"
cmp -s "$model" "$tmp/rt.onnx" && pass "compress identical" || fail "compress identical" "differs"
expect "exists without -f" 1 "$oc" compress "$model" -o "$tmp/rt.onnx"
expect "exists with -f" 0 "$oc" compress -f "$model" -o "$tmp/rt.onnx"
cp "$model" "$tmp/same.onnx"
expect "input == output refused" 1 "$oc" compress "$tmp/same.onnx" -o "$tmp/same.onnx" -f
expect "input == output via another path refused" 1 "$oc" compress "$tmp/same.onnx" -o "$tmp/./same.onnx" -f
expect "input == output with --overwrite-input" 0 "$oc" compress "$tmp/same.onnx" -o "$tmp/same.onnx" --overwrite-input
cmp -s "$model" "$tmp/same.onnx" && pass "overwrite-input keeps the model" || fail "overwrite-input keeps the model" "differs"
ls -a "$tmp" | grep -q tmp && fail "no temp files left" "$(ls -a "$tmp")" || pass "no temp files left"

# external data: written beside the output, loaded back and by ONNX Runtime
big=../shared/corpus/models/fashion-mnist-cnn.onnx
[ -f "$big" ] || big=/usr/share/libonnx-testdata/data/pytorch-converted/test_Linear/model.onnx
expect "external data" 0 "$oc" compress "$big" -o "$tmp/ext.onnx" --external-data=64
[ -s "$tmp/ext.onnx.data" ] && pass "external data file written" || fail "external data file written" "missing"
[ "$(stat -c %s "$tmp/ext.onnx")" -lt "$(stat -c %s "$big")" ] && pass "model smaller without its tensors" || fail "model smaller without its tensors" "not smaller"
expect "external data back inline" 0 "$oc" compress "$tmp/ext.onnx" -o "$tmp/ext2.onnx"
if [ -f "$root/tests/ort/node_modules/onnxruntime-node/package.json" ]; then
    printf 'ext\t%s\t%s\t-\next-inline\t%s\t%s\t-\n' "$big" "$tmp/ext.onnx" "$big" "$tmp/ext2.onnx" > "$tmp/pairs"
    if node "$root/tests/ort/compare.js" "$tmp/pairs" > "$tmp/ort" 2>&1; then pass "ORT runs external-data models"; else fail "ORT runs external-data models" "$(cat "$tmp/ort")"; fi
fi
mkdir "$tmp/moved" && cp "$tmp/ext.onnx" "$tmp/moved/"
expect "external data missing" 2 "$oc" info "$tmp/moved/ext.onnx"
grep -q "ext.onnx.data" "$tmp/err" && pass "missing data file named" || fail "missing data file named" "$(cat "$tmp/err")"

# make install, pkg-config, a program linked against the installed library
if make -s -C "$root" install PREFIX="$tmp/prefix" > "$tmp/install.log" 2>&1 &&
    [ -x "$tmp/prefix/bin/onnxcomp" ] && [ -f "$tmp/prefix/include/onnxcomp.h" ] &&
    [ -f "$tmp/prefix/lib/pkgconfig/onnxcomp.pc" ]; then
    pass "make install"
    cat > "$tmp/use.c" <<'C'
#include <onnxcomp.h>
#include <stdio.h>
int main(int argc, char **argv) {
    oc_ctx ctx; oc_ctx_init(&ctx); oc_model *m = NULL;
    if (oc_model_load_file(&ctx, argv[1], NULL, &m) != OC_OK) { puts(ctx.msg); return 1; }
    printf("%zu\n", m->graph->n_nodes); oc_model_free(m); return 0;
}
C
    if PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig" cc -std=c11 "$tmp/use.c" -o "$tmp/use" \
        $(PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig" pkg-config --cflags --libs --static onnxcomp) 2> "$tmp/cc.err" &&
        [ "$(LD_LIBRARY_PATH="$tmp/prefix/lib" "$tmp/use" "$model")" = 1 ]; then
        pass "library usable through pkg-config"
    else
        fail "library usable through pkg-config" "$(head -c 400 "$tmp/cc.err")"
    fi
else
    fail "make install" "$(tail -3 "$tmp/install.log")"
fi

# compression passes on the command line
expect "--list-passes" 0 "$oc" compress --list-passes
grep -q "weight" "$tmp/out" && grep -q "static" "$tmp/out" && pass "--list-passes lists the passes" || fail "--list-passes lists the passes" "$(cat "$tmp/out")"
expect "static without --data" 1 "$oc" compress "$model" -o "$tmp/q.onnx" --quant static
grep -q -- "--data" "$tmp/err" && pass "static without --data says what to give" || fail "static without --data says what to give" "$(cat "$tmp/err")"
expect "unknown pass" 1 "$oc" compress "$model" -o "$tmp/q.onnx" --quant nope
grep -q "weight" "$tmp/err" && pass "unknown pass lists the passes" || fail "unknown pass lists the passes" "$(cat "$tmp/err")"
expect "option out of range" 1 "$oc" compress "$model" -o "$tmp/q.onnx" --quant weight:bits=5
grep -q "bits" "$tmp/err" && grep -q "4" "$tmp/err" && pass "out-of-range names the option and range" || fail "out-of-range names the option and range" "$(cat "$tmp/err")"
expect "unknown option" 1 "$oc" compress "$model" -o "$tmp/q.onnx" --quant weight:colour=red
grep -q "colour" "$tmp/err" && grep -q "per_channel" "$tmp/err" && pass "unknown option lists the options" || fail "unknown option lists the options" "$(cat "$tmp/err")"
expect "bad enum value" 1 "$oc" compress "$model" -o "$tmp/q.onnx" --quant weight:method=magic
expect "weight-only int8" 0 "$oc" compress "$model" -o "$tmp/q.onnx" --quant weight:bits=8,min_elems=1
expect "info on the quantized model" 0 "$oc" info "$tmp/q.onnx"
grep -q "onnxcomp.passes = --quant weight:bits=8" "$tmp/out" && pass "metadata says how the model was made" || fail "metadata says how the model was made" "$(grep meta "$tmp/out")"
grep -q "DequantizeLinear" "$tmp/out" && pass "weights feed DequantizeLinear" || fail "weights feed DequantizeLinear" "$(grep ops "$tmp/out")"
expect "--keep-first-last" 0 "$oc" compress "$model" -o "$tmp/q2.onnx" --quant weight:min_elems=1 --keep-first-last
expect "--exclude-op" 0 "$oc" compress "$model" -o "$tmp/q3.onnx" --quant weight:min_elems=1 --exclude-op Conv
"$oc" info "$tmp/q3.onnx" | grep -q DequantizeLinear && fail "--exclude-op leaves Conv in float" "quantized" || pass "--exclude-op leaves Conv in float"

# --round-to N stands for --prune channel's round_to option
/usr/bin/python3 - "$tmp/two.onnx" <<'PY'
import sys, numpy as np, onnx
from onnx import helper, numpy_helper, TensorProto
r = np.random.default_rng(3)
w1 = numpy_helper.from_array(r.standard_normal((20, 3, 3, 3)).astype(np.float32), "w1")
w2 = numpy_helper.from_array(r.standard_normal((5, 20, 1, 1)).astype(np.float32), "w2")
g = helper.make_graph([helper.make_node("Conv", ["x", "w1"], ["a"], pads=[1, 1, 1, 1]),
                       helper.make_node("Relu", ["a"], ["b"]), helper.make_node("Conv", ["b", "w2"], ["y"])],
                      "two", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [w1, w2])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), sys.argv[1])
PY
expect "--round-to" 0 "$oc" compress "$tmp/two.onnx" -o "$tmp/r8.onnx" --prune channel:ratio=0.3 --round-to 8
kept=$(/usr/bin/python3 -c "import onnx,sys; m=onnx.load(sys.argv[1]); print([t.dims[0] for t in m.graph.initializer if t.name=='w1'][0])" "$tmp/r8.onnx" 2>&1)
[ "$kept" = 16 ] && pass "--round-to 8 keeps 16 of 20 channels at ratio 0.3" || fail "--round-to 8 keeps 16 of 20 channels at ratio 0.3" "kept $kept"
if [ -f "$root/tests/ort/node_modules/onnxruntime-node/package.json" ]; then
    # ORT loads and runs it (pruned: its outputs differ, any cosine passes)
    if node "$root/tests/ort/compare.js" --cos -1 "$tmp/two.onnx" "$tmp/r8.onnx" - > "$tmp/ort" 2>&1 &&
        grep -q '^PASS' "$tmp/ort"; then
        pass "ORT runs the --round-to output"
    else
        fail "ORT runs the --round-to output" "$(head -2 "$tmp/ort")"
    fi
fi
expect "channel prune with --report" 0 "$oc" compress "$tmp/two.onnx" -o "$tmp/r10.onnx" --prune channel:ratio=0.3 --report "$tmp/rep.json"
got=$(/usr/bin/python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['models'][0]; print(r['channels_removed'], r['channel_groups_left'], r['channel_groups_approx'])" "$tmp/rep.json" 2>&1)
# 6 of conv 1's 20 channels go; conv 2's 5 reach the graph output: one group left alone
[ "$got" = "6 1 0" ] && pass "report: channels removed, groups left, groups approximate" || fail "report: channels removed, groups left, groups approximate" "$got"
expect "--round-to without --prune channel" 1 "$oc" compress "$tmp/two.onnx" -o "$tmp/r9.onnx" --quant weight --round-to 8
grep -q "prune channel" "$tmp/err" && pass "--round-to says it needs --prune channel" || fail "--round-to says it needs --prune channel" "$(cat "$tmp/err")"
expect "--round-to disagreeing with round_to" 1 "$oc" compress "$tmp/two.onnx" -o "$tmp/r9.onnx" --prune channel:round_to=4 --round-to 8

# static calibration runs samples on one worker per core: byte-identical to
# one thread, and an error names the first bad sample in sample order
/usr/bin/python3 - "$tmp/cal" <<'PY'
import os, sys, numpy as np
r = np.random.default_rng(5)
for k in range(12):
    d = os.path.join(sys.argv[1], "s%02d" % k)
    os.makedirs(d)
    np.save(os.path.join(d, "x.npy"), r.standard_normal((1, 3, 8, 8)).astype(np.float32))
PY
expect "static, 1 thread" 0 "$oc" compress "$tmp/two.onnx" -o "$tmp/s1.onnx" --quant static --data "$tmp/cal" --threads 1
expect "static, 2 threads" 0 "$oc" compress "$tmp/two.onnx" -o "$tmp/s2.onnx" --quant static --data "$tmp/cal" --threads 2
cmp -s "$tmp/s1.onnx" "$tmp/s2.onnx" && pass "static: 2 threads byte-identical to 1" || fail "static: 2 threads byte-identical to 1" "outputs differ"
if [ -f "$root/tests/ort/node_modules/onnxruntime-node/package.json" ]; then
    if node "$root/tests/ort/compare.js" --cos 0.99 "$tmp/two.onnx" "$tmp/s2.onnx" - > "$tmp/ort" 2>&1 &&
        grep -q '^PASS' "$tmp/ort"; then
        pass "ORT runs the static output: $(grep -o 'min cosine [0-9.]*' "$tmp/ort")"
    else
        fail "ORT runs the static output, cosine >= 0.99" "$(head -2 "$tmp/ort")"
    fi
fi
/usr/bin/python3 -c "import numpy as np, sys; [np.save(sys.argv[1] + '/s%02d/x.npy' % k, np.zeros((1, 3, 9, 9), np.float32)) for k in (4, 9)]" "$tmp/cal"
expect "static, bad samples, 2 threads" 1 "$oc" compress "$tmp/two.onnx" -o "$tmp/s3.onnx" --quant static --data "$tmp/cal" --threads 2
grep -q "s04" "$tmp/err" && ! grep -q "s09" "$tmp/err" && [ "$(wc -l < "$tmp/err")" = 1 ] && [ ! -e "$tmp/s3.onnx" ] &&
    pass "static, bad samples: one line naming the first bad one, no output" || fail "static, bad samples: one line naming the first bad one, no output" "$(cat "$tmp/err")"

# nothing to quantize (an opset-7 Acos: no weight, no float activation a
# QDQ pair would serve): the model is left as it came, opset and ops
# included, with a notice, and ONNX Runtime gives the same outputs
acos=/usr/share/libonnx-testdata/data/node/test_acos
for q in weight static; do
    expect "$q: nothing to quantize" 0 "$oc" compress "$acos/model.onnx" -o "$tmp/acos.$q.onnx" --quant $q --data "$acos/test_data_set_0"
    got=$("$oc" info --json "$tmp/acos.$q.onnx" | /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); print(d['opsets'], d['ops'])")
    if [ "$got" = "{'ai.onnx': 7} {'Acos': 1}" ] && grep -q "left as it was" "$tmp/err"; then
        pass "$q: nothing to quantize leaves the opset (7) and the ops alone, and says so"
    else
        fail "$q: nothing to quantize leaves the opset (7) and the ops alone, and says so" "$got $(head -c 200 "$tmp/err")"
    fi
    if [ -f "$root/tests/ort/node_modules/onnxruntime-node/package.json" ]; then
        if node "$root/tests/ort/compare.js" "$acos/model.onnx" "$tmp/acos.$q.onnx" "$acos/test_data_set_0" > "$tmp/ort" 2>&1; then
            pass "$q: ORT runs the untouched model, outputs identical"
        else
            fail "$q: ORT runs the untouched model, outputs identical" "$(head -2 "$tmp/ort")"
        fi
    fi
done

# a model over 64 MiB of weights calibrates on one single-threaded session:
# the same bytes for --threads 1 and 2, minmax and percentile
if /usr/bin/python3 "$root/scripts/gen-big-model.py" "$tmp/b70.onnx" --mb 70 --dim 512 > /dev/null 2>&1; then
    /usr/bin/python3 - "$tmp/b70cal" <<'PY'
import os, sys, numpy as np
r = np.random.default_rng(3)
for k in range(4):
    d = os.path.join(sys.argv[1], "s%d" % k)
    os.makedirs(d)
    np.save(os.path.join(d, "X.npy"), r.standard_normal((1, 8, 512)).astype(np.float32))
PY
    for q in static:keep_sensitive=0 static:keep_sensitive=0,method=percentile; do
        "$oc" compress -q -f "$tmp/b70.onnx" -o "$tmp/b70.t1.onnx" --quant "$q" --data "$tmp/b70cal" --threads 1 2> "$tmp/err" &&
            "$oc" compress -q -f "$tmp/b70.onnx" -o "$tmp/b70.t2.onnx" --quant "$q" --data "$tmp/b70cal" --threads 2 2>> "$tmp/err"
        if cmp -s "$tmp/b70.t1.onnx" "$tmp/b70.t2.onnx"; then
            pass "big model, $q: --threads 2 byte-identical to 1"
        else
            fail "big model, $q: --threads 2 byte-identical to 1" "$(head -c 200 "$tmp/err")"
        fi
    done
    rm -f "$tmp"/b70*.onnx
else
    fail "big model for the thread test" "gen-big-model.py failed"
fi

# weights and biases written as Constant nodes (as some exporters do), opset
# 10, per-tensor static int8: every bias becomes int32 (a float bias left for
# ONNX Runtime to quantize at load needs Round, which opset 10 lacks: the
# model did not load)
/usr/bin/python3 - "$tmp/constw.onnx" "$tmp/constw_cal" <<'PY'
import os, sys, numpy as np, onnx
from onnx import helper, numpy_helper, TensorProto
r = np.random.default_rng(7)
def const(name, a):
    return helper.make_node("Constant", [], [name], value=numpy_helper.from_array(a.astype(np.float32), name + "_v"))
nodes = [const("w1", r.standard_normal((8, 3, 3, 3)) * 0.3), const("b1", r.standard_normal(8) * 0.1),
         const("w2", r.standard_normal((4, 8, 1, 1)) * 0.3), const("b2", r.standard_normal(4) * 0.1),
         helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
         helper.make_node("Relu", ["c1"], ["r1"]),
         helper.make_node("Conv", ["r1", "w2", "b2"], ["y"])]
g = helper.make_graph(nodes, "constw", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 8, 8])])
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 10)])
m.ir_version = 5
onnx.save(m, sys.argv[1])
for k in range(8):
    d = os.path.join(sys.argv[2], "s%d" % k)
    os.makedirs(d)
    np.save(os.path.join(d, "x.npy"), r.standard_normal((1, 3, 8, 8)).astype(np.float32))
PY
expect "static per_channel=0, Constant-node weights, opset 10" 0 "$oc" compress "$tmp/constw.onnx" -o "$tmp/constw.s8.onnx" \
    --quant static:per_channel=0 --data "$tmp/constw_cal"
got=$("$oc" info --json "$tmp/constw.s8.onnx" | /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); print(d['opsets'], d['ops'].get('Constant', 0))")
[ "$got" = "{'ai.onnx': 10} 0" ] && pass "opset 10 kept; weights and biases all quantized (no float Constant left)" ||
    fail "opset 10 kept; weights and biases all quantized (no float Constant left)" "$got"
if [ -f "$root/tests/ort/node_modules/onnxruntime-node/package.json" ]; then
    if node "$root/tests/ort/compare.js" --cos 0.99 "$tmp/constw.onnx" "$tmp/constw.s8.onnx" - > "$tmp/ort" 2>&1; then
        pass "ORT loads and runs it: $(grep -o 'min cosine [0-9.]*' "$tmp/ort")"
    else
        fail "ORT loads and runs it" "$(head -2 "$tmp/ort")"
    fi
fi

# float16 models in the interpreter (`eval`, the quality gate): nodes whose
# kernels are float32-only run on float32 copies and store float16, as ONNX
# Runtime's CPU provider does; the gate passes instead of exiting 5, and
# `onnxcomp run` agrees with ORT on the float16 model
/usr/bin/python3 "$root/scripts/make-example-model.py" "$tmp/ex.onnx" > /dev/null
/usr/bin/python3 "$root/scripts/bench-make-inputs.py" "$tmp/ex.onnx" "$tmp/excal" 8 > /dev/null
expect "fp16 with the quality gate" 0 "$oc" compress "$tmp/ex.onnx" -o "$tmp/ex16.onnx" --quant fp16 --data "$tmp/excal" --min-cosine 0.999
grep -q "gate passed" "$tmp/err" && pass "fp16: the gate ran on the float16 model and passed" || fail "fp16: the gate ran on the float16 model and passed" "$(tail -1 "$tmp/err")"
if [ -f "$root/tests/ort/node_modules/onnxruntime-node/package.json" ]; then
    if node "$root/tests/ort/interp_check.js" --onnxcomp "$oc" --cos 0.9999 "$tmp/ex16.onnx" > "$tmp/ort" 2>&1; then
        pass "fp16: onnxcomp run matches ORT on the float16 model ($(grep -o 'cosine >= [0-9.]*' "$tmp/ort"))"
    else
        fail "fp16: onnxcomp run matches ORT on the float16 model" "$(head -2 "$tmp/ort")"
    fi
fi
