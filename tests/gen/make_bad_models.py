#!/usr/bin/python3
"""Write a set of bad (and two good) ONNX inputs for onnxcomp's CLI tests.

Usage: /usr/bin/python3 tests/gen/make_bad_models.py OUTDIR

Writes one file, or one small folder for external-data cases, per case into
OUTDIR, plus OUTDIR/cases.tsv with one line per case:

    name <TAB> model <TAB> exit <TAB> regex <TAB> alt_paths

  model      path of the model to pass to onnxcomp, relative to OUTDIR
  exit       expected exit code of `onnxcomp compress` and `onnxcomp info`
  regex      extended regex (grep -E, case-insensitive) the error line must
             match; "-" for cases that must succeed
  alt_paths  comma-separated paths that the error line may name instead of
             the model's path (the external data file); relative to OUTDIR
             unless absolute; "-" if none

Lines starting with '#' are comments.  Everything is deterministic (fixed
seeds), so two runs give byte-identical files except for the absolute
location written into ext_absolute/model.onnx, which names OUTDIR.

Every model is a valid opset-13 / IR-7 model except for the one broken part,
which is written by mutating the proto directly so onnx's checker never runs
on it.  Only onnx.helper, the generated protobuf classes and numpy are used.
"""

import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from google.protobuf.message import DecodeError

IR_VERSION = 7
OPSET = 13

# Error-line regexes, kept loose but each naming the kind of problem.
RE_PARSE = (r"protobuf|parse|decod|wire|malformed|corrupt|invalid|truncat|"
            r"unexpected end|end of (file|input|data)|not an? (onnx )?model|"
            r"no graph|missing graph")
RE_TRUNC = r"truncat|unexpected end|end of (file|input|data)|short|incomplete"
RE_NOT_MODEL = (r"not an? (onnx )?model|no graph|missing graph|graph|empty|"
                r"protobuf|parse|decod|wire|malformed|invalid")
RE_EMPTY = r"empty|no graph|missing graph|not an? (onnx )?model|truncat|zero.?(size|length|bytes)"
RE_DANGLING = r"nowhere_t|not produced|no producer|undefined|unknown|dangling|missing|produc"
RE_CYCLE = r"cycl|loop|topolog|sort|order|produc"
RE_DATALEN = r"raw.?data|length|size|bytes|dims|shape|disagree|mismatch|expected"
RE_COUNT = r"float.?data|count|element|length|size|dims|shape|disagree|mismatch|expected"
RE_OVERFLOW = r"overflow|too (large|big|many)|dims|dimension|shape|element count"
RE_NEGDIM = r"negative|dim|shape"
RE_ABS = r"absolute|location|external|path|outside|escape"
RE_DOTDOT = r"escape|outside|\.\.|parent|location|external|path"
RE_SYMLINK = r"symlink|link|escape|outside|location|external|path"
RE_EXT_SHORT = (r"short|truncat|end of (file|data)|beyond|exceed|past|"
                r"length|size|offset")
RE_MISSING = r"no such file|not found|cannot (open|read)|missing|does not exist|ENOENT"
RE_READ = r"directory|cannot (open|read)|read|EISDIR|not a (regular )?file"


def base_graph(name, init):
    """Y = X + W with W a [2,3] float initializer given by the caller."""
    x = helper.make_tensor_value_info("X", TensorProto.FLOAT, [2, 3])
    y = helper.make_tensor_value_info("Y", TensorProto.FLOAT, [2, 3])
    node = helper.make_node("Add", ["X", "W"], ["Y"], name="add0")
    return helper.make_graph([node], name, [x], [y], initializer=[init])


def make_model(graph):
    m = helper.make_model(graph, producer_name="onnxcomp-tests",
                          opset_imports=[helper.make_opsetid("", OPSET)])
    m.ir_version = IR_VERSION
    return m


def w_tensor(name="W", shape=(2, 3), seed=1):
    rng = np.random.default_rng(seed)
    arr = rng.standard_normal(shape).astype(np.float32)
    return numpy_helper.from_array(arr, name)  # raw_data, little endian


def good_model():
    m = make_model(base_graph("good", w_tensor()))
    onnx.checker.check_model(m)
    return m


def bigger_good_model():
    """MatMul model whose graph field dominates the file (for truncation)."""
    rng = np.random.default_rng(7)
    w = numpy_helper.from_array(rng.standard_normal((16, 16)).astype(np.float32), "W")
    x = helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 16])
    y = helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, 16])
    node = helper.make_node("MatMul", ["X", "W"], ["Y"], name="mm0")
    m = make_model(helper.make_graph([node], "trunc", [x], [y], initializer=[w]))
    onnx.checker.check_model(m)
    return m


def set_external(t, location, offset=None, length=None):
    """Turn tensor t into an external-data tensor pointing at location."""
    t.ClearField("raw_data")
    t.data_location = TensorProto.EXTERNAL
    del t.external_data[:]
    for key, val in (("location", location), ("offset", offset), ("length", length)):
        if val is None:
            continue
        e = t.external_data.add()
        e.key = key
        e.value = str(val)


def parses_as_model(data):
    try:
        onnx.ModelProto().ParseFromString(data)
        return True
    except DecodeError:
        return False


class Writer:
    def __init__(self, outdir):
        self.outdir = os.path.abspath(outdir)
        self.rows = []

    def path(self, rel):
        return os.path.join(self.outdir, rel)

    def write(self, rel, data):
        p = self.path(rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)
        return p

    def case(self, name, rel, code, regex, alts=()):
        for field in (name, rel, regex or "") + tuple(alts):
            assert "\t" not in field and "\n" not in field, field
        for a in alts:
            assert "," not in a, a
        self.rows.append((name, rel, str(code), regex or "-",
                          ",".join(alts) if alts else "-"))

    def finish(self):
        with open(self.path("cases.tsv"), "w") as f:
            f.write("# name\tmodel\texit\tregex\talt_paths\n")
            for r in self.rows:
                f.write("\t".join(r) + "\n")


def ext_model(w, dirname, tensor_name="W", location="w.bin", offset=None, length=None):
    """Model Y = X + W whose W is external data; returns serialized bytes."""
    t = w_tensor(tensor_name)
    set_external(t, location, offset, length)
    return make_model(base_graph(dirname, t)).SerializeToString()


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: make_bad_models.py OUTDIR\n")
        return 1
    w = Writer(argv[1])
    os.makedirs(w.outdir, exist_ok=True)

    # --- controls -------------------------------------------------------
    good = good_model().SerializeToString()
    w.write("good.onnx", good)
    w.case("good", "good.onnx", 0, None)

    # A 1 MiB model (512x512 float MatMul), for the disk-full test.
    rng = np.random.default_rng(5)
    wm = numpy_helper.from_array(rng.standard_normal((512, 512)).astype(np.float32), "W")
    x = helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 512])
    y = helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, 512])
    node = helper.make_node("MatMul", ["X", "W"], ["Y"], name="mm0")
    m = make_model(helper.make_graph([node], "good_1mb", [x], [y], initializer=[wm]))
    onnx.checker.check_model(m)
    w.write("good_1mb.onnx", m.SerializeToString())
    w.case("good_1mb", "good_1mb.onnx", 0, None)

    # Two initializers in one data file, the second at a 4 KiB offset.
    rng = np.random.default_rng(3)
    a1 = rng.standard_normal((2, 3)).astype(np.float32)
    a2 = rng.standard_normal((2, 3)).astype(np.float32)
    blob = bytearray(4096 + a2.nbytes)
    blob[0:a1.nbytes] = a1.tobytes()
    blob[4096:] = a2.tobytes()
    w.write("good_external/w.bin", bytes(blob))
    t1 = numpy_helper.from_array(a1, "W1")
    t2 = numpy_helper.from_array(a2, "W2")
    set_external(t1, "w.bin", 0, a1.nbytes)
    set_external(t2, "w.bin", 4096, a2.nbytes)
    x = helper.make_tensor_value_info("X", TensorProto.FLOAT, [2, 3])
    y = helper.make_tensor_value_info("Y", TensorProto.FLOAT, [2, 3])
    n1 = helper.make_node("Add", ["X", "W1"], ["T"], name="add0")
    n2 = helper.make_node("Add", ["T", "W2"], ["Y"], name="add1")
    gm = make_model(helper.make_graph([n1, n2], "good_external", [x], [y],
                                      initializer=[t1, t2]))
    p = w.write("good_external/model.onnx", gm.SerializeToString())
    onnx.checker.check_model(p)  # path form: also checks external data paths
    loaded = onnx.load(p)  # loads w.bin
    assert np.array_equal(numpy_helper.to_array(loaded.graph.initializer[1]), a2)
    w.case("good_external", "good_external/model.onnx", 0, None)

    # --- cannot read input ---------------------------------------------
    w.case("missing_input", "does-not-exist.onnx", 2, RE_MISSING)
    os.makedirs(w.path("a_directory.onnx"), exist_ok=True)
    w.case("input_is_directory", "a_directory.onnx", 2, RE_READ)

    # --- not a model / not protobuf ------------------------------------
    w.write("empty.onnx", b"")
    w.case("empty", "empty.onnx", 3, RE_EMPTY)

    big = bigger_good_model().SerializeToString()
    half = big[: len(big) // 2]
    assert not parses_as_model(half), "truncated model unexpectedly parses"
    w.write("truncated.onnx", half)
    w.case("truncated", "truncated.onnx", 3, RE_TRUNC)

    # Random bytes; pick the first seed from 1234 whose bytes protobuf rejects,
    # so the case is a parse error rather than a message of unknown fields.
    seed = 1234
    while True:
        rnd = np.random.default_rng(seed).integers(0, 256, 4096, dtype=np.uint8).tobytes()
        if not parses_as_model(rnd):
            break
        seed += 1
    w.write("random.onnx", rnd)
    w.case("random_bytes", "random.onnx", 3, RE_PARSE)

    w.write("text.onnx",
            b"This is a plain text file, not an ONNX model.\n"
            b"ir_version: 7\ngraph { node { op_type: \"Add\" } }\n")
    w.case("text_file", "text.onnx", 3, RE_PARSE)

    # A serialized TensorProto: valid protobuf, but not a ModelProto.
    tp = numpy_helper.from_array(np.arange(6, dtype=np.float32).reshape(2, 3), "W")
    w.write("tensor_proto.onnx", tp.SerializeToString())
    w.case("tensor_proto", "tensor_proto.onnx", 3, RE_NOT_MODEL)

    # A ModelProto with everything but a graph.
    ng = onnx.ModelProto()
    ng.ir_version = IR_VERSION
    ng.producer_name = "onnxcomp-tests"
    op = ng.opset_import.add()
    op.domain = ""
    op.version = OPSET
    w.write("no_graph.onnx", ng.SerializeToString())
    w.case("no_graph", "no_graph.onnx", 3, r"graph|not an? (onnx )?model")

    # --- graph errors ---------------------------------------------------
    m = good_model()
    m.graph.node[0].input[1] = "nowhere_tensor"
    w.write("dangling_input.onnx", m.SerializeToString())
    w.case("dangling_input", "dangling_input.onnx", 3, RE_DANGLING)

    # Two nodes feeding each other: A = X + B, B = A + W, Y = Identity(B).
    m = good_model()
    g = m.graph
    del g.node[:]
    g.node.extend([
        helper.make_node("Add", ["X", "B"], ["A"], name="n_a"),
        helper.make_node("Add", ["A", "W"], ["B"], name="n_b"),
        helper.make_node("Identity", ["B"], ["Y"], name="n_out"),
    ])
    w.write("cycle.onnx", m.SerializeToString())
    w.case("cycle", "cycle.onnx", 3, RE_CYCLE)

    # --- tensor errors --------------------------------------------------
    m = good_model()
    m.graph.initializer[0].raw_data = m.graph.initializer[0].raw_data[:20]  # 24 expected
    w.write("raw_data_length.onnx", m.SerializeToString())
    w.case("raw_data_length", "raw_data_length.onnx", 3, RE_DATALEN)

    m = good_model()
    t = m.graph.initializer[0]
    t.ClearField("raw_data")
    t.float_data.extend([1.0, 2.0, 3.0, 4.0, 5.0])  # 6 expected
    w.write("float_data_count.onnx", m.SerializeToString())
    w.case("float_data_count", "float_data_count.onnx", 3, RE_COUNT)

    m = good_model()
    t = m.graph.initializer[0]
    del t.dims[:]
    t.dims.extend([2 ** 40, 2 ** 40])  # product 2^80 overflows int64
    w.write("dims_overflow.onnx", m.SerializeToString())
    w.case("dims_overflow", "dims_overflow.onnx", 3, RE_OVERFLOW)

    # Product 2^62 * 4 bytes fits int64 as a count but overflows as a byte size.
    m = good_model()
    t = m.graph.initializer[0]
    del t.dims[:]
    t.dims.extend([2 ** 31, 2 ** 31])
    w.write("dims_bytes_overflow.onnx", m.SerializeToString())
    w.case("dims_bytes_overflow", "dims_bytes_overflow.onnx", 3,
           RE_OVERFLOW + r"|raw.?data|length|bytes|mismatch|disagree")

    m = good_model()
    t = m.graph.initializer[0]
    del t.dims[:]
    t.dims.extend([-2, 3])
    w.write("negative_dim.onnx", m.SerializeToString())
    w.case("negative_dim", "negative_dim.onnx", 3, RE_NEGDIM)

    # --- external data errors -------------------------------------------
    wbytes = w_tensor().raw_data  # 24 bytes

    # Absolute location, pointing at a file that does exist.
    w.write("ext_absolute/w.bin", wbytes)
    absloc = w.path("ext_absolute/w.bin")
    w.write("ext_absolute/model.onnx", ext_model(w, "ext_absolute", location=absloc))
    w.case("ext_absolute", "ext_absolute/model.onnx", 3, RE_ABS, [absloc])

    # ../ escape, pointing at a file that does exist.
    w.write("ext_dotdot_w.bin", wbytes)
    w.write("ext_dotdot/model.onnx", ext_model(w, "ext_dotdot", location="../ext_dotdot_w.bin"))
    w.case("ext_dotdot", "ext_dotdot/model.onnx", 3, RE_DOTDOT,
           ["ext_dotdot/../ext_dotdot_w.bin", "ext_dotdot_w.bin"])

    # A symlink inside the model's folder that points outside it.
    w.write("ext_symlink_target.bin", wbytes)
    os.makedirs(w.path("ext_symlink"), exist_ok=True)
    link = w.path("ext_symlink/w.bin")
    if os.path.lexists(link):
        os.unlink(link)
    os.symlink("../ext_symlink_target.bin", link)
    w.write("ext_symlink/model.onnx", ext_model(w, "ext_symlink", location="w.bin"))
    w.case("ext_symlink", "ext_symlink/model.onnx", 3, RE_SYMLINK,
           ["ext_symlink/w.bin", "ext_symlink_target.bin"])

    # Data file shorter than offset + length (8 + 24 > 20).
    w.write("ext_short/w.bin", bytes(20))
    w.write("ext_short/model.onnx", ext_model(w, "ext_short", location="w.bin", offset=8, length=24))
    w.case("ext_short", "ext_short/model.onnx", 3, RE_EXT_SHORT, ["ext_short/w.bin"])

    # Data file shorter than the tensor needs, no offset/length given.
    w.write("ext_short_nolen/w.bin", wbytes[:12])
    w.write("ext_short_nolen/model.onnx", ext_model(w, "ext_short_nolen", location="w.bin"))
    w.case("ext_short_nolen", "ext_short_nolen/model.onnx", 3, RE_EXT_SHORT, ["ext_short_nolen/w.bin"])

    # Data file missing: an input that cannot be read, so exit 2.
    w.write("ext_missing/model.onnx", ext_model(w, "ext_missing", location="w.bin"))
    w.case("ext_missing", "ext_missing/model.onnx", 2, RE_MISSING, ["ext_missing/w.bin"])

    w.finish()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
