#!/usr/bin/python3
"""Write a ResNet-18-shaped ONNX model with random weights (for benchmarks).

Usage: /usr/bin/python3 scripts/make-resnet18.py OUT.onnx [--seed 0] [--classes 1000]

Structure (torchvision's resnet18 as exported for inference, batch norm folded
into the convolutions, so every Conv has a bias):

    conv 7x7/2, 64 -> Relu -> MaxPool 3x3/2
    4 stages of 2 BasicBlocks, 64/128/256/512 channels; the first block of
    stages 2-4 has stride 2 and a 1x1/2 projection on its shortcut:
        y = Relu(conv3x3(Relu(conv3x3(x))) + shortcut(x))
    GlobalAveragePool -> Flatten -> Gemm (FC 512 -> 1000)

Input "input" [1, 3, 224, 224], output "logits" [1, 1000], float32, opset 13.
Weights are He-normal (fixed seed) so activations stay of order one; biases are
small.  About 11.7 M parameters (~45 MiB).
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

    def name(self, prefix):
        self.count += 1
        return "%s_%d" % (prefix, self.count)

    def weight(self, name, arr):
        self.inits.append(numpy_helper.from_array(arr.astype(np.float32), name))
        return name

    def conv(self, x, cin, cout, k, stride, relu):
        fan_in = cin * k * k
        w = self.rng.standard_normal((cout, cin, k, k)) * np.sqrt(2.0 / fan_in)
        b = self.rng.standard_normal(cout) * 0.01
        base = self.name("conv")
        wn = self.weight(base + ".weight", w)
        bn = self.weight(base + ".bias", b)
        y = base + "_out"
        pad = k // 2
        self.nodes.append(helper.make_node(
            "Conv", [x, wn, bn], [y], name=base,
            kernel_shape=[k, k], strides=[stride, stride], pads=[pad] * 4,
            dilations=[1, 1], group=1))
        if relu:
            return self.relu(y)
        return y

    def relu(self, x):
        base = self.name("relu")
        y = base + "_out"
        self.nodes.append(helper.make_node("Relu", [x], [y], name=base))
        return y

    def add(self, a, b):
        base = self.name("add")
        y = base + "_out"
        self.nodes.append(helper.make_node("Add", [a, b], [y], name=base))
        return y

    def basic_block(self, x, cin, cout, stride):
        h = self.conv(x, cin, cout, 3, stride, relu=True)
        h = self.conv(h, cout, cout, 3, 1, relu=False)
        if stride != 1 or cin != cout:
            sc = self.conv(x, cin, cout, 1, stride, relu=False)
        else:
            sc = x
        return self.relu(self.add(h, sc))


def build(seed, classes):
    b = Builder(seed)
    x = b.conv("input", 3, 64, 7, 2, relu=True)
    b.nodes.append(helper.make_node(
        "MaxPool", [x], ["pool_out"], name="maxpool",
        kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]))
    x = "pool_out"
    cin = 64
    for stage, cout in enumerate([64, 128, 256, 512]):
        for blk in range(2):
            stride = 2 if (stage > 0 and blk == 0) else 1
            x = b.basic_block(x, cin, cout, stride)
            cin = cout
    b.nodes.append(helper.make_node("GlobalAveragePool", [x], ["gap_out"], name="gap"))
    b.nodes.append(helper.make_node("Flatten", ["gap_out"], ["flat_out"], name="flatten", axis=1))
    fc_w = b.rng.standard_normal((classes, 512)) * np.sqrt(1.0 / 512)
    fc_b = b.rng.standard_normal(classes) * 0.01
    b.weight("fc.weight", fc_w)
    b.weight("fc.bias", fc_b)
    b.nodes.append(helper.make_node(
        "Gemm", ["flat_out", "fc.weight", "fc.bias"], ["logits"], name="fc",
        alpha=1.0, beta=1.0, transB=1))

    graph = helper.make_graph(
        b.nodes, "resnet18_random",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 224, 224])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, classes])],
        initializer=b.inits)
    model = helper.make_model(
        graph, producer_name="onnxcomp-scripts", producer_version="1",
        opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    return model


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--classes", type=int, default=1000)
    args = ap.parse_args()
    model = build(args.seed, args.classes)
    onnx.checker.check_model(model)
    onnx.save(model, args.out)
    nparams = sum(int(np.prod(t.dims)) for t in model.graph.initializer)
    print("%s: %d nodes, %d parameters" % (args.out, len(model.graph.node), nparams))
    return 0


if __name__ == "__main__":
    sys.exit(main())
