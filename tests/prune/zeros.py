#!/usr/bin/python3
"""zeros.py: count pruned weights in an ONNX model, independently of onnxcomp.

  zeros.py count MODEL
      prints the number of weight elements of Conv/ConvTranspose/Gemm/MatMul
      layers (every graph, subgraphs included) that are zero: float weights
      exactly 0, integer weights behind DequantizeLinear equal to their zero
      point (per tensor or per axis; 4-bit weights unpacked).
  zeros.py check PRUNED ORIGINAL FRACTION LEFT [MIN_ELEMS]
      every float layer weight of at least MIN_ELEMS (256) elements in PRUNED
      has max(zeros it had in ORIGINAL, round(FRACTION x n)) zeros (+-0.1%),
      except exactly LEFT of them, which are unchanged (the layers onnxcomp
      said it left alone); exit 1 otherwise.
"""
import sys

import numpy as np
import onnx
from onnx import numpy_helper

LAYERS = ("Conv", "ConvTranspose", "Gemm", "MatMul")


def tensors(g, outer):
    """the weights g sees: its own, then its enclosing graphs'"""
    w = dict(outer)
    w.update({t.name: t for t in g.initializer})
    for n in g.node:
        if n.op_type == "Constant":
            for a in n.attribute:
                if a.name == "value":
                    w[n.output[0]] = a.t
    return w


def graphs(g, outer=None, outer_prod=None):
    """(graph, weights in scope, producers in scope) for g and every
    subgraph below it"""
    w = tensors(g, outer or {})
    prod = dict(outer_prod or {})
    prod.update({o: n for n in g.node for o in n.output})
    yield g, w, prod
    for n in g.node:
        for a in n.attribute:
            if a.type == onnx.AttributeProto.GRAPH:
                yield from graphs(a.g, w, prod)
            elif a.type == onnx.AttributeProto.GRAPHS:
                for s in a.graphs:
                    yield from graphs(s, w, prod)


def unpack4(t):
    raw = np.frombuffer(t.raw_data, dtype=np.uint8)
    lo, hi = raw & 15, raw >> 4
    v = np.stack([lo, hi], axis=1).reshape(-1)[: int(np.prod(t.dims))].astype(np.int16)
    if t.data_type == 22:  # INT4
        v = np.where(v >= 8, v - 16, v)
    return v.reshape(tuple(t.dims))


def array(t):
    if t.data_type in (21, 22):
        return unpack4(t)
    return numpy_helper.to_array(t)


def layer_weights(m):
    """(name, array, zero point array or None, axis) per layer weight, once."""
    seen = set()
    for g, w, prod in graphs(m.graph):
        for n in g.node:
            if n.op_type not in LAYERS or len(n.input) < 2 or n.input[1] in seen:
                continue
            name = n.input[1]
            if n.op_type == "MatMul" and n.input[0] in w:
                continue
            if name in w:
                seen.add(name)
                yield name, array(w[name]), None, 0
            elif name in prod and prod[name].op_type == "DequantizeLinear":
                dq = prod[name]
                if dq.input[0] not in w:
                    continue
                x = array(w[dq.input[0]])
                zp = array(w[dq.input[2]]) if len(dq.input) > 2 and dq.input[2] in w else np.zeros(1, x.dtype)
                axis = next((a.i for a in dq.attribute if a.name == "axis"), 1)
                blocked = any(a.name == "block_size" and a.i > 0 for a in dq.attribute)
                if blocked:
                    continue
                seen.add(name)
                yield name, x, zp, axis


def zeros_of(x, zp, axis):
    if zp is None:
        return int((x == 0).sum())
    if zp.size <= 1:
        return int((x == zp.reshape(-1)[0]).sum()) if zp.size else int((x == 0).sum())
    shape = [1] * x.ndim
    shape[axis] = -1
    return int((x == zp.reshape(shape)).sum())


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "count":
        m = onnx.load(sys.argv[2])
        print(sum(zeros_of(x, zp, ax) for _, x, zp, ax in layer_weights(m)))
        return 0
    if len(sys.argv) >= 5 and sys.argv[1] == "check":
        pruned, orig = onnx.load(sys.argv[2]), onnx.load(sys.argv[3])
        frac = float(sys.argv[4])
        left_want = int(sys.argv[5]) if len(sys.argv) > 5 else 0
        min_elems = int(sys.argv[6]) if len(sys.argv) > 6 else 256
        before = {name: x for name, x, zp, _ in layer_weights(orig) if zp is None}
        checked = bad = left = full = 0
        for name, x, zp, _ in layer_weights(pruned):
            if zp is not None or x.dtype != np.float32 or x.size < min_elems or name not in before:
                continue
            want = max(int((before[name] == 0).sum()), int(np.floor(frac * x.size + 0.5)))
            z = int((x == 0).sum())
            checked += 1
            if np.array_equal(x, before[name]):
                if want > z:
                    left += 1
                    continue
                full += 1  # already at the target: pruned or left alone look the same
            if abs(z - want) > max(1, x.size // 1000):
                bad += 1
                print("%s: %d zeros of %d, want %d" % (name, z, x.size, want))
        print("%d layers checked, %d left alone" % (checked, left))
        ok_left = left <= left_want <= left + full
        if not ok_left:
            print("%d layers left alone (%d already sparse enough), onnxcomp said %d" % (left, full, left_want))
        return 1 if bad or not checked or not ok_left else 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
