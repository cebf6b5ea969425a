#!/usr/bin/python3
"""Write a large transformer-like ONNX model for I/O benchmarks.

Usage: /usr/bin/python3 scripts/gen-big-model.py OUT.onnx [--mb 600] [--dim 1024]
                                                 [--seq 8] [--seed 0]

Each layer is one attention block and one feed-forward block, all float32:

    q, k, v = x @ Wq, x @ Wk, x @ Wv              Wq, Wk, Wv: [D, D]
    a = Softmax((q @ k^T) * 1/sqrt(D)) @ v @ Wo    Wo: [D, D]
    h = x + a
    u = Gelu(h @ Wup + bup)                        Wup: [D, 4D], bup: [4D]
    y = h + (u @ Wdown + bdown)                    Wdown: [4D, D], bdown: [D]

with Gelu written with Erf (opset 13 has no Gelu).  Input X and output Y are
[1, SEQ, D].  Layers are added until the file holds at least --mb MiB
(2^20 bytes); every weight has its own random values (fixed seed), stored in
raw_data.

The file is written as a stream: the protobuf framing is computed up front
from the tensor shapes and each weight is generated, written and dropped in
turn, so peak memory is about one weight (64 MiB at D=1024) whatever the
file size.  Fields are written in field-number order, as protobuf's own
serializer does, so onnx.save(onnx.load(OUT)) gives back the same bytes.
"""

import argparse
import math
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

IR_VERSION = 7
OPSET = 13
MIB = 1 << 20


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def len_field(field, length):
    """Tag and length prefix of a length-delimited field."""
    return varint((field << 3) | 2) + varint(length)


# Field numbers (onnx.proto).
MODEL_GRAPH = 7
GRAPH_INITIALIZER = 5
TENSOR_RAW_DATA = 9


class Weight:
    """An initializer whose data is made only when it is written."""

    def __init__(self, name, shape, scale):
        self.name = name
        self.shape = tuple(shape)
        self.scale = scale
        self.nbytes = 4 * math.prod(self.shape)
        head = TensorProto()
        head.name = name
        head.data_type = TensorProto.FLOAT
        head.dims.extend(self.shape)
        # dims(1), data_type(2), name(8) come before raw_data(9).
        self.head = head.SerializeToString()
        body_len = len(self.head) + len(len_field(TENSOR_RAW_DATA, self.nbytes)) + self.nbytes
        self.field_len = len(len_field(GRAPH_INITIALIZER, body_len)) + body_len
        self.body_len = body_len

    def write(self, f, rng):
        f.write(len_field(GRAPH_INITIALIZER, self.body_len))
        f.write(self.head)
        f.write(len_field(TENSOR_RAW_DATA, self.nbytes))
        a = rng.standard_normal(self.shape, dtype=np.float32)
        a *= np.float32(self.scale)
        f.write(a.astype("<f4", copy=False).tobytes())


class Const:
    """A small initializer given by value."""

    def __init__(self, name, value):
        t = numpy_helper.from_array(np.array(value, dtype=np.float32), name)
        self.body = t.SerializeToString()
        self.field_len = len(len_field(GRAPH_INITIALIZER, len(self.body))) + len(self.body)
        self.nbytes = 4

    def write(self, f, rng):
        f.write(len_field(GRAPH_INITIALIZER, len(self.body)))
        f.write(self.body)


def layer(i, x, d, nodes, weights):
    """Append layer i's nodes and weights; returns its output name."""
    p = "l%d." % i

    def w(name, shape, fan_in):
        weights.append(Weight(p + name, shape, 1.0 / math.sqrt(fan_in)))
        return p + name

    def node(op, ins, out, **attrs):
        nodes.append(helper.make_node(op, ins, [p + out], name=p + out, **attrs))
        return p + out

    q = node("MatMul", [x, w("wq", [d, d], d)], "q")
    k = node("MatMul", [x, w("wk", [d, d], d)], "k")
    v = node("MatMul", [x, w("wv", [d, d], d)], "v")
    kt = node("Transpose", [k], "kt", perm=[0, 2, 1])
    s = node("MatMul", [q, kt], "scores")
    s = node("Mul", [s, "c.attn_scale"], "scaled")
    s = node("Softmax", [s], "probs", axis=-1)
    a = node("MatMul", [s, v], "ctx")
    a = node("MatMul", [a, w("wo", [d, d], d)], "attn")
    h = node("Add", [x, a], "h")
    u = node("MatMul", [h, w("w_up", [d, 4 * d], d)], "up")
    u = node("Add", [u, w("b_up", [4 * d], 1e4)], "up_b")
    g = node("Div", [u, "c.sqrt2"], "gelu_div")
    g = node("Erf", [g], "gelu_erf")
    g = node("Add", [g, "c.one"], "gelu_add")
    g = node("Mul", [u, g], "gelu_mul")
    g = node("Mul", [g, "c.half"], "gelu")
    dn = node("MatMul", [g, w("w_down", [4 * d, d], 4 * d)], "down")
    dn = node("Add", [dn, w("b_down", [d], 1e4)], "down_b")
    return node("Add", [h, dn], "y")


def build(mb, d, seq):
    per_layer = 4 * (12 * d * d + 5 * d)
    layers = max(1, -(-(mb * MIB) // per_layer))
    while True:
        nodes, weights = [], [
            Const("c.attn_scale", 1.0 / math.sqrt(d)),
            Const("c.sqrt2", math.sqrt(2.0)),
            Const("c.one", 1.0),
            Const("c.half", 0.5),
        ]
        x = "X"
        for i in range(layers):
            x = layer(i, x, d, nodes, weights)
        nodes.append(helper.make_node("Identity", [x], ["Y"], name="out"))
        # Graph fields: node(1), name(2) | initializer(5) | input(11), output(12).
        g1 = onnx.GraphProto()
        g1.node.extend(nodes)
        g1.name = "big_%dx%d" % (layers, d)
        g2 = onnx.GraphProto()
        g2.input.append(helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, seq, d]))
        g2.output.append(helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, seq, d]))
        b1, b2 = g1.SerializeToString(), g2.SerializeToString()
        graph_len = len(b1) + sum(w.field_len for w in weights) + len(b2)
        m1 = onnx.ModelProto()  # fields before graph(7)
        m1.ir_version = IR_VERSION
        m1.producer_name = "onnxcomp-gen-big-model"
        m2 = onnx.ModelProto()  # fields after graph(7)
        m2.opset_import.append(helper.make_opsetid("", OPSET))
        mb1, mb2 = m1.SerializeToString(), m2.SerializeToString()
        total = len(mb1) + len(len_field(MODEL_GRAPH, graph_len)) + graph_len + len(mb2)
        if total >= mb * MIB:
            return layers, weights, (mb1, graph_len, b1, b2, mb2), total
        layers += 1


def main(argv):
    ap = argparse.ArgumentParser(description="Write a big transformer-like ONNX model.")
    ap.add_argument("out", help="output .onnx path")
    ap.add_argument("--mb", type=int, default=600, help="minimum file size in MiB (default 600)")
    ap.add_argument("--dim", type=int, default=1024, help="model width D (default 1024)")
    ap.add_argument("--seq", type=int, default=8, help="sequence length of the input (default 8)")
    ap.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    args = ap.parse_args(argv[1:])
    if args.mb < 0 or args.dim < 1 or args.seq < 1:
        ap.error("--mb must be >= 0, --dim and --seq >= 1")

    layers, weights, (mb1, graph_len, b1, b2, mb2), total = build(args.mb, args.dim, args.seq)
    rng = np.random.default_rng(args.seed)
    tmp = args.out + ".tmp%d" % os.getpid()
    try:
        with open(tmp, "wb") as f:
            f.write(mb1)
            f.write(len_field(MODEL_GRAPH, graph_len))
            f.write(b1)
            for w in weights:
                w.write(f, rng)
            f.write(b2)
            f.write(mb2)
            size = f.tell()
        if size != total:
            raise RuntimeError("wrote %d bytes, planned %d" % (size, total))
        os.replace(tmp, args.out)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    print("%s: %d layers, D=%d, %d initializers, %d bytes (%.1f MiB)"
          % (args.out, layers, args.dim, len(weights), size, size / MIB))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
