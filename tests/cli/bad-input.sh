#!/usr/bin/env bash
# Bad-input and CLI error tests for onnxcomp.
#
#   tests/cli/bad-input.sh BUILD/onnxcomp
#
# Generates the cases of tests/gen/make_bad_models.py into a temp folder and,
# for each, runs `onnxcomp compress CASE -o OUT/x.onnx`, the same with
# --external-data=0, and `onnxcomp info CASE`, checking the exit code, that
# stderr is exactly one line `onnxcomp: <path>: <problem>` naming the file and
# matching the case's regex, that nothing is left in OUT, and that no input
# file changed.  Then some CLI cases (output folder missing / not a folder /
# not writable / full, output == input, output exists with and without -f).
#
# Prints `PASS name`, `FAIL name: why` or `SKIP name: why` per check and
# `bad-input: N passed, N failed` at the end; exits 1 if any check failed.
# Needs only bash, coreutils and /usr/bin/python3 with onnx + numpy; the
# permission and disk-full cases also use setpriv and unshare (util-linux)
# when run as root, and are skipped if those are not usable.

set -u

PY=/usr/bin/python3

if [ $# -ne 1 ]; then
    echo "usage: $0 PATH/TO/onnxcomp" >&2
    exit 2
fi
if [ ! -x "$1" ] || [ -d "$1" ]; then
    echo "bad-input: $1: not an executable" >&2
    exit 2
fi
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
GEN=$REPO/tests/gen/make_bad_models.py

tmp=$(mktemp -d)
cleanup() {
    chmod -R u+rwx "$tmp" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

C=$tmp/cases       # generated cases
OUT=$tmp/out       # output folder of every compress run
mkdir -p "$OUT"

if ! "$PY" "$GEN" "$C" >"$tmp/gen.log" 2>&1; then
    echo "FAIL generate: make_bad_models.py failed:"
    sed 's/^/    /' "$tmp/gen.log"
    echo "bad-input: 0 passed, 1 failed"
    exit 1
fi

npass=0
nfail=0
pass() { npass=$((npass + 1)); echo "PASS $1"; }
fail() { nfail=$((nfail + 1)); echo "FAIL $1: $2"; }
skip() { echo "SKIP $1: $2"; }

# One-line description of a file, for messages (quoted, truncated).
show() {
    local s
    s=$(head -c 300 "$1" | tr '\n' '|')
    printf "'%s'" "$s"
}

# Fingerprint of every file under the cases folder (names, types, sizes,
# symlink targets, contents), to tell whether a run changed any input or left
# anything beside it.
snapshot() {
    (cd "$C" && find . -printf '%p %y %s %l\n' | LC_ALL=C sort &&
        find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum)
}
SNAP0=$tmp/snap0
snapshot >"$SNAP0"

# run NAME-PREFIX -- ARGS...: runs onnxcomp, sets RC, ERR (stderr file),
# STDOUT (stdout file).
ERR=$tmp/stderr
STDOUT=$tmp/stdout
RC=0
# Each run is limited to $RUN_TIMEOUT seconds (exit 124 when it hangs).
RUN_TIMEOUT=${RUN_TIMEOUT:-60}
run() {
    RC=0
    timeout "$RUN_TIMEOUT" "$BIN" "$@" >"$STDOUT" 2>"$ERR" </dev/null || RC=$?
}

# Line count of stderr, counting a last line without newline.
err_lines() { awk 'END { print NR }' "$ERR"; }

# check_error NAME EXPECTED_RC REGEX PATH...
# Checks after a run expected to fail: exit code, one line, names one of the
# PATHs, matches REGEX once the paths and the `onnxcomp: ` prefix are removed.
check_error() {
    local name=$1 want=$2 re=$3
    shift 3
    local line rest p found=""
    if [ "$RC" -eq "$want" ]; then
        pass "$name exit=$want"
    else
        fail "$name exit=$want" "got exit $RC, stderr $(show "$ERR")"
    fi
    local n
    n=$(err_lines)
    if [ "$n" -eq 1 ] && [ -n "$(tail -c 1 "$ERR")" ]; then
        n="1 (no final newline)"
    fi
    if [ "$n" = 1 ]; then
        pass "$name one-line"
    else
        fail "$name one-line" "stderr has $n lines: $(show "$ERR")"
    fi
    line=$(head -n 1 "$ERR")
    for p in "$@"; do
        case "$line" in
            *"$p"*) found=$p; break ;;
        esac
    done
    if [ "${line#onnxcomp: }" = "$line" ]; then
        fail "$name names-path" "line does not start with 'onnxcomp: ': $(show "$ERR")"
    elif [ -n "$found" ]; then
        pass "$name names-path"
    else
        fail "$name names-path" "none of [$*] in $(show "$ERR")"
    fi
    # The problem text: drop the prefix and every path we know of, longest
    # first, so that words in file names cannot satisfy the regex.
    rest=${line#onnxcomp: }
    local sorted
    sorted=$(printf '%s\n' "$@" "$tmp" | awk '{ print length($0) "\t" $0 }' |
        sort -rn | cut -f2-)
    while IFS= read -r p; do
        [ -n "$p" ] && rest=${rest//"$p"/}
    done <<<"$sorted"
    if [ -z "$re" ] || [ "$re" = - ]; then
        :
    elif printf '%s\n' "$rest" | grep -Eqi -- "$re"; then
        pass "$name message"
    else
        fail "$name message" "'$rest' does not match /$re/"
    fi
}

# check_ok NAME: run expected to succeed, with nothing on stderr.
check_ok() {
    local name=$1
    if [ "$RC" -eq 0 ]; then
        pass "$name exit=0"
    else
        fail "$name exit=0" "got exit $RC, stderr $(show "$ERR")"
    fi
    if [ ! -s "$ERR" ]; then
        pass "$name quiet"
    else
        fail "$name quiet" "stderr not empty: $(show "$ERR")"
    fi
}

# check_out_empty NAME [DIR]: nothing at all left in the output folder.
check_out_empty() {
    local name=$1 dir=${2:-$OUT} left
    left=$(find "$dir" -mindepth 1 -maxdepth 1 -printf '%f ' 2>/dev/null)
    if [ -z "$left" ]; then
        pass "$name no-output"
    else
        fail "$name no-output" "left in $dir: $left"
        rm -rf "${dir:?}"/* "$dir"/.[!.]* 2>/dev/null
    fi
}

# check_inputs NAME: no file under the cases folder changed, appeared or went.
check_inputs() {
    local name=$1
    snapshot >"$tmp/snap1"
    if cmp -s "$SNAP0" "$tmp/snap1"; then
        pass "$name input-unchanged"
    else
        fail "$name input-unchanged" "$(diff "$SNAP0" "$tmp/snap1" | grep '^[<>]' | head -3 | tr '\n' ' ')"
        snapshot >"$SNAP0"
    fi
}

# check_no_stray NAME: OUT holds x.onnx and the external data files x.onnx
# names, nothing else (no temp files).
check_no_stray() {
    local name=$1 left
    left=$("$PY" -c '
import os, sys, onnx
m = onnx.load(os.path.join(sys.argv[1], "x.onnx"), load_external_data=False)
keep = {"x.onnx"} | {e.value for t in m.graph.initializer
                     for e in t.external_data if e.key == "location"}
print(" ".join(sorted(set(os.listdir(sys.argv[1])) - keep)))' "$OUT" 2>&1)
    if [ -z "$left" ]; then
        pass "$name no-stray-files"
    else
        fail "$name no-stray-files" "also in $OUT: $left"
    fi
}

# verify_model NAME IN OUT: OUT loads with onnx (with its external data),
# passes the checker and holds the same graph and tensors as IN.
verify_model() {
    local name=$1 in=$2 out=$3 msg
    if msg=$("$PY" - "$in" "$out" 2>&1 <<'EOF'
import sys
import numpy as np
import onnx
from onnx import numpy_helper

a = onnx.load(sys.argv[1])
b = onnx.load(sys.argv[2])
onnx.checker.check_model(b)
if [n.SerializeToString() for n in a.graph.node] != [n.SerializeToString() for n in b.graph.node]:
    sys.exit("nodes differ")
ia = {t.name: numpy_helper.to_array(t) for t in a.graph.initializer}
ib = {t.name: numpy_helper.to_array(t) for t in b.graph.initializer}
if ia.keys() != ib.keys():
    sys.exit("initializer names differ: %s vs %s" % (sorted(ia), sorted(ib)))
for k in ia:
    if ia[k].dtype != ib[k].dtype or ia[k].shape != ib[k].shape or \
            ia[k].tobytes() != ib[k].tobytes():
        sys.exit("initializer %s differs" % k)
EOF
    ); then
        pass "$name output-valid"
    else
        fail "$name output-valid" "$(printf '%s' "$msg" | tail -n 1)"
    fi
}

# ---------------------------------------------------------------------------
# Generated cases.

while IFS=$'\t' read -r name model want re alts; do
    case "$name" in '#'* | '') continue ;; esac
    in=$C/$model
    paths=("$in")
    if [ "$alts" != - ]; then
        IFS=, read -r -a extra <<<"$alts"
        for p in "${extra[@]}"; do
            case "$p" in
                /*) paths+=("$p") ;;
                *) paths+=("$C/$p") ;;
            esac
        done
    fi

    for mode in compress compress-ext info; do
        t="$mode/$name"
        case "$mode" in
            compress) run compress "$in" -o "$OUT/x.onnx" ;;
            compress-ext) run compress "$in" -o "$OUT/x.onnx" --external-data=0 ;;
            info) run info "$in" ;;
        esac
        if [ "$want" -eq 0 ]; then
            check_ok "$t"
            case "$mode" in
                compress*)
                    if [ -f "$OUT/x.onnx" ]; then
                        verify_model "$t" "$in" "$OUT/x.onnx"
                    else
                        fail "$t output-valid" "no $OUT/x.onnx"
                    fi
                    check_no_stray "$t"
                    rm -rf "${OUT:?}"/* "$OUT"/.[!.]* 2>/dev/null
                    ;;
                info)
                    if [ -s "$STDOUT" ]; then
                        pass "$t prints"
                    else
                        fail "$t prints" "nothing on stdout"
                    fi
                    run info --json "$in"
                    if [ "$RC" -eq 0 ] && "$PY" -m json.tool "$STDOUT" >/dev/null 2>&1; then
                        pass "$t json"
                    else
                        fail "$t json" "exit $RC, stdout $(show "$STDOUT")"
                    fi
                    ;;
            esac
        else
            check_error "$t" "$want" "$re" "${paths[@]}"
            [ "$mode" = info ] || check_out_empty "$t"
        fi
        check_inputs "$t"
    done
done <"$C/cases.tsv"

# ---------------------------------------------------------------------------
# CLI cases.

GOOD=$C/good.onnx
RE_WRITE='cannot (create|open|write)|no such file|not a directory|director|permission|denied|read-only|not writable|exist|missing|write'

# Output folder missing.
run compress "$GOOD" -o "$tmp/no-such-dir/x.onnx"
check_error cli/out-dir-missing 4 "$RE_WRITE" "$tmp/no-such-dir"
if [ ! -e "$tmp/no-such-dir" ]; then pass "cli/out-dir-missing not-created"; else
    fail "cli/out-dir-missing not-created" "$tmp/no-such-dir was created"
fi
check_inputs cli/out-dir-missing

# Output "folder" is a regular file (ENOTDIR, fails even for root).
echo "not a folder" >"$tmp/afile"
run compress "$GOOD" -o "$tmp/afile/x.onnx"
check_error cli/out-dir-is-file 4 "$RE_WRITE" "$tmp/afile"
check_inputs cli/out-dir-is-file

# Output folder not writable, and input not readable.  Root ignores modes, so
# as root these run onnxcomp as nobody (setpriv) from a folder it can reach.
as_user=()
perm_ok=1
if [ "$(id -u)" -eq 0 ]; then
    if command -v setpriv >/dev/null &&
        setpriv --reuid=65534 --regid=65534 --clear-groups true 2>/dev/null; then
        as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups)
    else
        perm_ok=0
    fi
fi
if [ $perm_ok -eq 1 ]; then
    P=$tmp/perm
    mkdir -p "$P/ro" "$P/bin"
    chmod 711 "$tmp"
    cp "$BIN" "$P/bin/onnxcomp"
    cp "$GOOD" "$P/good.onnx"
    cp "$GOOD" "$P/secret.onnx"
    chmod 755 "$P" "$P/bin" "$P/bin/onnxcomp"
    chmod 644 "$P/good.onnx"
    chmod 000 "$P/secret.onnx"
    chmod 555 "$P/ro"
    if [ -n "${as_user[*]}" ]; then chown -R 65534 "$P/ro"; fi
    if "${as_user[@]}" "$P/bin/onnxcomp" info "$P/good.onnx" >/dev/null 2>&1; then
        RC=0
        timeout "$RUN_TIMEOUT" "${as_user[@]}" "$P/bin/onnxcomp" compress "$P/good.onnx" -o "$P/ro/x.onnx" \
            >"$STDOUT" 2>"$ERR" </dev/null || RC=$?
        check_error cli/out-dir-readonly 4 "$RE_WRITE" "$P/ro"
        check_out_empty cli/out-dir-readonly "$P/ro"

        RC=0
        timeout "$RUN_TIMEOUT" "${as_user[@]}" "$P/bin/onnxcomp" compress "$P/secret.onnx" -o "$P/x.onnx" \
            >"$STDOUT" 2>"$ERR" </dev/null || RC=$?
        check_error cli/in-unreadable 2 'permission|denied|cannot (open|read)|EACCES' "$P/secret.onnx"
        if [ ! -e "$P/x.onnx" ]; then pass "cli/in-unreadable no-output"; else
            fail "cli/in-unreadable no-output" "$P/x.onnx exists"
        fi

        # External data file present but unreadable: an input that cannot be
        # read, like a missing one.
        mkdir -p "$P/ext"
        cp "$C/good_external/model.onnx" "$C/good_external/w.bin" "$P/ext/"
        chmod 755 "$P/ext"
        chmod 644 "$P/ext/model.onnx"
        chmod 000 "$P/ext/w.bin"
        RC=0
        timeout "$RUN_TIMEOUT" "${as_user[@]}" "$P/bin/onnxcomp" info "$P/ext/model.onnx" \
            >"$STDOUT" 2>"$ERR" </dev/null || RC=$?
        check_error cli/ext-data-unreadable 2 'permission|denied|cannot (open|read)|EACCES' \
            "$P/ext/model.onnx" "$P/ext/w.bin"
    else
        skip cli/out-dir-readonly "onnxcomp cannot run as an unprivileged user here"
        skip cli/ext-data-unreadable "onnxcomp cannot run as an unprivileged user here"
        skip cli/in-unreadable "onnxcomp cannot run as an unprivileged user here"
    fi
    chmod 700 "$tmp"
else
    skip cli/out-dir-readonly "running as root without a usable setpriv"
    skip cli/in-unreadable "running as root without a usable setpriv"
    skip cli/ext-data-unreadable "running as root without a usable setpriv"
fi

# Disk full: a 256 KiB tmpfs in a private mount namespace, 1 MiB model.
F=$tmp/full
mkdir -p "$F"
# shellcheck disable=SC2016 # the sh -c scripts expand their own arguments
if unshare -m --propagation private sh -c \
    'mount -t tmpfs -o size=256k tmpfs "$1"' sh "$F" 2>/dev/null; then
    RC=0
    unshare -m --propagation private sh -c '
        mount -t tmpfs -o size=256k tmpfs "$1" || exit 99
        bin=$2 in=$3 stdout=$4 err=$5 left=$6
        rc=0
        timeout "$7" "$bin" compress "$in" -o "$1/x.onnx" >"$stdout" 2>"$err" </dev/null || rc=$?
        ls -A "$1" >"$left"
        exit $rc' sh "$F" "$BIN" "$C/good_1mb.onnx" "$STDOUT" "$ERR" "$tmp/left" "$RUN_TIMEOUT" || RC=$?
    check_error cli/disk-full 4 'space|full|ENOSPC|write|cannot' "$F"
    if [ ! -s "$tmp/left" ]; then pass "cli/disk-full no-output"; else
        fail "cli/disk-full no-output" "left on the full disk: $(tr '\n' ' ' <"$tmp/left")"
    fi
    check_inputs cli/disk-full
else
    skip cli/disk-full "cannot mount a tmpfs in a private mount namespace here"
fi

# Output == input: refused, by the same path and by another spelling of it.
for spec in "same-path:$GOOD" "dot-path:$C/./good.onnx" "dot-path-f:$C/./good.onnx:-f" "same-path-f:$GOOD:-f"; do
    IFS=: read -r label o flag <<<"$spec"
    if [ -n "$flag" ]; then
        run compress "$GOOD" -o "$o" "$flag"
    else
        run compress "$GOOD" -o "$o"
    fi
    check_error "cli/out-is-input-$label" 1 'same|input|identical|itself|overwrite' "$GOOD" "$o"
    check_inputs "cli/out-is-input-$label"
done

# Output exists, without -f: refused, file untouched.
echo "precious" >"$OUT/x.onnx"
run compress "$GOOD" -o "$OUT/x.onnx"
check_error cli/out-exists 1 'exist|-f|force|overwrite' "$OUT/x.onnx"
if [ "$(cat "$OUT/x.onnx")" = precious ] &&
    [ "$(find "$OUT" -mindepth 1 -maxdepth 1 -printf '%f ')" = "x.onnx " ]; then
    pass "cli/out-exists untouched"
else
    fail "cli/out-exists untouched" "output folder now: $(find "$OUT" -mindepth 1 -maxdepth 1 -printf '%f ')"
fi

# Output exists, with -f: replaced by the model.
run compress -f "$GOOD" -o "$OUT/x.onnx"
check_ok cli/out-exists-f
verify_model cli/out-exists-f "$GOOD" "$OUT/x.onnx"
check_no_stray cli/out-exists-f
rm -f "$OUT/x.onnx"
check_inputs cli/out-exists-f

# Usage errors: exit 1, something on stderr, nothing written.
usage_case() {
    local name=$1
    shift
    run "$@"
    if [ "$RC" -eq 1 ]; then pass "cli/usage-$name exit=1"; else
        fail "cli/usage-$name exit=1" "got exit $RC, stderr $(show "$ERR")"
    fi
    if [ -s "$ERR" ]; then pass "cli/usage-$name says-why"; else
        fail "cli/usage-$name says-why" "stderr empty"
    fi
    check_out_empty "cli/usage-$name"
}
usage_case no-args
usage_case bad-command frobnicate "$GOOD"
usage_case no-output compress "$GOOD"
usage_case bad-option compress "$GOOD" -o "$OUT/x.onnx" --no-such-option
usage_case bad-ext-size compress "$GOOD" -o "$OUT/x.onnx" --external-data=lots
usage_case two-inputs compress "$GOOD" "$C/good_1mb.onnx" -o "$OUT/x.onnx"

echo "bad-input: $npass passed, $nfail failed"
[ "$nfail" -eq 0 ]
