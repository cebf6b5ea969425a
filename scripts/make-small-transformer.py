#!/usr/bin/python3
"""Write a small transformer encoder ONNX model with random weights (benchmarks).

Usage: /usr/bin/python3 scripts/make-small-transformer.py OUT.onnx
           [--layers 4] [--dim 256] [--seq 64] [--heads 4] [--ffn-mult 4] [--seed 0]

Pre-norm encoder layers on an already-embedded input X [1, SEQ, D]:

    h = x + Attn(Norm(x))
    x = h + W2(Relu(W1 Norm(h) + b1)) + b2
    Y = Norm(x)

    Attn(n): q, k, v = n Wq + bq, n Wk + bk, n Wv + bv
             split into HEADS heads (Reshape [1, SEQ, H, D/H] + Transpose)
             ctx = Softmax(q k^T * 1/sqrt(D/H), axis=-1) v
             merge heads (Transpose + Reshape [1, SEQ, D]), then ctx Wo + bo
    Norm(x): m = ReduceMean(x); d = x - m
             d / Sqrt(ReduceMean(d*d) + 1e-5) * gamma + beta      (last axis)

No LayerNormalization op, no Gelu/Erf: only MatMul, Add, Sub, Mul, Div,
Sqrt, ReduceMean, Softmax, Relu, Reshape, Transpose (the last two only when
--heads > 1).  Input "X", output "Y", float32, opset 13.  Weights are
normal(0, 1/sqrt(fan_in)) with a fixed seed.
"""

import argparse
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 13
IR_VERSION = 7


class Builder:
    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.nodes = []
        self.inits = []
        self.count = 0

    def op(self, op_type, inputs, **attrs):
        self.count += 1
        base = "%s_%d" % (op_type.lower(), self.count)
        out = base + "_out"
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=base, **attrs))
        return out

    def const(self, name, arr):
        self.inits.append(numpy_helper.from_array(arr, name))
        return name

    def linear(self, x, prefix, din, dout):
        w = self.rng.standard_normal((din, dout)) / np.sqrt(din)
        b = self.rng.standard_normal(dout) * 0.02
        wn = self.const(prefix + ".weight", w.astype(np.float32))
        bn = self.const(prefix + ".bias", b.astype(np.float32))
        return self.op("Add", [self.op("MatMul", [x, wn]), bn])

    def norm(self, x, prefix, dim):
        m = self.op("ReduceMean", [x], axes=[-1], keepdims=1)
        d = self.op("Sub", [x, m])
        var = self.op("ReduceMean", [self.op("Mul", [d, d])], axes=[-1], keepdims=1)
        std = self.op("Sqrt", [self.op("Add", [var, "eps"])])
        g = self.const(prefix + ".gamma", (1.0 + 0.1 * self.rng.standard_normal(dim)).astype(np.float32))
        b = self.const(prefix + ".beta", (0.1 * self.rng.standard_normal(dim)).astype(np.float32))
        return self.op("Add", [self.op("Mul", [self.op("Div", [d, std]), g]), b])


def build(layers, dim, seq, heads, ffn_mult, seed):
    if dim % heads:
        raise SystemExit("--dim must be a multiple of --heads")
    hd = dim // heads
    b = Builder(seed)
    b.const("eps", np.array(1e-5, dtype=np.float32))
    b.const("attn_scale", np.array(1.0 / np.sqrt(hd), dtype=np.float32))
    if heads > 1:
        b.const("split_shape", np.array([1, seq, heads, hd], dtype=np.int64))
        b.const("merge_shape", np.array([1, seq, dim], dtype=np.int64))

    x = "X"
    for i in range(layers):
        p = "layer%d" % i
        n = b.norm(x, p + ".norm1", dim)
        q = b.linear(n, p + ".q", dim, dim)
        k = b.linear(n, p + ".k", dim, dim)
        v = b.linear(n, p + ".v", dim, dim)
        if heads > 1:
            q = b.op("Transpose", [b.op("Reshape", [q, "split_shape"])], perm=[0, 2, 1, 3])
            kt = b.op("Transpose", [b.op("Reshape", [k, "split_shape"])], perm=[0, 2, 3, 1])
            v = b.op("Transpose", [b.op("Reshape", [v, "split_shape"])], perm=[0, 2, 1, 3])
        else:
            kt = b.op("Transpose", [k], perm=[0, 2, 1])
        s = b.op("Mul", [b.op("MatMul", [q, kt]), "attn_scale"])
        ctx = b.op("MatMul", [b.op("Softmax", [s], axis=-1), v])
        if heads > 1:
            ctx = b.op("Reshape", [b.op("Transpose", [ctx], perm=[0, 2, 1, 3]), "merge_shape"])
        h = b.op("Add", [x, b.linear(ctx, p + ".o", dim, dim)])
        n = b.norm(h, p + ".norm2", dim)
        u = b.op("Relu", [b.linear(n, p + ".ffn1", dim, ffn_mult * dim)])
        x = b.op("Add", [h, b.linear(u, p + ".ffn2", ffn_mult * dim, dim)])
    b.norm(x, "final_norm", dim)
    # The last node made is the final norm's Add: name its output "Y".
    b.nodes[-1].output[0] = "Y"

    graph = helper.make_graph(
        b.nodes, "small_transformer_random",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, seq, dim])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, seq, dim])],
        initializer=b.inits)
    model = helper.make_model(
        graph, producer_name="onnxcomp-scripts", producer_version="1",
        opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    return model


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--dim", type=int, default=256)
    ap.add_argument("--seq", type=int, default=64)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--ffn-mult", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    model = build(args.layers, args.dim, args.seq, args.heads, args.ffn_mult, args.seed)
    onnx.checker.check_model(model)
    onnx.save(model, args.out)
    nparams = sum(int(np.prod(t.dims)) for t in model.graph.initializer)
    print("%s: %d nodes, %d parameters" % (args.out, len(model.graph.node), nparams))
    return 0


if __name__ == "__main__":
    sys.exit(main())
