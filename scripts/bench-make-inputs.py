#!/usr/bin/python3
"""Write deterministic random inputs of an ONNX model as .npy sample folders.

Usage: /usr/bin/python3 scripts/bench-make-inputs.py MODEL OUTDIR N
           [--dims NAME=D0,D1,...]... [--seed S] [--range LO,HI]

Writes OUTDIR/0000/, OUTDIR/0001/, ... (N folders), each holding one .npy per
model input (graph inputs that are not initializers), named after the input
with '/' and ':' replaced by '_'.  Data is float32, C order, uniform in
[LO, HI) (default [-1, 1)) from numpy's default_rng(seed * 1000003 + sample).
Shapes are the model's with symbolic or unknown dims set to 1, unless --dims
gives the full shape of that input.  The layout is what `onnxcomp run --data`
and scripts/bench-run-ort.js read.  Only float inputs are supported.
"""

import argparse
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto


def safe_name(name):
    return name.replace("/", "_").replace(":", "_")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("outdir")
    ap.add_argument("n", type=int)
    ap.add_argument("--dims", action="append", default=[], metavar="NAME=D0,D1,...")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--range", default="-1,1", metavar="LO,HI")
    args = ap.parse_args()

    overrides = {}
    for d in args.dims:
        name, _, dims = d.rpartition("=")
        if not name:
            ap.error("--dims wants NAME=D0,D1,...: " + d)
        overrides[name] = [int(v) for v in dims.split(",") if v]
    lo, hi = (float(v) for v in args.range.split(","))

    model = onnx.load(args.model, load_external_data=False)
    inits = {t.name for t in model.graph.initializer}
    inputs = []
    for vi in model.graph.input:
        if vi.name in inits:
            continue
        tt = vi.type.tensor_type
        if tt.elem_type != TensorProto.FLOAT:
            sys.exit("%s: input %s is not float32 (elem_type %d)" % (args.model, vi.name, tt.elem_type))
        if vi.name in overrides:
            shape = overrides.pop(vi.name)
        else:
            shape = [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else 1
                     for d in tt.shape.dim]
        inputs.append((vi.name, shape))
    if overrides:
        sys.exit("%s: no input named %s" % (args.model, ", ".join(overrides)))

    names = [safe_name(n) for n, _ in inputs]
    if len(set(names)) != len(names):
        sys.exit("%s: two inputs map to the same file name" % args.model)

    os.makedirs(args.outdir, exist_ok=True)
    for i in range(args.n):
        rng = np.random.default_rng(args.seed * 1000003 + i)
        sd = os.path.join(args.outdir, "%04d" % i)
        os.makedirs(sd, exist_ok=True)
        for (name, shape), fname in zip(inputs, names):
            a = rng.uniform(lo, hi, size=shape).astype(np.float32)
            np.save(os.path.join(sd, fname + ".npy"), np.ascontiguousarray(a))
    desc = ", ".join("%s %s" % (n, s) for n, s in inputs)
    print("%s: %d samples of %s" % (args.outdir, args.n, desc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
