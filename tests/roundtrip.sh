#!/usr/bin/env bash
# roundtrip.sh ONNXCOMP OUTDIR [LIST]
# Round-trips every model of Debian's libonnx-testdata and of ../shared/corpus
# (when present) through `onnxcomp compress` with no passes, and checks that
# the written file is byte-identical to the source, or else parses to an equal
# message (python3-onnx). Prints PASS/FAIL/SKIP lines; writes LIST (for the
# ONNX Runtime check) with one "name<TAB>orig<TAB>new<TAB>inputs" per model.
set -u
oc=$1
out=$2
list=${3:-$out/pairs.tsv}
here=$(cd "$(dirname "$0")" && pwd)
corpus="$here/../../shared/corpus/models"
mkdir -p "$out"
: > "$list"
n=0

check_one() { # name src inputs
    local name=$1 src=$2 inputs=$3
    n=$((n + 1))
    local dst="$out/$n.onnx"
    local err
    if ! err=$("$oc" compress -f "$src" -o "$dst" 2>&1); then
        echo "FAIL roundtrip $name: $err"
        return
    fi
    if cmp -s "$src" "$dst"; then
        echo "PASS roundtrip $name"
    elif /usr/bin/python3 - "$src" "$dst" <<'PY'
import sys, onnx
a = onnx.ModelProto(); a.ParseFromString(open(sys.argv[1], 'rb').read())
b = onnx.ModelProto(); b.ParseFromString(open(sys.argv[2], 'rb').read())
sys.exit(0 if a == b else 1)
PY
    then
        echo "PASS roundtrip $name (equal message, not byte-identical)"
    else
        echo "FAIL roundtrip $name: written model differs from the source"
        return
    fi
    printf '%s\t%s\t%s\t%s\n' "$name" "$src" "$dst" "$inputs" >> "$list"
}

if [ -d /usr/share/libonnx-testdata/data ]; then
    while IFS= read -r f; do
        d=$(dirname "$f")
        name=${d#/usr/share/libonnx-testdata/data/}
        inputs=-
        [ -d "$d/test_data_set_0" ] && inputs="$d/test_data_set_0"
        check_one "$name" "$f" "$inputs"
    done < <(find /usr/share/libonnx-testdata/data -name model.onnx | sort)
else
    echo "SKIP roundtrip libonnx-testdata: not installed (scripts/setup.sh installs it)"
fi

if [ -d "$corpus" ]; then
    for f in "$corpus"/*.onnx; do
        check_one "corpus/$(basename "$f" .onnx)" "$f" -
    done
else
    echo "SKIP roundtrip corpus: ../shared/corpus is absent"
fi
