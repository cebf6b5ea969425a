#!/usr/bin/python3
"""gen_calib.py HINTS OUTDIR MODEL...: calibration samples for models the
corpus has no data for: OUTDIR/<model>/sNN/<input>.npy (16 samples), and one
held-out sample as ONNX test data, OUTDIR/<model>.eval/input_N.pb, for
comparisons. Inputs are shaped like the model's (symbolic dims = 1, or the
hints' dims), random within the hints' ranges; an input whose hint has
"_speech": SCALE takes consecutive windows of real speech from Debian's
pocketsphinx-testdata WAVs (int16 samples times SCALE) when installed."""
import glob
import json
import os
import sys
import wave

import numpy as np
import onnx
from onnx import numpy_helper


def speech():
    files = sorted(glob.glob("/usr/share/pocketsphinx/test/data/**/*.wav", recursive=True))
    out = []
    for f in files[:8]:
        with wave.open(f) as w:
            if w.getsampwidth() != 2 or w.getnchannels() != 1:
                continue
            out.append(np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32))
    return np.concatenate(out) if out else None


def main():
    hints = json.load(open(sys.argv[1]))
    out = sys.argv[2]
    wav = speech()
    for path in sys.argv[3:]:
        name = os.path.basename(path)[:-5]
        m = onnx.load(path, load_external_data=False)
        inits = {t.name for t in m.graph.initializer}
        h = hints.get(name, {})
        rng = np.random.default_rng(1)
        ins = [vi for vi in m.graph.input if vi.name not in inits]
        for s in range(17):
            d = os.path.join(out, name, "s%02d" % s) if s < 16 else os.path.join(out, name + ".eval")
            os.makedirs(d, exist_ok=True)
            for k, vi in enumerate(ins):
                t = vi.type.tensor_type
                hi = h.get(vi.name, {})
                dims = hi.get("dims") or [dd.dim_value if dd.HasField("dim_value") and dd.dim_value > 0 else 1
                                          for dd in t.shape.dim]
                dt = onnx.mapping.TENSOR_TYPE_TO_NP_TYPE[t.elem_type]
                n = int(np.prod(dims))
                if "_speech" in hi and wav is not None and n <= len(wav) // 40:
                    # windows spread over the recordings, past the leading silence
                    start = (len(wav) // 20) * (s + 1) % max(1, len(wav) - n)
                    a = (wav[start:start + n] * float(hi["_speech"])).reshape(dims).astype(dt)
                elif "value" in hi:
                    a = np.full(dims, hi["value"], dtype=dt)
                else:
                    lo, up = hi.get("range", [0, 1])
                    a = (lo + (up - lo) * rng.random(dims)).astype(dt)
                if s < 16:
                    np.save(os.path.join(d, vi.name.replace("/", "_").replace(":", "_") + ".npy"), a)
                else:
                    tp = numpy_helper.from_array(a, vi.name)
                    open(os.path.join(d, "input_%d.pb" % k), "wb").write(tp.SerializeToString())


if __name__ == "__main__":
    main()
