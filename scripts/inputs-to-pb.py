#!/usr/bin/python3
"""inputs-to-pb.py MODEL DIR: the inputs `onnxcomp run --save-inputs` wrote
under DIR (<input>.input.npy, names made file-safe) as ONNX test data,
DIR/input_K.pb, one per graph input of MODEL in order (initializers listed
as inputs left out), for tests/ort/compare.js. Prints 1 when some output
.npy under DIR holds a value past 1e-3 in magnitude, else 0 (an all-zero
output makes a cosine meaningless)."""
import glob
import os
import sys

import numpy as np
import onnx
from onnx import numpy_helper


def main(model, d):
    m = onnx.load(model, load_external_data=False)
    inits = {t.name for t in m.graph.initializer}
    names = [i.name for i in m.graph.input if i.name not in inits]
    for k, n in enumerate(names):
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in n)
        f = glob.glob(os.path.join(d, "**", safe + ".input.npy"), recursive=True)[0]
        with open(os.path.join(d, "input_%d.pb" % k), "wb") as out:
            out.write(numpy_helper.from_array(np.load(f), n).SerializeToString())
    outs = [np.load(f) for f in glob.glob(os.path.join(d, "**", "*.npy"), recursive=True)
            if not f.endswith(".input.npy")]
    print(1 if any(o.size and np.abs(o.astype(np.float64)).max() > 1e-3 for o in outs) else 0)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
