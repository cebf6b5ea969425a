#!/usr/bin/env bash
# subgraph.sh ONNXCOMP: static quantization inside If, Loop and Scan bodies.
# Generated models (opset 13, made with the system's python3 + onnx):
#   if    an If whose branches each run Conv + Relu + Conv on an outer
#         activation (weights: outer initializers and branch-local ones)
#   loop  a Loop of 4 trips whose body runs MatMul + Add on its carried state
#   scan  a Scan whose body runs a Gemm on each slice and sums a state
#   ifdup the If again, both branches naming their Relu output "r1"
# are calibrated on .npy samples (DIR/0000/<input>.npy) with --quant static.
# Checks: ONNX Runtime runs each output and agrees with the float model on
# held-out inputs (cosine >= 0.99); onnx's checker accepts it; Quantize- and
# DequantizeLinear nodes sit inside the bodies (counted) and body outputs stay
# float; an outer activation keeps one pair (the body reads its
# DequantizeLinear); an If branch the samples never take stays float with a
# notice naming the If and the branch, and both branches are quantized when
# the samples take both; a name both branches define stays float, with a
# notice. Then the corpus's silero-vad models (their If
# branches hold the whole network) with the quant suite's calibration: the
# cosine on the held-out input, the layers quantized inside bodies, and ORT
# running QLinearConv inside the branch. Ends with "N passed, N failed, N
# skipped". KEEP=1 keeps the work folder (/tmp/oc-qsub.*) for a look.
set -u
oc=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
root=$(cd "$(dirname "$0")/../.." && pwd)
corpus=$root/../shared/corpus
tmp=$(mktemp -d /tmp/oc-qsub.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
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

finish() {
    echo "$passed passed, $failed failed, $skipped skipped"
    [ "$failed" -eq 0 ]
    exit
}

have_ort=1
[ -f "$root/tests/ort/node_modules/onnxruntime-node/package.json" ] || have_ort=0

# ort_check LABEL ORIG NEW INPUTS: ORT runs NEW, cosine >= 0.99 on every output
ort_check() {
    local out
    if [ "$have_ort" = 0 ]; then
        say "FAIL $1: onnxruntime-node missing (run scripts/setup.sh)"
        return
    fi
    if out=$(node "$cmp_js" --hints "$hints" --cos 0.99 "$2" "$3" "$4" 2>&1); then
        say "PASS $1 ($(echo "$out" | grep -o 'min cosine [0-9.]*' | head -1))"
    else
        say "FAIL $1: $(echo "$out" | grep -v '^ort:' | head -2 | tr '\n' ' ')"
    fi
}

# ---- the generated models, their samples and held-out inputs ----
if ! $py - "$tmp" > "$tmp/gen.log" 2>&1 <<'PY'
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

d = sys.argv[1]
rng = np.random.default_rng(3)
F = TensorProto.FLOAT


def init(name, a):
    return numpy_helper.from_array(np.asarray(a, dtype=np.float32), name)


def w(*shape, scale=0.3):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def save(model, name):
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(d, name + ".onnx"))


def samples(name, n, make):
    """DIR/0000/<input>.npy ... and one held-out set as input_N.pb files"""
    for s in range(n + 1):
        feeds = make(s)
        if s < n:
            sd = os.path.join(d, name + ".calib", "%04d" % s)
            os.makedirs(sd, exist_ok=True)
            for k, v in feeds:
                np.save(os.path.join(sd, k + ".npy"), v)
        else:
            sd = os.path.join(d, name + ".eval")
            os.makedirs(sd, exist_ok=True)
            for i, (k, v) in enumerate(feeds):
                open(os.path.join(sd, "input_%d.pb" % i), "wb").write(numpy_helper.from_array(v, k).SerializeToString())


opset = [helper.make_opsetid("", 13)]

# (a) If: main Conv + Relu makes y; each branch runs Conv + Relu + Conv on y
def branch(tag, w1, w2, local, r1=None):
    r1 = r1 or tag + "_r1"
    nodes = [
        helper.make_node("Conv", ["y", w1, "b_" + tag + "1"], [tag + "_c1"], pads=[1, 1, 1, 1], name=tag + "_conv1"),
        helper.make_node("Relu", [tag + "_c1"], [r1], name=tag + "_relu"),
        helper.make_node("Conv", [r1, w2, "b_" + tag + "2"], [tag + "_out"], pads=[1, 1, 1, 1], name=tag + "_conv2"),
    ]
    return helper.make_graph(nodes, tag + "_branch", [], [helper.make_tensor_value_info(tag + "_out", F, [1, 4, 16, 16])],
                             local)


outer = [init("w0", w(8, 3, 3, 3)), init("b0", w(8)), init("w_t1", w(8, 8, 3, 3)), init("b_t1", w(8)),
         init("w_e2", w(4, 8, 3, 3)), init("b_e2", w(4))]
local_t = [init("w_t2", w(4, 8, 3, 3)), init("b_t2", w(4))]
local_e = [init("w_e1", w(8, 8, 3, 3)), init("b_e1", w(8))]


def if_model(then_g, else_g, name):
    main = helper.make_graph(
        [helper.make_node("Conv", ["x", "w0", "b0"], ["c0"], pads=[1, 1, 1, 1], name="conv0"),
         helper.make_node("Relu", ["c0"], ["y"], name="relu0"),
         helper.make_node("If", ["use_then"], ["z"], then_branch=then_g, else_branch=else_g, name="if0")],
        name,
        [helper.make_tensor_value_info("x", F, [1, 3, 16, 16]),
         helper.make_tensor_value_info("use_then", TensorProto.BOOL, [])],
        [helper.make_tensor_value_info("z", F, [1, 4, 16, 16])],
        outer)
    save(helper.make_model(main, opset_imports=opset), name)


if_model(branch("t", "w_t1", "w_t2", local_t), branch("e", "w_e1", "w_e2", local_e), "if")
# both branches name their Relu output "r1": the observer cannot tell them apart
if_model(branch("t", "w_t1", "w_t2", local_t, "r1"), branch("e", "w_e1", "w_e2", local_e, "r1"), "ifdup")
x_of = lambda: rng.random((1, 3, 16, 16), dtype=np.float32)
samples("if", 16, lambda s: [("x", x_of()), ("use_then", np.array(True))])
samples("ifboth", 16, lambda s: [("x", x_of()), ("use_then", np.array(s % 2 == 0 or s == 16))])
samples("ifelse", 0, lambda s: [("x", x_of()), ("use_then", np.array(False))])

# (b) Loop: h <- h @ W + b for 4 trips, every h also a scan output
body = helper.make_graph(
    [helper.make_node("Identity", ["cond_in"], ["cond_out"]),
     helper.make_node("MatMul", ["h", "w_loop"], ["hw"], name="loop_matmul"),
     helper.make_node("Add", ["hw", "b_loop"], ["h_next"], name="loop_add"),
     helper.make_node("Identity", ["h_next"], ["h_seen"])],
    "loop_body",
    [helper.make_tensor_value_info("i", TensorProto.INT64, []),
     helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
     helper.make_tensor_value_info("h", F, [1, 16])],
    [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
     helper.make_tensor_value_info("h_next", F, [1, 16]),
     helper.make_tensor_value_info("h_seen", F, [1, 16])],
    [init("b_loop", w(16, scale=0.1))])
w_loop = w(16, 16)
w_loop *= 0.9 / np.linalg.norm(w_loop, 2)  # a contraction: the state stays bounded
main = helper.make_graph(
    [helper.make_node("Loop", ["trips", "", "h0"], ["h_last", "h_all"], body=body, name="loop0")],
    "loop_model",
    [helper.make_tensor_value_info("h0", F, [1, 16])],
    [helper.make_tensor_value_info("h_last", F, [1, 16]), helper.make_tensor_value_info("h_all", F, [4, 1, 16])],
    [numpy_helper.from_array(np.array(4, dtype=np.int64), "trips"), init("w_loop", w_loop)])
save(helper.make_model(main, opset_imports=opset), "loop")
samples("loop", 16, lambda s: [("h0", rng.standard_normal((1, 16)).astype(np.float32))])

# (c) Scan: y_t = Gemm(x_t, W, b), s <- s + y_t over 6 slices
body = helper.make_graph(
    [helper.make_node("Gemm", ["xt", "w_scan", "b_scan"], ["yt"], transB=1, name="scan_gemm"),
     helper.make_node("Add", ["s", "yt"], ["s_next"], name="scan_add")],
    "scan_body",
    [helper.make_tensor_value_info("s", F, [1, 12]), helper.make_tensor_value_info("xt", F, [1, 8])],
    [helper.make_tensor_value_info("s_next", F, [1, 12]), helper.make_tensor_value_info("yt", F, [1, 12])],
    [init("b_scan", w(12))])
main = helper.make_graph(
    [helper.make_node("Scan", ["s0", "xs"], ["s_last", "ys"], body=body, num_scan_inputs=1, name="scan0")],
    "scan_model",
    [helper.make_tensor_value_info("s0", F, [1, 12]), helper.make_tensor_value_info("xs", F, [6, 1, 8])],
    [helper.make_tensor_value_info("s_last", F, [1, 12]), helper.make_tensor_value_info("ys", F, [6, 1, 12])],
    [init("w_scan", w(12, 8))])
save(helper.make_model(main, opset_imports=opset), "scan")
samples("scan", 16, lambda s: [("s0", np.zeros((1, 12), np.float32)),
                                ("xs", rng.standard_normal((6, 1, 8)).astype(np.float32))])
PY
then
    say "FAIL quant-sub models: $(tail -3 "$tmp/gen.log" | tr '\n' ' ')"
    finish
fi

# qdqcount.py MODEL: per graph "PATH q=N dq=N", then "outputs float|NOT"
cat > "$tmp/qdqcount.py" <<'PY'
import sys

import onnx

m = onnx.load(sys.argv[1])
onnx.checker.check_model(m)  # the loaded object: a path would be rewritten
bad = []


def walk(g, path):
    q = sum(n.op_type == "QuantizeLinear" for n in g.node)
    dq = sum(n.op_type == "DequantizeLinear" for n in g.node)
    print("%s q=%d dq=%d" % (path, q, dq))
    for o in g.output:
        t = o.type.tensor_type.elem_type
        if o.type.HasField("tensor_type") and t not in (onnx.TensorProto.FLOAT, onnx.TensorProto.BOOL):
            bad.append(path + ":" + o.name)
    for n in g.node:
        for a in n.attribute:
            if a.type == onnx.AttributeProto.GRAPH:
                walk(a.g, path + "/" + n.name + "." + a.name)


walk(m.graph, "main")
# readers of the outer activation y inside the branches: its DequantizeLinear
for n in m.graph.node:
    for a in n.attribute:
        if a.type == onnx.AttributeProto.GRAPH:
            for b in a.g.node:
                for i in b.input:
                    if i == "y":
                        bad.append("branch reads float y")
print("outputs float" if not bad else "outputs NOT float: " + " ".join(bad))
PY

# count PATH: the q count of one graph in the inspect output
count() { sed -n "s|^$1 q=\([0-9]*\) dq=\([0-9]*\)$|\1 \2|p" "$tmp/$2.qdq"; }

quantize() { # NAME CALIB OUT: static with samples from CALIB
    "$oc" compress -f "$tmp/$1.onnx" -o "$tmp/$3.onnx" --quant static --data "$tmp/$2.calib" > "$tmp/$3.log" 2>&1 &&
        $py "$tmp/qdqcount.py" "$tmp/$3.onnx" > "$tmp/$3.qdq" 2>> "$tmp/$3.log"
}

# (a) If, samples all taking then_branch
if quantize if if if.q; then
    read -r tq tdq <<< "$(count main/if0.then_branch if.q)"
    read -r eq edq <<< "$(count main/if0.else_branch if.q)"
    read -r mq mdq <<< "$(count main if.q)"
    if [ "${tq:-0}" -ge 2 ] && [ "${tdq:-0}" -ge 6 ]; then
        say "PASS quant-sub if: then_branch holds $tq QuantizeLinear, $tdq DequantizeLinear (main graph: $mq, $mdq)"
    else
        say "FAIL quant-sub if: then_branch q=${tq:-?} dq=${tdq:-?}: $(tr '\n' ' ' < "$tmp/if.q.qdq")"
    fi
    if [ "${eq:-1}" = 0 ] && [ "${edq:-1}" = 0 ] &&
        grep -q "If 'if0' else_branch never ran on the calibration samples" "$tmp/if.q.log"; then
        say "PASS quant-sub if untaken: else_branch stays float, notice: $(grep -o "If 'if0' else_branch never ran[^(]*" "$tmp/if.q.log")"
    else
        say "FAIL quant-sub if untaken: else_branch q=${eq:-?} dq=${edq:-?}; $(grep -i 'never ran' "$tmp/if.q.log")"
    fi
    if grep -q "outputs float" "$tmp/if.q.qdq"; then
        say "PASS quant-sub if: body outputs float, branches read y's DequantizeLinear, onnx checker accepts it"
    else
        say "FAIL quant-sub if: $(tail -1 "$tmp/if.q.qdq")"
    fi
    ort_check "quant-sub if in ORT (then_branch)" "$tmp/if.onnx" "$tmp/if.q.onnx" "$tmp/if.eval"
    ort_check "quant-sub if in ORT (else_branch, left float)" "$tmp/if.onnx" "$tmp/if.q.onnx" "$tmp/ifelse.eval"
else
    say "FAIL quant-sub if: $(tail -3 "$tmp/if.q.log" | tr '\n' ' ')"
fi

# (a') samples taking both branches: both quantized, no notice
if quantize if ifboth ifboth.q; then
    read -r tq tdq <<< "$(count main/if0.then_branch ifboth.q)"
    read -r eq edq <<< "$(count main/if0.else_branch ifboth.q)"
    if [ "${tq:-0}" -ge 2 ] && [ "${eq:-0}" -ge 2 ] && ! grep -q "never ran" "$tmp/ifboth.q.log"; then
        say "PASS quant-sub if both taken: then_branch q=$tq dq=$tdq, else_branch q=$eq dq=$edq"
    else
        say "FAIL quant-sub if both taken: then q=${tq:-?} else q=${eq:-?}; $(grep 'never ran' "$tmp/ifboth.q.log")"
    fi
    ort_check "quant-sub if both taken in ORT (then_branch)" "$tmp/if.onnx" "$tmp/ifboth.q.onnx" "$tmp/if.eval"
    ort_check "quant-sub if both taken in ORT (else_branch)" "$tmp/if.onnx" "$tmp/ifboth.q.onnx" "$tmp/ifelse.eval"
else
    say "FAIL quant-sub if both taken: $(tail -3 "$tmp/ifboth.q.log" | tr '\n' ' ')"
fi

# (a'') sibling branches defining one name: that tensor stays float, said once
if quantize ifdup ifboth ifdup.q; then
    read -r tq tdq <<< "$(count main/if0.then_branch ifdup.q)"
    if grep -q "1 tensor name is defined by more than one graph (e.g. 'r1'): left float" "$tmp/ifdup.q.log" &&
        [ "${tq:-0}" -ge 1 ] &&
        $py -c "import onnx,sys; m=onnx.load(sys.argv[1]); sys.exit(any(n.output[0]=='r1_quantized' for a in m.graph.node[-1].attribute for n in a.g.node))" "$tmp/ifdup.q.onnx"; then
        say "PASS quant-sub if shared name: 'r1' stays float in both branches (then_branch q=$tq), with a notice"
    else
        say "FAIL quant-sub if shared name: $(grep -i 'more than one graph' "$tmp/ifdup.q.log") then q=${tq:-?}"
    fi
    ort_check "quant-sub if shared name in ORT" "$tmp/ifdup.onnx" "$tmp/ifdup.q.onnx" "$tmp/if.eval"
else
    say "FAIL quant-sub if shared name: $(tail -3 "$tmp/ifdup.q.log" | tr '\n' ' ')"
fi

# (b) Loop and (c) Scan
for m in loop:loop0.body scan:scan0.body; do
    name=${m%%:*}
    path=main/${m#*:}
    if quantize "$name" "$name" "$name.q"; then
        read -r bq bdq <<< "$(count "$path" "$name.q")"
        if [ "${bq:-0}" -ge 2 ] && [ "${bdq:-0}" -ge 3 ] && grep -q "outputs float" "$tmp/$name.q.qdq"; then
            say "PASS quant-sub $name: the body holds $bq QuantizeLinear, $bdq DequantizeLinear; its outputs stay float"
        else
            say "FAIL quant-sub $name: body q=${bq:-?} dq=${bdq:-?}: $(tr '\n' ' ' < "$tmp/$name.q.qdq")"
        fi
        ort_check "quant-sub $name in ORT" "$tmp/$name.onnx" "$tmp/$name.q.onnx" "$tmp/$name.eval"
    else
        say "FAIL quant-sub $name: $(tail -3 "$tmp/$name.q.log" | tr '\n' ' ')"
    fi
done

# ---- the corpus's silero-vad models ----
if [ ! -d "$corpus/models" ]; then
    say "SKIP quant-sub silero: ../shared/corpus is absent"
    finish
fi
$py "$root/tests/quant/gen_calib.py" "$hints" "$tmp/gen" "$corpus"/models/silero-vad-*.onnx > /dev/null
# shellcheck source=tests/quant/data.sh
. "$root/tests/quant/data.sh"
for name in silero-vad-v4 silero-vad-op18-ifless; do
    f=$corpus/models/$name.onnx
    if [ ! -f "$f" ]; then
        say "SKIP quant-sub $name: not in the corpus"
        continue
    fi
    # shellcheck disable=SC2046
    if ! "$oc" compress -f "$f" -o "$tmp/$name.s8.onnx" --quant static $(calib_args "$name") > "$tmp/$name.log" 2>&1; then
        say "FAIL quant-sub $name: $(tail -3 "$tmp/$name.log" | tr '\n' ' ')"
        continue
    fi
    inside=$(grep -o 'inside [0-9]* subgraph bod[a-z]*: [0-9]* layers\? with int8 weights, [0-9]* activations\? quantized' "$tmp/$name.log")
    ort_check "quant-sub $name static${inside:+, $inside}" "$f" "$tmp/$name.s8.onnx" "$(real_inputs "$name" "$f")"
done
# ORT fuses the QDQ form inside silero-vad v4's branch (each body has its own
# DequantizeLinear of the outer weights, as QLinearConv needs)
q=$tmp/silero-vad-v4.s8.onnx
if [ -f "$q" ] && [ "$have_ort" = 1 ]; then
    if node "$root/tests/ort/optimized.js" "$q" "$tmp/v4.opt.onnx" > "$tmp/opt.log" 2>&1 &&
        n=$($py - "$tmp/v4.opt.onnx" <<'PY'
import sys

import onnx

m = onnx.load(sys.argv[1])
count = 0
for n in m.graph.node:
    for a in n.attribute:
        if a.type == onnx.AttributeProto.GRAPH:
            count += sum(b.op_type == "QLinearConv" for b in a.g.node)
print(count)
PY
        ) && [ "$n" -gt 0 ]; then
        say "PASS quant-sub silero-vad-v4 fused: ORT runs $n QLinearConv inside the If branches"
    else
        say "FAIL quant-sub silero-vad-v4 fused: ${n:-?} QLinearConv in the branches $(tail -2 "$tmp/opt.log" | tr '\n' ' ')"
    fi
fi
finish
