#!/usr/bin/python3
"""gen_calib.py HINTS OUTDIR MODEL...: for each model, OUTDIR/<model>/sNN/<input>.npy
calibration samples: random inputs shaped like the model's inputs (symbolic
dims = 1, or the dims and ranges in the hints file compare.js uses)."""
import json
import os
import sys

import numpy as np
import onnx


def main():
    hints = json.load(open(sys.argv[1]))
    out = sys.argv[2]
    for path in sys.argv[3:]:
        name = os.path.basename(path)[:-5]
        m = onnx.load(path, load_external_data=False)
        inits = {t.name for t in m.graph.initializer}
        h = hints.get(name, {})
        rng = np.random.default_rng(1)
        for s in range(16):
            d = os.path.join(out, name, "s%02d" % s)
            os.makedirs(d, exist_ok=True)
            for vi in m.graph.input:
                if vi.name in inits:
                    continue
                t = vi.type.tensor_type
                hi = h.get(vi.name, {})
                dims = hi.get("dims") or [dd.dim_value if dd.HasField("dim_value") and dd.dim_value > 0 else 1
                                          for dd in t.shape.dim]
                dt = onnx.mapping.TENSOR_TYPE_TO_NP_TYPE[t.elem_type]
                if "value" in hi:
                    a = np.full(dims, hi["value"], dtype=dt)
                else:
                    lo, up = hi.get("range", [0, 1])
                    a = (lo + (up - lo) * rng.random(dims)).astype(dt)
                fn = vi.name.replace("/", "_").replace(":", "_") + ".npy"
                np.save(os.path.join(d, fn), a)


if __name__ == "__main__":
    main()
