#!/usr/bin/python3
"""Models for the failure tests (tests/failure/run.sh).

Usage:
    gen_models.py small OUT.onnx     a small CNN + MLP every pass has work in
    gen_models.py medium OUT.onnx    the same shape, ~8 MB (two writers racing)
    gen_models.py hostile DIR        crafted files for the limit checks, and
                                     DIR/cases.tsv: name, file, exit codes,
                                     regex the message must match

The small model: X[1,3,8,8] -> Conv(16) -> Relu -> Conv(16, bias) -> Relu ->
GlobalAveragePool -> Flatten -> MatMul[16,32] + b -> Relu -> Gemm with its
weight in a Constant node -> Softmax. Every weight has at least 256 elements,
so magnitude pruning, weight-only and static quantization all change it, and
the second Conv's weight is over 1 KiB, so it is borrowed from the mapped file.

The hostile files are written byte by byte with a small protobuf writer, since
onnx's own serializer refuses most of them; each is a few bytes to a few MB
and claims far more than it holds.
"""

import os
import struct
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def small_model(width=16, hidden=32):
    rng = np.random.default_rng(7)

    def w(*shape):
        return rng.standard_normal(shape).astype(np.float32) * 0.3

    inits = [
        numpy_helper.from_array(w(width, 3, 3, 3), "W1"),
        numpy_helper.from_array(w(width, width, 3, 3), "W2"),
        numpy_helper.from_array(w(width), "B2"),
        numpy_helper.from_array(w(width, hidden), "W3"),
        numpy_helper.from_array(w(hidden), "B3"),
    ]
    nodes = [
        helper.make_node("Conv", ["X", "W1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node("Conv", ["r1", "W2", "B2"], ["c2"], name="conv2", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c2"], ["r2"], name="relu2"),
        helper.make_node("GlobalAveragePool", ["r2"], ["p"], name="pool"),
        helper.make_node("Flatten", ["p"], ["f"], name="flatten"),
        helper.make_node("MatMul", ["f", "W3"], ["m"], name="fc1"),
        helper.make_node("Add", ["m", "B3"], ["a"], name="fc1_bias"),
        helper.make_node("Relu", ["a"], ["r3"], name="relu3"),
        helper.make_node("Constant", [], ["W4"], name="w4",
                         value=numpy_helper.from_array(w(hidden, 10), "W4c")),
        helper.make_node("Gemm", ["r3", "W4"], ["g"], name="fc2"),
        helper.make_node("Softmax", ["g"], ["Y"], name="softmax", axis=1),
    ]
    g = helper.make_graph(
        nodes, "small",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, 10])],
        inits,
        doc_string="failure-test model")
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)],
                          producer_name="onnxcomp-tests", ir_version=7)
    helper.set_model_props(m, {"purpose": "failure injection"})
    onnx.checker.check_model(m)
    return m


# ---- a minimal protobuf writer ---------------------------------------------

def varint(v):
    out = bytearray()
    v &= (1 << 64) - 1
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def key(field, wt):
    return varint(field << 3 | wt)


def ld(field, body):
    """A length-delimited field."""
    return key(field, 2) + varint(len(body)) + body


def vi(field, v):
    return key(field, 0) + varint(v)


def s(field, text):
    return ld(field, text.encode())


def model_bytes(graph, opset=13, ir=7):
    # ModelProto: ir_version 1, opset_import 8 (domain 1, version 2), graph 7
    return vi(1, ir) + ld(8, s(1, "") + vi(2, opset)) + ld(7, graph)


def value_info(name, dims, elem=1):
    shape = b"".join(ld(1, vi(1, d)) for d in dims)
    tensor_type = vi(1, elem) + ld(2, shape)
    return s(1, name) + ld(2, ld(1, tensor_type))


def node(op, inputs, outputs, name="", attrs=b""):
    b = b"".join(s(1, i) for i in inputs) + b"".join(s(2, o) for o in outputs)
    if name:
        b += s(3, name)
    return b + s(4, op) + attrs


def identity_graph(extra_nodes=b"", extra_inits=b"", name="g"):
    """Y = Identity(X) plus whatever is added."""
    return (ld(1, node("Identity", ["X"], ["Y"], "id")) + extra_nodes + s(2, name) + extra_inits +
            ld(11, value_info("X", [4])) + ld(12, value_info("Y", [4])))


def nest(leaf, fields):
    """leaf wrapped in length-delimited fields, fields[0] outermost, without
    copying ever larger byte strings (10^5 levels in a moment)."""
    lengths = [len(leaf)]
    for f in reversed(fields):
        lengths.append(len(key(f, 2)) + len(varint(lengths[-1])) + lengths[-1])
    lengths.reverse()  # lengths[i]: the bytes of level i, fields[i]'s field included
    heads = [key(f, 2) + varint(lengths[i + 1]) for i, f in enumerate(fields)]
    out = b"".join(heads) + leaf
    assert len(out) == lengths[0]
    return out


def nested_ifs(depth):
    """A main graph whose If holds `depth` levels of Ifs in its then_branch,
    the innermost an Identity. Built from the lengths inward, without
    concatenating ever larger byte strings, so 50,000 levels take a moment."""
    leaf = ld(1, node("Identity", ["X"], ["o"])) + s(2, "leaf") + ld(12, value_info("o", [4]))
    node_pre = s(1, "C") + s(2, "o") + s(4, "If")
    attr_pre = s(1, "then_branch")
    attr_post = vi(20, 5)
    other = ld(5, s(1, "else_branch") + ld(6, leaf) + vi(20, 5))
    graph_post = s(2, "b") + ld(12, value_info("o", [4]))
    inner = [len(leaf)]  # inner[k]: length of the graph k levels up
    heads = []
    for _ in range(depth):
        attr_len = len(attr_pre) + 1 + len(varint(inner[-1])) + inner[-1] + len(attr_post)
        node_len = len(node_pre) + 1 + len(varint(attr_len)) + attr_len + len(other)
        heads.append(key(1, 2) + varint(node_len) + node_pre + key(5, 2) + varint(attr_len) + attr_pre +
                     key(6, 2) + varint(inner[-1]))
        inner.append(1 + len(varint(node_len)) + node_len + len(graph_post))
    tail = attr_post + other + graph_post
    graph = b"".join(reversed(heads)) + leaf + tail * depth
    assert len(graph) == inner[-1]
    # the main graph: C = true, Y = Identity(outer If's output)
    const_c = node("Constant", [], ["C"], "c", ld(5, s(1, "value") + ld(5, vi(2, 9) + ld(9, b"\1")) + vi(20, 4)))
    top = node("If", ["C"], ["o"], "top", ld(5, s(1, "then_branch") + ld(6, graph) + vi(20, 5)) + other)
    return (ld(1, const_c) + ld(1, top) + ld(1, node("Identity", ["o"], ["Y"])) + s(2, "g") +
            ld(11, value_info("X", [4])) + ld(12, value_info("Y", [4])))


def hostile(out):
    os.makedirs(out, exist_ok=True)
    cases = []

    def case(name, data, codes, regex):
        with open(os.path.join(out, name + ".onnx"), "wb") as f:
            f.write(data)
        cases.append((name, name + ".onnx", codes, regex))

    X4 = ld(11, value_info("X", [4]))
    Y4 = ld(12, value_info("Y", [4]))
    idn = ld(1, node("Identity", ["X"], ["Y"], "id"))

    # 1. counts beyond what the file holds: a repeated field whose length
    #    prefix claims 2^40 bytes of nodes, initializers, attributes
    huge = varint(1 << 40)
    case("nodes-len-huge", vi(1, 7) + ld(8, vi(2, 13)) + key(7, 2) + varint(60) + key(1, 2) + huge +
         b"\0" * 52, "3", "truncat|past the end|length")
    case("init-len-huge", model_bytes(idn + s(2, "g") + key(5, 2) + huge + b"\0" * 16 + X4 + Y4),
         "3", "truncat|past the end|length")
    case("attr-len-huge", model_bytes(ld(1, s(1, "X") + s(2, "Y") + s(4, "Identity") + key(5, 2) + huge) +
                                     s(2, "g") + X4 + Y4), "3", "truncat|past the end|length")
    # a packed ints attribute claiming 2^40 bytes
    case("ints-len-huge", model_bytes(ld(1, s(1, "X") + s(2, "Y") + s(4, "Identity") +
                                         ld(5, s(1, "perm") + vi(20, 7) + key(8, 2) + huge)) +
                                      s(2, "g") + X4 + Y4), "3", "truncat|past the end|length")

    # 2. tensors whose dims claim more elements than the file holds
    def init(dims, extra=b"", dtype=1, name="W"):
        return ld(5, b"".join(vi(1, d) for d in dims) + vi(2, dtype) + s(8, name) + extra)

    wuse = ld(1, node("Add", ["X", "W"], ["Y"], "add"))
    body = lambda t: model_bytes(wuse + s(2, "g") + t + X4 + Y4)
    case("dims-huge-raw", body(init([1 << 20, 1 << 20], ld(9, b"\0" * 16))), "3",
         "raw_data|bytes|elements|disagree")
    case("dims-huge-nodata", body(init([1 << 30, 1 << 30])), "3", "no data|elements")
    case("dims-overflow", body(init([1 << 40, 1 << 40], ld(9, b"\0" * 16))), "3", "overflow")
    case("dims-overflow-neg", body(init([(1 << 63) - 1, 2], ld(9, b"\0" * 16))), "3", "overflow|negative")
    case("dims-negative", body(init([-5, 4], ld(9, b"\0" * 16))), "3", "negative")
    case("dims-rank-1000", body(init([1] * 1000, ld(9, b"\0" * 4))), "3|5", "dims|rank")
    case("typed-count-short", body(init([1 << 30], key(4, 2) + varint(8) + b"\0" * 8)), "3",
         "values|elements")
    case("strings-count-huge", body(init([1 << 40], s(6, "a"), dtype=8)), "3", "strings|elements")
    case("external-len-huge", body(init([4], ld(13, s(1, "location") + s(2, "w.bin")) +
                                        ld(13, s(1, "length") + s(2, "99999999999999999999")) +
                                        vi(14, 1))), "2|3", "length|number|missing|external")
    # value_info shapes: a rank past any limit, a dim product that overflows
    case("shape-rank-1000", model_bytes(idn + s(2, "g") + ld(11, value_info("X", [1] * 1000)) + Y4),
         "3|5", "dims|rank")
    case("shape-overflow", model_bytes(idn + s(2, "g") + ld(11, value_info("X", [1 << 40, 1 << 40, 1 << 40])) +
                                       Y4), "0|3|5", "overflow|size|dims|rank")

    # 3. strings longer than the file
    case("name-len-huge", model_bytes(ld(1, key(1, 2) + huge + b"X") + s(2, "g") + X4 + Y4), "3",
         "truncat|past the end|length")
    case("opname-len-2g", model_bytes(ld(1, s(1, "X") + s(2, "Y") + key(4, 2) + varint((1 << 31) + 5) + b"Id") +
                                      s(2, "g") + X4 + Y4), "3", "truncat|past the end|length")
    case("raw-len-huge", body(ld(5, vi(1, 4) + vi(2, 1) + s(8, "W") + key(9, 2) + huge + b"\0" * 16)), "3",
         "truncat|past the end|length")
    case("doc-len-huge", vi(1, 7) + key(6, 2) + huge + b"doc", "3", "truncat|past the end|length")

    # 4. nesting: subgraphs 31 deep (accepted), 41 and 50,001 deep, TypeProto
    #    sequences nested 10,000 deep, and 100,000 nested messages inside a
    #    field ONNX does not have (kept as bytes, never parsed: accepted)
    case("subgraph-depth-31", model_bytes(nested_ifs(30)), "0", "-")
    case("subgraph-depth-41", model_bytes(nested_ifs(40)), "3", "nest|deep")
    case("subgraph-depth-50001", model_bytes(nested_ifs(50000)), "3", "nest|deep")
    # TypeProto{sequence_type{elem_type: ...}} around TypeProto{tensor_type{FLOAT}}
    seq = nest(ld(1, vi(1, 1)), [4, 1] * 10000)
    case("type-depth-10000", model_bytes(idn + s(2, "g") + ld(11, s(1, "X") + ld(2, seq)) + Y4), "3",
         "nest|deep")
    case("unknown-nested-100000", model_bytes(idn + s(2, "g") + X4 + Y4 + ld(99, nest(b"", [1] * 100000))), "0",
         "-")

    # 5. many tiny nodes: 500,000 nodes in 7 MB; memory must stay
    #    proportional to the file
    tiny = ld(1, s(4, "Relu") + s(1, "X") + s(2, "X"))
    case("nodes-500k", model_bytes(tiny * 500000 + s(2, "g") + X4 + Y4), "3",
         "produced|cycle|more than once|not produced")
    # 500,000 attributes on one node
    attrs = ld(5, s(1, "a") + vi(3, 1) + vi(20, 2)) * 500000
    case("attrs-500k", model_bytes(ld(1, node("Identity", ["X"], ["Y"], "id", attrs)) + s(2, "g") + X4 + Y4),
         "0|3|5", "attribute|duplicate|too many|-")
    # a chain of 300,000 Identity nodes: deep graphs must not recurse per node
    chain = b"".join(ld(1, node("Identity", ["X" if i == 0 else "t%d" % (i - 1)],
                                ["Y" if i == 299999 else "t%d" % i])) for i in range(300000))
    case("chain-300k", model_bytes(chain + s(2, "g") + X4 + Y4), "0", "-")

    with open(os.path.join(out, "cases.tsv"), "w") as f:
        for c in cases:
            f.write("\t".join(c) + "\n")


def main(argv):
    if len(argv) != 3 or argv[1] not in ("small", "medium", "hostile"):
        sys.exit(__doc__)
    if argv[1] == "small":
        onnx.save(small_model(), argv[2])
    elif argv[1] == "medium":
        onnx.save(small_model(width=128, hidden=4096), argv[2])
    else:
        hostile(argv[2])


if __name__ == "__main__":
    main(sys.argv)
