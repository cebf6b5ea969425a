#!/usr/bin/env bash
# Failure tests for onnxcomp: what happens when memory, the disk, the output
# folder, a signal or another onnxcomp gets in the way, and what hostile
# sizes in a model do.
#
#   tests/failure/run.sh BUILD/onnxcomp
#
#  alloc      oc-failinject fails every allocation of load -> prune ->
#             quantize (weight-only, static on 2 samples) -> save in turn, then
#             each one alone: a clean out-of-memory error, no leak, nothing
#             written (see tests/tools/oc_failinject.c); built with ASan +
#             LeakSanitizer in $SAN_BUILD (default build-san)
#  io         oc-failinject fails every file-system call of a save in turn
#             with ENOSPC, EIO, ENOENT: a write error naming the file and the
#             errno, no temporary file, an existing output untouched
#  disk-full  a real 1 MiB tmpfs (as root; skipped elsewhere): exit 4, one
#             line naming the output and "No space left on device"
#  dir-gone   the output folder removed while compress runs, and while it
#             writes: exit 4, nothing recreated
#  signal     SIGINT / SIGTERM while compress quantizes, and while it writes:
#             exit 128 + signal, no temporary file, no partial output
#  race       two onnxcomp writing the same output at once, 20 times: always
#             one complete file equal to one of the two intended outputs
#  limits     crafted files with hostile sizes (tests/failure/gen_models.py
#             hostile): the documented exit code and one error line, quickly,
#             within bounded memory (ulimit -v), and clean under ASan
#
# Prints PASS / FAIL / SKIP lines and "failure: N passed, N failed, N
# skipped"; exits 1 when a check failed. Needs /usr/bin/python3 with onnx and
# numpy; disk-full needs root (mount) and uses unshare when it can.

set -u

PY=/usr/bin/python3
if [ $# -ne 1 ] || [ ! -x "$1" ]; then
    echo "usage: $0 PATH/TO/onnxcomp" >&2
    exit 2
fi
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
SAN_BUILD=${SAN_BUILD:-build-san}
case "$SAN_BUILD" in /*) ;; *) SAN_BUILD=$REPO/$SAN_BUILD ;; esac
SAN_FLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"
PLAIN_TOOL=$(dirname "$BIN")/oc-failinject

tmp=$(mktemp -d /tmp/onnxcomp-failure.XXXXXX)
mounted=""
cleanup() {
    [ -n "$mounted" ] && umount "$mounted" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

npass=0 nfail=0 nskip=0
pass() { npass=$((npass + 1)); echo "PASS $1"; }
fail() { nfail=$((nfail + 1)); echo "FAIL $1: $2"; }
skip() { nskip=$((nskip + 1)); echo "SKIP $1: $2"; }
show() { printf "'%s'" "$(head -c 300 "$1" | tr '\n' '|')"; }
lines() { awk 'END { print NR }' "$1"; }
# sha256 of every file under a folder, with names
sums() { (cd "$1" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum); }

# ---------------------------------------------------------------------------
# Models.

M=$tmp/models
mkdir -p "$M/ext" "$M/hostile"
if ! "$PY" "$HERE/gen_models.py" small "$M/small.onnx" >"$tmp/gen.log" 2>&1 ||
    ! "$PY" "$HERE/gen_models.py" medium "$M/medium.onnx" >>"$tmp/gen.log" 2>&1 ||
    ! "$PY" "$HERE/gen_models.py" hostile "$M/hostile" >>"$tmp/gen.log" 2>&1 ||
    ! "$PY" "$REPO/scripts/gen-big-model.py" "$M/big.onnx" --mb 160 --dim 512 >>"$tmp/gen.log" 2>&1 ||
    ! "$BIN" compress "$M/small.onnx" -o "$M/ext/small-ext.onnx" --external-data=256 >>"$tmp/gen.log" 2>&1; then
    fail generate "$(tail -3 "$tmp/gen.log" | tr '\n' '|')"
    echo "failure: $npass passed, $nfail failed, $nskip skipped"
    exit 1
fi
SUMS0=$(sums "$M")
inputs_unchanged() {
    if [ "$(sums "$M")" = "$SUMS0" ]; then pass "$1 input-unchanged"; else
        fail "$1 input-unchanged" "a model under $M changed"
        SUMS0=$(sums "$M")
    fi
}

# ---------------------------------------------------------------------------
# alloc and io: in-process, under ASan + LeakSanitizer when that builds.

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=99
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
SAN_BIN=""
TOOL=""
if make -s -C "$REPO" -j"$(nproc)" BUILD="$SAN_BUILD" SAN="$SAN_FLAGS" OPT="-O1 -g" \
    "$SAN_BUILD/oc-failinject" >"$tmp/san-build.log" 2>&1; then
    TOOL=$SAN_BUILD/oc-failinject
    pass "build $SAN_BUILD/oc-failinject (ASan + UBSan + LeakSanitizer)"
else
    fail "build $SAN_BUILD/oc-failinject" "$(grep -m1 -E 'error' "$tmp/san-build.log")"
    [ -x "$PLAIN_TOOL" ] && TOOL=$PLAIN_TOOL
fi
if make -s -C "$REPO" -j"$(nproc)" BUILD="$SAN_BUILD" SAN="$SAN_FLAGS" OPT="-O1 -g" \
    "$SAN_BUILD/onnxcomp" >>"$tmp/san-build.log" 2>&1; then
    SAN_BIN=$SAN_BUILD/onnxcomp
fi

# run_tool NAME ARGS...: the tool's PASS/FAIL lines, and a FAIL if it
# crashed or a sanitizer stopped it without one.
run_tool() {
    local name=$1 rc=0
    shift
    "$TOOL" "$@" >"$tmp/tool.out" 2>"$tmp/tool.err" || rc=$?
    local p f
    p=$(grep -c '^PASS' "$tmp/tool.out")
    f=$(grep -c '^FAIL' "$tmp/tool.out")
    grep -E '^(PASS|FAIL)' "$tmp/tool.out"
    npass=$((npass + p)) nfail=$((nfail + f))
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        fail "$name" "exit $rc: $(grep -m3 -E 'ERROR|SUMMARY|runtime error' "$tmp/tool.err" | tr '\n' '|')"
    fi
    if grep -q 'LeakSanitizer\|AddressSanitizer\|runtime error' "$tmp/tool.err"; then
        sed -n '1,40p' "$tmp/tool.err" | sed 's/^/    /'
    fi
}

if [ -n "$TOOL" ]; then
    run_tool alloc alloc "$M/small.onnx" "$tmp/fi"
    run_tool alloc-once alloc "$M/small.onnx" "$tmp/fi" --once
    run_tool alloc-ext alloc "$M/ext/small-ext.onnx" "$tmp/fi-ext"
    run_tool io io "$M/small.onnx" "$tmp/fi-io"
    inputs_unchanged failinject
else
    skip alloc "no oc-failinject built"
fi

# ---------------------------------------------------------------------------
# CLI runs. check NAME WANT_RC STDERR_FILE WORDS...: exit code, one line
# starting "onnxcomp: ", holding every WORD.
RC=0
check() {
    local name=$1 want=$2 err=$3 w ok=1
    shift 3
    if [ "$RC" -ne "$want" ]; then
        fail "$name exit=$want" "got $RC, stderr $(show "$err")"
        return
    fi
    if [ "$(lines "$err")" -ne 1 ] || [ "$(head -c 10 "$err")" != "onnxcomp: " ]; then
        fail "$name one-line" "stderr $(show "$err")"
        return
    fi
    for w in "$@"; do
        case "$(cat "$err")" in *"$w"*) ;; *) ok=0 ;; esac
    done
    if [ $ok -eq 1 ]; then pass "$name exit=$want, one line naming the output and the errno"; else
        fail "$name message" "$(show "$err") lacks one of: $*"
    fi
}

# nothing but `keep` names in a folder
only_in() {
    local name=$1 dir=$2 left
    shift 2
    left=$(cd "$dir" 2>/dev/null && ls -A | grep -vxF -f <(printf '%s\n' "$@" "") | tr '\n' ' ')
    if [ -z "$left" ]; then pass "$name no-temp-files"; else fail "$name no-temp-files" "left in $dir: $left"; fi
}

# ---------------------------------------------------------------------------
# disk-full: a 1 MiB tmpfs, in a private mount namespace when unshare works
# (nothing to unmount then), else mounted here and unmounted on exit.

disk_full_cases() { # MNT BIN MODELS OUTFILE: runs in the mount, writes results
    local mnt=$1 bin=$2 m=$3 res=$4 rc
    {
        rc=0
        "$bin" compress "$m/small.onnx" -o "$mnt/fits.onnx" 2>"$res.fits.err" || rc=$?
        echo "fits $rc $(ls -A "$mnt" | tr '\n' ' ')"
        rm -f "$mnt/fits.onnx"
        rc=0
        "$bin" compress "$m/medium.onnx" -o "$mnt/x.onnx" 2>"$res.plain.err" || rc=$?
        echo "plain $rc $(ls -A "$mnt" | tr '\n' ' ')"
        rc=0
        "$bin" compress "$m/medium.onnx" -o "$mnt/x.onnx" --external-data 2>"$res.ext.err" || rc=$?
        echo "ext $rc $(ls -A "$mnt" | tr '\n' ' ')"
        head -c 200000 /dev/urandom >"$mnt/x.onnx"
        sha256sum <"$mnt/x.onnx" >"$res.old"
        rc=0
        "$bin" compress -f "$m/medium.onnx" -o "$mnt/x.onnx" 2>"$res.existing.err" || rc=$?
        echo "existing $rc $(ls -A "$mnt" | tr '\n' ' ') $(sha256sum <"$mnt/x.onnx" | cmp -s - "$res.old" && echo same)"
    } >"$res"
}

D=$tmp/full
mkdir -p "$D"
how=""
if [ "$(id -u)" -ne 0 ]; then
    skip disk-full "not root: cannot mount a 1 MiB tmpfs"
elif unshare -m --propagation private true 2>/dev/null; then
    how=unshare
    unshare -m --propagation private bash -c "$(declare -f disk_full_cases)"'
        mount -t tmpfs -o size=1m tmpfs "$1" || exit 99
        disk_full_cases "$@"' sh "$D" "$BIN" "$M" "$tmp/full.res" || how=""
elif mount -t tmpfs -o size=1m tmpfs "$D" 2>/dev/null; then
    how=mount
    mounted=$D
    disk_full_cases "$D" "$BIN" "$M" "$tmp/full.res"
    umount "$D" && mounted=""
else
    skip disk-full "cannot mount a tmpfs here"
fi
if [ -n "$how" ] && [ -s "$tmp/full.res" ]; then
    ENOSPC="No space left on device"
    read -r _ rc left <<<"$(grep '^fits ' "$tmp/full.res")"
    if [ "$rc" = 0 ] && [ "$left" = fits.onnx ]; then pass "disk-full a model that fits is written ($how)"; else
        fail "disk-full fits" "exit $rc, left '$left', stderr $(show "$tmp/full.res.fits.err")"
    fi
    for c in plain ext; do
        read -r _ RC left <<<"$(grep "^$c " "$tmp/full.res")"
        check "disk-full $c" 4 "$tmp/full.res.$c.err" "$D/x.onnx" "$ENOSPC"
        if [ -z "$left" ]; then pass "disk-full $c nothing-left"; else fail "disk-full $c nothing-left" "left: $left"; fi
    done
    read -r _ RC left same <<<"$(grep '^existing ' "$tmp/full.res")"
    check "disk-full over-existing" 4 "$tmp/full.res.existing.err" "$D/x.onnx" "$ENOSPC"
    if [ "$left" = x.onnx ] && [ "${same:-}" = same ]; then pass "disk-full over-existing output untouched"; else
        fail "disk-full over-existing untouched" "folder: '$left', content ${same:-changed}"
    fi
    inputs_unchanged disk-full
elif [ -n "$how" ]; then
    fail disk-full "the tmpfs runs did not complete"
fi

# ---------------------------------------------------------------------------
# References for the timing tests: the big model quantized with a slow
# method, uninterrupted.
SLOW=(--quant weight:method=mse)
R=$tmp/ref
mkdir -p "$R"
t0=$(date +%s%N)
if ! "$BIN" compress "$M/big.onnx" -o "$R/big.onnx" "${SLOW[@]}" 2>"$tmp/ref.err"; then
    fail "reference compress" "$(show "$tmp/ref.err")"
fi
echo "# the compress that signals interrupt takes $((($(date +%s%N) - t0) / 1000000)) ms uninterrupted"

# race.py ACTION WHEN: runs compress of the big model into $O, sets RC, ACTED
O=$tmp/o
act() {
    local action=$1 when=$2 res
    shift 2
    rm -rf "$O"
    mkdir -p "$O"
    res=$("$PY" "$HERE/race.py" "$action" "$when" "$O" -- \
        "$BIN" compress "$M/big.onnx" -o "$O/x.onnx" "${SLOW[@]}" "$@" 2>"$tmp/act.err")
    RC=$(sed -n 's/^rc=\([0-9]*\).*/\1/p' <<<"$res")
    ACTED=$(sed -n 's/.*acted=\(.*\)/\1/p' <<<"$res")
    RC=${RC:-255}
}

# ---------------------------------------------------------------------------
# dir-gone: the output folder removed mid-run.
for when in 0.3 write; do
    name="dir-gone $([ "$when" = write ] && echo while-writing || echo while-quantizing)"
    act rmdir "$when"
    if [ "$ACTED" != yes ]; then
        skip "$name" "compress ended before the folder could be removed"
        continue
    fi
    check "$name" 4 "$tmp/act.err" "$O/x.onnx" "No such file or directory"
    if [ ! -e "$O" ]; then pass "$name folder-not-recreated"; else fail "$name folder-not-recreated" "$O exists"; fi
done
inputs_unchanged dir-gone

# ---------------------------------------------------------------------------
# signal: SIGINT and SIGTERM while quantizing and while writing. Until
# compress reports interruptions itself, the signal's own death status
# (128 + signal) is what a shell sees; both are the same numbers.
for sig in INT TERM; do
    want=$((128 + $(kill -l "$sig")))
    for when in 0.4 write; do
        name="signal SIG$sig $([ "$when" = write ] && echo while-writing || echo while-quantizing)"
        act "$sig" "$when"
        if [ "$ACTED" != yes ]; then
            skip "$name" "compress ended before the signal"
            continue
        fi
        if [ "$RC" -eq "$want" ]; then pass "$name exit=$want"; else
            fail "$name exit=$want" "got $RC, stderr $(show "$tmp/act.err")"
        fi
        only_in "$name" "$O" x.onnx
        # the signal either came before the rename (no output) or after it
        # (the output is complete): never a part of one
        if [ ! -e "$O/x.onnx" ] || cmp -s "$O/x.onnx" "$R/big.onnx"; then
            pass "$name no-partial-output$([ -e "$O/x.onnx" ] && echo ' (signal came after the rename)')"
        else
            fail "$name no-partial-output" "$O/x.onnx exists and differs from the complete output"
        fi
    done
done
inputs_unchanged signal

# ---------------------------------------------------------------------------
# race: two writers of one output, A and B quantizing the same model two
# ways that take as long (so that they finish together); with
# --external-data each writes a model + data pair, which must never mix.
W=$tmp/race
QA=(--quant weight:symmetric=yes)
QB=(--quant weight:symmetric=no)
mkdir -p "$W/refa" "$W/refb" "$W/refae" "$W/refbe" "$W/out"
"$BIN" compress "$M/medium.onnx" -o "$W/refa/x.onnx" "${QA[@]}" 2>/dev/null
"$BIN" compress "$M/medium.onnx" -o "$W/refb/x.onnx" "${QB[@]}" 2>/dev/null
"$BIN" compress "$M/medium.onnx" -o "$W/refae/x.onnx" "${QA[@]}" --external-data 2>/dev/null
"$BIN" compress "$M/medium.onnx" -o "$W/refbe/x.onnx" "${QB[@]}" --external-data 2>/dev/null
if cmp -s "$W/refa/x.onnx" "$W/refb/x.onnx"; then fail "race references" "A's and B's outputs are the same"; fi
race_round() { # EXTRA-OPTION...
    local ra=0 rb=0 pa pb
    "$BIN" compress -f "$M/medium.onnx" -o "$W/out/x.onnx" "${QA[@]}" "$@" 2>"$W/a.err" &
    pa=$!
    "$BIN" compress -f "$M/medium.onnx" -o "$W/out/x.onnx" "${QB[@]}" "$@" 2>"$W/b.err" &
    pb=$!
    wait "$pa" || ra=$?
    wait "$pb" || rb=$?
    echo "$ra $rb"
}
for mode in plain ext; do
    bad=0 na=0 nb=0
    extra=()
    [ "$mode" = ext ] && extra=(--external-data)
    for i in $(seq 1 20); do
        rm -rf "$W/out"
        mkdir -p "$W/out"
        read -r ra rb <<<"$(race_round "${extra[@]}")"
        got=""
        if [ "$mode" = plain ]; then
            cmp -s "$W/out/x.onnx" "$W/refa/x.onnx" && got=a
            cmp -s "$W/out/x.onnx" "$W/refb/x.onnx" && got=b
        else
            cmp -s "$W/out/x.onnx" "$W/refae/x.onnx" && cmp -s "$W/out/x.onnx.data" "$W/refae/x.onnx.data" && got=a
            cmp -s "$W/out/x.onnx" "$W/refbe/x.onnx" && cmp -s "$W/out/x.onnx.data" "$W/refbe/x.onnx.data" && got=b
        fi
        left=$(cd "$W/out" && ls -A | grep -vx -e x.onnx -e x.onnx.data | tr '\n' ' ')
        if [ "$ra" != 0 ] || [ "$rb" != 0 ] || [ -z "$got" ] || [ -n "$left" ] ||
            ! "$BIN" info "$W/out/x.onnx" >/dev/null 2>&1; then
            bad=$((bad + 1))
            [ $bad -le 3 ] && fail "race $mode round $i" \
                "exits $ra/$rb, output ${got:-matches neither}, left '$left', $(show "$W/a.err") $(show "$W/b.err")"
        fi
        [ "$got" = a ] && na=$((na + 1))
        [ "$got" = b ] && nb=$((nb + 1))
    done
    [ $bad -eq 0 ] && pass "race $mode: 20 rounds, each one complete output ($na times A's, $nb times B's), no temp file"
done
inputs_unchanged race

# ---------------------------------------------------------------------------
# limits: each crafted file, with `info` and `compress`: its exit code, one
# line naming the file and matching the case's regex, in < 10 s, within
# 2 GiB of address space (plain build) and again under ASan (no report).
H=$M/hostile
LIMIT_KB=2097152
have_time=0
[ -x /usr/bin/time ] && have_time=1
limit_run() { # BIN ARGS... ; sets RC, SECS, KB
    local b=$1 rc=0
    shift
    # one OpenBLAS thread: its per-thread buffers are address space too
    if [ $have_time -eq 1 ]; then
        (ulimit -v $LIMIT_KB && OPENBLAS_NUM_THREADS=1 exec timeout 60 /usr/bin/time -f '%e %M' -o "$tmp/time" "$b" "$@") \
            >/dev/null 2>"$tmp/lim.err" || rc=$?
        read -r SECS KB < <(tail -n 1 "$tmp/time")
        # /usr/bin/time's own line about a non-zero exit comes first
        sed -i '/^Command exited with non-zero status/d' "$tmp/lim.err"
    else
        (ulimit -v $LIMIT_KB && OPENBLAS_NUM_THREADS=1 exec timeout 60 "$b" "$@") >/dev/null 2>"$tmp/lim.err" || rc=$?
        SECS=0 KB=0
    fi
    RC=$rc
}
san_run() { # ARGS... ; sets RC (ASan needs its address space: no ulimit)
    local rc=0
    timeout 120 "$SAN_BIN" "$@" >/dev/null 2>"$tmp/san.err" || rc=$?
    RC=$rc
}
[ -z "$SAN_BIN" ] && skip "limits asan" "$SAN_BUILD/onnxcomp did not build: limits checked with the plain build only"
while IFS=$'\t' read -r name file codes re; do
    f=$H/$file
    size=$(stat -c %s "$f")
    for cmd in info compress; do
        t="limits $name $cmd"
        rm -rf "$O"
        mkdir -p "$O"
        args=(info "$f")
        [ $cmd = compress ] && args=(compress "$f" -o "$O/x.onnx")
        limit_run "$BIN" "${args[@]}"
        ok=1
        case "|$codes|" in *"|$RC|"*) ;; *) ok=0 ;; esac
        msg=$(head -n 1 "$tmp/lim.err")
        if [ $ok -eq 1 ] && [ "$RC" -ne 0 ]; then
            if [ "$(lines "$tmp/lim.err")" -ne 1 ] || [ "${msg#onnxcomp: "$f": }" = "$msg" ]; then ok=0; fi
            printf '%s\n' "${msg#onnxcomp: "$f": }" | grep -Eqi -- "$re" || ok=0
        fi
        # memory: what the bytes of the file can encode, not what they claim
        max_kb=$((200 * 1024 + size * 80 / 1024))
        if [ $ok -eq 1 ] && [ "${KB%.*}" -le $max_kb ] && [ "${SECS%.*}" -lt 10 ]; then
            pass "$t exit=$RC ${SECS}s ${KB}KB"
        else
            fail "$t" "exit $RC (want $codes), ${SECS}s, ${KB} KB (max $max_kb), stderr $(show "$tmp/lim.err")"
        fi
        if [ $cmd = compress ] && [ "$RC" -ne 0 ] && [ -n "$(ls -A "$O")" ]; then
            fail "$t no-output" "left: $(ls -A "$O" | tr '\n' ' ')"
        fi
        if [ -n "$SAN_BIN" ]; then
            rm -rf "$O" && mkdir -p "$O"
            san_run "${args[@]}"
            case "|$codes|" in
                *"|$RC|"*) if grep -q 'Sanitizer\|runtime error' "$tmp/san.err"; then
                    fail "$t asan" "$(grep -m2 'Sanitizer\|runtime error' "$tmp/san.err" | tr '\n' '|')"
                else pass "$t asan exit=$RC"; fi ;;
                *) fail "$t asan" "exit $RC (want $codes): $(grep -m3 -E 'onnxcomp:|ERROR|SUMMARY' "$tmp/san.err" | tr '\n' '|')" ;;
            esac
        fi
    done
done <"$H/cases.tsv"

echo "failure: $npass passed, $nfail failed, $nskip skipped"
[ "$nfail" -eq 0 ]
