#!/usr/bin/env bash
# bench-heldout.sh MODEL IMAGEDIR QUANT [data options...]: leave-one-out
# accuracy of static quantization on a folder of images. For each image, the
# model is quantized with `--quant QUANT` calibrated on every OTHER image of
# the folder, and ONNX Runtime compares the quantized model's outputs with the
# float model's on the image left out (tests/ort/compare.js: the lowest
# cosine over the outputs). Images whose float outputs are all near zero
# (cosine is meaningless there) are still used for calibration but not
# scored. A benchmark, not a test: the figures in the README's "Static int8
# on ppocr-v4-det" come from it, e.g.
#
#   scripts/bench-heldout.sh ../shared/corpus/models/ppocr-v4-det.onnx \
#       ../shared/corpus/data/ocr-images static \
#       --resize 320x320 --mean 0.485,0.456,0.406 --std 0.229,0.224,0.225
#
# The data options (--resize, --mean, --std, --bgr...) go to both `compress`
# and `run`; compress-only flags go in EXTRA_COMPRESS, e.g.
# EXTRA_COMPRESS="--keep-first-last" scripts/bench-heldout.sh ...
# Env: BENCH_DIR (default: a temporary folder, removed), ONNXCOMP.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
OC=${ONNXCOMP:-$REPO/build/onnxcomp}
py=/usr/bin/python3
[ $# -ge 3 ] || { echo "usage: bench-heldout.sh MODEL IMAGEDIR QUANT [data options...]" >&2; exit 2; }
model=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
imgs=$2
quant=$3
shift 3
[ -x "$OC" ] || { echo "bench-heldout: build onnxcomp first (make)" >&2; exit 1; }
[ -f "$model" ] || { echo "bench-heldout: $model: no such file" >&2; exit 1; }
[ -d "$imgs" ] || { echo "bench-heldout: $imgs: not a folder" >&2; exit 1; }
[ -f "$REPO/tests/ort/node_modules/onnxruntime-node/package.json" ] || { echo "bench-heldout: run scripts/setup.sh first" >&2; exit 1; }
if [ -n "${BENCH_DIR:-}" ]; then dir=$BENCH_DIR; mkdir -p "$dir"; else
    dir=$(mktemp -d /tmp/onnxcomp-heldout.XXXXXX)
    trap 'rm -rf "$dir"' EXIT
fi

mapfile -t files < <(find "$imgs" -maxdepth 1 -type f \( -iname '*.png' -o -iname '*.jpg' -o -iname '*.jpeg' \) | sort)
[ ${#files[@]} -ge 2 ] || { echo "bench-heldout: $imgs: needs at least 2 images" >&2; exit 1; }

echo "model $(basename "$model"), --quant $quant $* ${EXTRA_COMPRESS:-}, ${#files[@]} images, each left out in turn"
sum=0
n=0
min=
for f in "${files[@]}"; do
    b=$(basename "$f")
    k=${b%.*}
    rm -rf "${dir:?}/${k:?}"
    mkdir -p "$dir/$k/cal" "$dir/$k/one"
    for g in "${files[@]}"; do [ "$g" = "$f" ] || ln -s "$(cd "$(dirname "$g")" && pwd)/$(basename "$g")" "$dir/$k/cal/"; done
    ln -s "$(cd "$(dirname "$f")" && pwd)/$b" "$dir/$k/one/"
    # the left-out image as the model sees it, saved as ONNX test data
    if ! "$OC" run "$model" --data "$dir/$k/one" "$@" --save-inputs -q -o "$dir/$k/in" > /dev/null 2> "$dir/err" ||
        ! score=$($py "$HERE/inputs-to-pb.py" "$model" "$dir/$k/in"); then
        echo "  $b: cannot prepare: $(head -c 300 "$dir/err")"
        continue
    fi
    # shellcheck disable=SC2086
    if ! "$OC" compress -q -f "$model" -o "$dir/$k/q.onnx" --quant "$quant" --data "$dir/$k/cal" "$@" ${EXTRA_COMPRESS:-} 2> "$dir/err"; then
        echo "  $b: compress failed: $(head -c 300 "$dir/err")"
        continue
    fi
    if [ "$score" = 0 ]; then
        echo "  $b: float outputs all near zero, not scored (calibrates the others)"
        continue
    fi
    c=$(node "$REPO/tests/ort/compare.js" --cos 0 "$model" "$dir/$k/q.onnx" "$dir/$k/in" 2>&1 | grep -o 'min cosine [0-9.]*' | head -1 | awk '{print $3}')
    [ -n "$c" ] || { echo "  $b: ONNX Runtime could not compare"; continue; }
    echo "  $b: cosine $c"
    sum=$(awk -v s="$sum" -v c="$c" 'BEGIN { print s + c }')
    n=$((n + 1))
    if [ -z "$min" ] || awk -v a="$c" -v b="$min" 'BEGIN { exit !(a < b) }'; then min=$c; fi
done
[ $n -gt 0 ] || { echo "bench-heldout: no image scored" >&2; exit 1; }
awk -v s="$sum" -v n="$n" -v m="$min" 'BEGIN { printf "held-out cosine: mean %.4f, min %.4f over %d images\n", s / n, m, n }'
