#!/usr/bin/env node
// Compare two ONNX models on the same inputs in ONNX Runtime (CPU).
//
//   node tests/ort/compare.js [options] LIST_FILE
//   node tests/ort/compare.js [options] ORIG.onnx NEW.onnx [INPUTS]
//
// LIST_FILE: one pair per line, tab-separated:
//   NAME <TAB> ORIG.onnx <TAB> NEW.onnx <TAB> INPUTS
// INPUTS is "-" (generate inputs from the model's input metadata) or a folder
// holding input_0.pb, input_1.pb, ... (ONNX TensorProto files). Empty lines and
// lines starting with '#' are ignored. Relative paths are taken from the
// current directory.
//
// Options:
//   --tol T      compare float outputs with |a-b| <= T * max(1, max|orig|)
//                (default 0: every output must be bit-identical, NaN == NaN)
//   --cos C      approximate mode too: require cosine similarity >= C for
//                float outputs (combined with --tol when both are given)
//   --hints F    JSON file with input hints for generated inputs:
//                { "<NAME or basename of ORIG>": { "<input>": {"dims":[...], "value": v} } }
//                "value" is a number (string for string inputs) or an array with
//                one entry per element; "range": [lo, hi] fills uniform random
//                values instead. Keys starting with "_" are comments.
//   --opt LEVEL  graph optimization level: disabled|basic|extended|all (default all)
//   --verbose    add the time per pair to each line
//
// Output: one line per pair, "PASS NAME", "FAIL NAME: reason" or
// "SKIP NAME: reason", then "ort: N passed, N failed, N skipped".
// Exit status: 0 when nothing failed, 1 when something failed, 2 on usage errors.
//
// SKIP means the ORIGINAL cannot be loaded or run (or its inputs cannot be
// built); a NEW model that fails to load/run while the original loads is FAIL.
'use strict';

const fs = require('fs');
const path = require('path');

let ort;
try {
  ort = require('onnxruntime-node');
} catch (e) {
  process.stderr.write('compare.js: cannot load onnxruntime-node (' + firstLine(e.message) +
    ')\nRun scripts/setup.sh first (it installs it into tests/ort/node_modules).\n');
  process.exit(2);
}

function firstLine(s) {
  s = String(s === undefined || s === null ? '' : s);
  const i = s.indexOf('\n');
  return (i >= 0 ? s.slice(0, i) : s).trim();
}

// A reason to SKIP (the original cannot be exercised) rather than FAIL.
class SkipError extends Error {}

// ---------------------------------------------------------------------------
// Command line

function usage(msg) {
  if (msg) process.stderr.write('compare.js: ' + msg + '\n');
  process.stderr.write(
    'usage: node compare.js [--tol T] [--cos C] [--hints FILE.json] [--opt LEVEL] [--verbose] LIST_FILE\n' +
    '       node compare.js [options] ORIG.onnx NEW.onnx [INPUTS]\n');
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { tol: 0, cos: null, hints: null, opt: 'all', verbose: false, approx: false };
  const pos = [];
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i];
    let val = null;
    const eq = a.indexOf('=');
    if (a.startsWith('--') && eq > 0) { val = a.slice(eq + 1); a = a.slice(0, eq); }
    const need = () => {
      if (val !== null) return val;
      if (i + 1 >= argv.length) usage(a + ' needs a value');
      return argv[++i];
    };
    const num = (s) => {
      const v = Number(s);
      if (s === '' || !Number.isFinite(v) || v < 0) usage(a + ': not a non-negative number: ' + s);
      return v;
    };
    switch (a) {
      case '--tol': opts.tol = num(need()); break;
      case '--cos': opts.cos = Number(need()); if (!Number.isFinite(opts.cos)) usage('--cos: not a number'); break;
      case '--hints': opts.hints = need(); break;
      case '--opt': opts.opt = need(); break;
      case '--verbose': case '-v': opts.verbose = true; break;
      case '--help': case '-h': usage(); break;
      case '--': pos.push(...argv.slice(i + 1)); i = argv.length; break;
      default:
        if (a.startsWith('--')) usage('unknown option ' + a);
        pos.push(argv[i]);
    }
  }
  if (!['disabled', 'basic', 'extended', 'all'].includes(opts.opt)) usage('bad --opt level ' + opts.opt);
  opts.approx = opts.tol > 0 || opts.cos !== null;
  return { opts, pos };
}

function loadHints(file) {
  if (!file) return {};
  let h;
  try {
    h = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    usage('cannot read hints file ' + file + ': ' + firstLine(e.message));
  }
  if (!h || typeof h !== 'object' || Array.isArray(h)) usage('hints file must hold a JSON object');
  return h;
}

function readList(file) {
  let text;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    usage('cannot read list file ' + file + ': ' + firstLine(e.message));
  }
  const jobs = [];
  text.split(/\r?\n/).forEach((line, idx) => {
    if (line.trim() === '' || line.trimStart().startsWith('#')) return;
    const f = line.split('\t');
    if (f.length < 3 || f.length > 4 || f.slice(0, 3).some((x) => x === '')) {
      jobs.push({ name: (f[0] || 'line' + (idx + 1)), bad: 'malformed list line ' + (idx + 1) +
        ' (want NAME<TAB>ORIG<TAB>NEW<TAB>INPUTS)' });
      return;
    }
    jobs.push({ name: f[0], orig: f[1], neu: f[2], inputs: f.length === 4 && f[3] !== '' ? f[3] : '-' });
  });
  return jobs;
}

// ---------------------------------------------------------------------------
// Minimal protobuf wire-format reader and TensorProto decoder

class PbReader {
  constructor(buf, start, end) {
    this.buf = buf;
    this.pos = start || 0;
    this.end = end === undefined ? buf.length : end;
  }
  eof() { return this.pos >= this.end; }
  byte() {
    if (this.pos >= this.end) throw new Error('truncated protobuf data');
    return this.buf[this.pos++];
  }
  // Unsigned varint as a Number (exact below 2^53; enough for tags, lengths, dims).
  uvar() {
    let r = 0, mul = 1, b, n = 0;
    do {
      if (++n > 10) throw new Error('bad varint');
      b = this.byte();
      r += (b & 0x7f) * mul;
      mul *= 128;
    } while (b & 0x80);
    return r;
  }
  // Varint as an unsigned 64-bit BigInt.
  uvarBig() {
    let r = 0n, shift = 0n, b, n = 0;
    do {
      if (++n > 10) throw new Error('bad varint');
      b = this.byte();
      r |= BigInt(b & 0x7f) << shift;
      shift += 7n;
    } while (b & 0x80);
    return BigInt.asUintN(64, r);
  }
  bytes() {
    const len = this.uvar();
    if (this.pos + len > this.end) throw new Error('truncated protobuf data');
    const s = this.pos;
    this.pos += len;
    return [s, this.pos];
  }
  skip(wt) {
    switch (wt) {
      case 0: this.uvar(); break;
      case 1: this.need(8); this.pos += 8; break;
      case 2: this.bytes(); break;
      case 5: this.need(4); this.pos += 4; break;
      default: throw new Error('unsupported protobuf wire type ' + wt);
    }
  }
  need(n) { if (this.pos + n > this.end) throw new Error('truncated protobuf data'); }
}

// Read a repeated scalar field that may be packed (wire type 2) or not.
function readRepeated(r, wt, scalarWt, readOne, out) {
  if (wt === 2) {
    const [s, e] = r.bytes();
    const sub = new PbReader(r.buf, s, e);
    while (!sub.eof()) out.push(readOne(sub));
  } else if (wt === scalarWt) {
    out.push(readOne(r));
  } else {
    throw new Error('unexpected wire type ' + wt);
  }
}

const rdFloat = (r) => { r.need(4); const v = r.buf.readFloatLE(r.pos); r.pos += 4; return v; };
const rdDouble = (r) => { r.need(8); const v = r.buf.readDoubleLE(r.pos); r.pos += 8; return v; };
const rdBig = (r) => r.uvarBig();
const rdNum = (r) => r.uvar();

function decodeTensorProto(buf) {
  const t = { dims: [], dataType: 0, name: '', floatData: [], int32Data: [], stringData: [],
    int64Data: [], doubleData: [], uint64Data: [], raw: null, external: false };
  const r = new PbReader(buf);
  while (!r.eof()) {
    const tag = r.uvar();
    const field = Math.floor(tag / 8), wt = tag & 7;
    switch (field) {
      case 1: readRepeated(r, wt, 0, rdNum, t.dims); break;
      case 2: t.dataType = r.uvar(); break;
      case 4: readRepeated(r, wt, 5, rdFloat, t.floatData); break;
      case 5: readRepeated(r, wt, 0, rdBig, t.int32Data); break;
      case 6: { if (wt !== 2) throw new Error('bad string_data'); const [s, e] = r.bytes(); t.stringData.push(buf.toString('utf8', s, e)); break; }
      case 7: readRepeated(r, wt, 0, rdBig, t.int64Data); break;
      case 8: { if (wt !== 2) throw new Error('bad name'); const [s, e] = r.bytes(); t.name = buf.toString('utf8', s, e); break; }
      case 9: { if (wt !== 2) throw new Error('bad raw_data'); const [s, e] = r.bytes(); t.raw = buf.subarray(s, e); break; }
      case 10: readRepeated(r, wt, 1, rdDouble, t.doubleData); break;
      case 11: readRepeated(r, wt, 0, rdBig, t.uint64Data); break;
      case 13: t.external = true; r.skip(wt); break;
      case 14: if (wt === 0) { if (r.uvar() === 1) t.external = true; } else r.skip(wt); break;
      default: r.skip(wt);
    }
  }
  return t;
}

// ONNX TensorProto.DataType -> ORT tensor type, typed array, source field
const DTYPES = {
  1: { type: 'float32', ctor: Float32Array, field: 'floatData' },
  2: { type: 'uint8', ctor: Uint8Array, field: 'int32Data' },
  3: { type: 'int8', ctor: Int8Array, field: 'int32Data' },
  4: { type: 'uint16', ctor: Uint16Array, field: 'int32Data' },
  5: { type: 'int16', ctor: Int16Array, field: 'int32Data' },
  6: { type: 'int32', ctor: Int32Array, field: 'int32Data' },
  7: { type: 'int64', ctor: BigInt64Array, field: 'int64Data' },
  8: { type: 'string', ctor: null, field: 'stringData' },
  9: { type: 'bool', ctor: Uint8Array, field: 'int32Data' },
  10: { type: 'float16', ctor: Uint16Array, field: 'int32Data' },
  11: { type: 'float64', ctor: Float64Array, field: 'doubleData' },
  12: { type: 'uint32', ctor: Uint32Array, field: 'uint64Data' },
  13: { type: 'uint64', ctor: BigUint64Array, field: 'uint64Data' },
};
const DTYPE_NAMES = { 14: 'complex64', 15: 'complex128', 16: 'bfloat16', 17: 'float8e4m3fn',
  18: 'float8e4m3fnuz', 19: 'float8e5m2', 20: 'float8e5m2fnuz', 21: 'uint4', 22: 'int4', 23: 'float4e2m1' };

function tensorFromProto(t, file) {
  const d = DTYPES[t.dataType];
  if (!d) throw new SkipError(path.basename(file) + ': unsupported tensor type ' +
    (DTYPE_NAMES[t.dataType] || t.dataType));
  if (t.external) throw new SkipError(path.basename(file) + ': external data is not supported');
  const dims = t.dims.slice();
  const n = dims.reduce((a, b) => a * b, 1);
  let data;
  if (d.type === 'string') {
    if (t.stringData.length !== n) throw new SkipError(path.basename(file) + ': has ' + t.stringData.length + ' strings, dims want ' + n);
    data = t.stringData;
  } else if (t.raw) {
    const size = d.ctor.BYTES_PER_ELEMENT;
    if (t.raw.length !== n * size) throw new SkipError(path.basename(file) + ': raw_data is ' + t.raw.length + ' bytes, dims want ' + n * size);
    const ab = new ArrayBuffer(t.raw.length); // copy: raw bytes may be unaligned
    new Uint8Array(ab).set(t.raw);
    data = new d.ctor(ab);
  } else {
    const src = t[d.field];
    if (src.length !== n) throw new SkipError(path.basename(file) + ': has ' + src.length + ' values, dims want ' + n);
    data = new d.ctor(n);
    if (d.ctor === BigInt64Array) for (let i = 0; i < n; i++) data[i] = BigInt.asIntN(64, src[i]);
    else if (d.ctor === BigUint64Array) for (let i = 0; i < n; i++) data[i] = src[i];
    else if (d.field === 'int32Data' || d.field === 'uint64Data') for (let i = 0; i < n; i++) data[i] = Number(BigInt.asIntN(64, src[i]));
    else for (let i = 0; i < n; i++) data[i] = src[i];
  }
  return new ort.Tensor(d.type, data, dims);
}

// Feeds from a folder of input_N.pb files.
function feedsFromFolder(dir, session) {
  let files;
  try {
    files = fs.readdirSync(dir);
  } catch (e) {
    throw new SkipError('cannot read inputs folder: ' + firstLine(e.message));
  }
  const idx = files.map((f) => /^input_(\d+)\.pb$/.exec(f)).filter(Boolean)
    .map((m) => Number(m[1])).sort((a, b) => a - b);
  const names = session.inputNames;
  const feeds = {};
  for (const i of idx) {
    const file = path.join(dir, 'input_' + i + '.pb');
    let t;
    try {
      t = decodeTensorProto(fs.readFileSync(file));
    } catch (e) {
      throw new SkipError(path.basename(file) + ': ' + firstLine(e.message));
    }
    let name = t.name && names.includes(t.name) ? t.name : names[i];
    if (name === undefined) throw new SkipError(path.basename(file) + ': the model has only ' + names.length + ' inputs');
    if (feeds[name]) throw new SkipError(path.basename(file) + ': input ' + name + ' given twice');
    const meta = inputMeta(session, name);
    if (meta && meta.isTensor === false) throw new SkipError('input ' + name + ' is not a tensor');
    feeds[name] = tensorFromProto(t, file);
  }
  return feeds;
}

// ---------------------------------------------------------------------------
// Generated inputs

// xorshift32 -> uniform [0,1)
function makeRng(seed) {
  let x = (seed >>> 0) || 0x6b8b4567;
  return () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x / 4294967296;
  };
}

const f32buf = new Float32Array(1);
const u32buf = new Uint32Array(f32buf.buffer);
// float -> IEEE half bits, round to nearest even
function toHalf(v) {
  f32buf[0] = v;
  const x = u32buf[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 112; // rebias 127 -> 15
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1), half = 1 << (shift - 1);
    if (rem > half || (rem === half && (h & 1))) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1))) h++;
  return sign | h;
}
function fromHalf(h) {
  const s = h & 0x8000 ? -1 : 1, e = (h >>> 10) & 0x1f, m = h & 0x3ff;
  if (e === 0) return s * m * 5.960464477539063e-8; // 2^-24
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * Math.pow(2, e - 15);
}

const TYPED = {
  float32: Float32Array, float64: Float64Array, float16: Uint16Array,
  int8: Int8Array, uint8: Uint8Array, int16: Int16Array, uint16: Uint16Array,
  int32: Int32Array, uint32: Uint32Array, int64: BigInt64Array, uint64: BigUint64Array,
  bool: Uint8Array,
};
const FLOAT_TYPES = new Set(['float32', 'float64', 'float16']);

function inputMeta(session, name) {
  // onnxruntime-node 1.30: inputMetadata is an ARRAY in inputNames order
  // ({name, isTensor, type, shape}); be lenient in case it is keyed by name.
  const md = session.inputMetadata;
  if (!md) return null;
  if (Array.isArray(md)) return md.find((m) => m && m.name === name) || null;
  return md[name] || null;
}

function findHint(hints, job) {
  const base = path.basename(job.orig);
  for (const k of [job.name, base, base.replace(/\.onnx$/i, '')]) {
    if (Object.prototype.hasOwnProperty.call(hints, k) && hints[k] && typeof hints[k] === 'object') return hints[k];
  }
  return {};
}

function generateFeeds(session, hint) {
  if (!session.inputMetadata) throw new SkipError('ORT gives no input metadata');
  const feeds = {};
  session.inputNames.forEach((name, k) => {
    const m = inputMeta(session, name);
    if (!m) throw new SkipError('no metadata for input ' + name);
    if (m.isTensor === false) throw new SkipError('input ' + name + ' is not a tensor');
    const h = hint[name] && typeof hint[name] === 'object' ? hint[name] : null;
    const type = m.type;
    let dims;
    if (h && Array.isArray(h.dims)) dims = h.dims.map(Number);
    else if (Array.isArray(m.shape)) dims = m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : 1));
    else throw new SkipError('no shape for input ' + name);
    const n = dims.reduce((a, b) => a * b, 1);
    if (!Number.isSafeInteger(n) || n < 0) throw new SkipError('bad dims for input ' + name);
    if (n > 256 * 1024 * 1024) throw new SkipError('input ' + name + ' would have ' + n + ' elements');
    const hasValue = h && h.value !== undefined;
    const hasRange = h && Array.isArray(h.range) && h.range.length === 2;
    if (Array.isArray(h && h.value) && h.value.length !== n) {
      throw new SkipError('hint for ' + name + ' has ' + h.value.length + ' values, dims want ' + n);
    }
    const valueAt = (i) => (Array.isArray(h.value) ? h.value[i] : h.value);
    if (type === 'string') {
      if (!hasValue) throw new SkipError('string input ' + name + ' needs a hint');
      const data = new Array(n);
      for (let i = 0; i < n; i++) data[i] = String(valueAt(i));
      feeds[name] = new ort.Tensor('string', data, dims);
      return;
    }
    const Ctor = TYPED[type];
    if (!Ctor) throw new SkipError('input ' + name + ' has unsupported type ' + type);
    if (type === 'uint8' && !hasValue && !hasRange) {
      throw new SkipError('uint8 input ' + name + ' needs a hint');
    }
    const data = new Ctor(n);
    const rng = makeRng(0x2545f491 ^ Math.imul(k + 1, 0x9e3779b1));
    const isBig = Ctor === BigInt64Array || Ctor === BigUint64Array;
    const isFloat = FLOAT_TYPES.has(type);
    const store = (i, v) => {
      if (type === 'float16') data[i] = toHalf(Number(v));
      else if (isBig) data[i] = BigInt(Math.trunc(Number(v)));
      else if (type === 'bool') data[i] = v ? 1 : 0;
      else data[i] = isFloat ? Number(v) : Math.trunc(Number(v));
    };
    if (hasValue) {
      for (let i = 0; i < n; i++) store(i, valueAt(i));
    } else if (hasRange) {
      const lo = Number(h.range[0]), hi = Number(h.range[1]);
      for (let i = 0; i < n; i++) {
        const u = rng();
        store(i, isFloat ? lo + (hi - lo) * u : Math.floor(lo + (hi - lo + 1) * u));
      }
    } else if (isFloat) {
      for (let i = 0; i < n; i++) store(i, rng());
    } // integers and bools stay 0
    feeds[name] = new ort.Tensor(type, data, dims);
  });
  return feeds;
}

// ---------------------------------------------------------------------------
// Output comparison

function sameBytes(a, b) {
  if (a.byteLength !== b.byteLength) return false;
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength)
    .equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

function fmt(v) {
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '...' : v);
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const a = Math.abs(v);
  return a >= 1e-3 && a < 1e6 ? String(Number(v.toPrecision(9))) : v.toExponential(6);
}

// Error statistics of two float outputs (numbers; NaN==NaN and equal infinities match).
function floatStats(a, b, n, get) {
  let maxAbs = 0, maxAbsNew = 0, worst = 0, worstAt = -1, diff = 0, firstAt = -1;
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < n; i++) {
    const x = get(a, i), y = get(b, i);
    const same = Object.is(x, y) || (x !== x && y !== y);
    if (!same) { diff++; if (firstAt < 0) firstAt = i; }
    if (Number.isFinite(x) && Number.isFinite(y)) {
      const ax = Math.abs(x);
      if (ax > maxAbs) maxAbs = ax;
      if (Math.abs(y) > maxAbsNew) maxAbsNew = Math.abs(y);
      const err = Math.abs(x - y);
      if (err > worst) { worst = err; worstAt = i; }
      dot += x * y; na += x * x; nb += y * y;
    } else {
      if (Number.isFinite(x) && Math.abs(x) > maxAbs) maxAbs = Math.abs(x);
      const match = (x !== x && y !== y) || x === y;
      if (!match && worst !== Infinity) { worst = Infinity; worstAt = i; }
    }
  }
  let cos;
  if (na === 0 && nb === 0) cos = 1;
  else if (na === 0 || nb === 0) cos = 0;
  else cos = dot / (Math.sqrt(na) * Math.sqrt(nb));
  return { maxAbs, maxAbsNew, worst, worstAt, diff, firstAt, cos };
}

const getPlain = (arr, i) => arr[i];
const getHalf = (arr, i) => fromHalf(arr[i]);

// Returns null when equal (under opts), else a reason string.
function compareTensor(name, o, q, opts) {
  if (!q) return "output '" + name + "' is missing";
  if (o.type !== q.type) return "output '" + name + "': type " + o.type + ' vs ' + q.type;
  const od = Array.from(o.dims), qd = Array.from(q.dims);
  if (od.length !== qd.length || od.some((d, i) => d !== qd[i])) {
    return "output '" + name + "': dims [" + od.join(',') + '] vs [' + qd.join(',') + ']';
  }
  const a = o.data, b = q.data;
  const n = a.length;
  if (b.length !== n) return "output '" + name + "': " + n + ' vs ' + b.length + ' values';
  if (o.type === 'string') {
    for (let i = 0; i < n; i++) {
      if (a[i] !== b[i]) return "output '" + name + "': string " + i + ' differs (' + fmt(a[i]) + ' vs ' + fmt(b[i]) + ')';
    }
    return null;
  }
  if (sameBytes(a, b)) return null;
  if (!FLOAT_TYPES.has(o.type)) {
    let diff = 0, first = -1;
    for (let i = 0; i < n; i++) if (a[i] !== b[i]) { diff++; if (first < 0) first = i; }
    if (diff === 0) return null;
    return "output '" + name + "' (" + o.type + '): ' + diff + ' of ' + n + ' values differ, first at ' + first +
      ' (' + fmt(a[first]) + ' vs ' + fmt(b[first]) + ')';
  }
  const get = o.type === 'float16' ? getHalf : getPlain;
  const s = floatStats(a, b, n, get);
  const stat = 'max abs err ' + fmt(s.worst) + ', cos ' + s.cos.toFixed(8);
  if (!opts.approx) {
    if (s.diff === 0) return null; // only NaN payloads differ
    return "output '" + name + "': " + s.diff + ' of ' + n + ' values differ (' + stat + '), first at ' + s.firstAt +
      ' (' + fmt(get(a, s.firstAt)) + ' vs ' + fmt(get(b, s.firstAt)) + ')';
  }
  const allowed = opts.tol * Math.max(1, s.maxAbs);
  const tolOk = opts.tol > 0 ? s.worst <= allowed : s.worst !== Infinity;
  // Cosine says nothing about an output that is zero at the --tol scale on both sides.
  const cosNA = opts.tol > 0 && s.maxAbs <= opts.tol && s.maxAbsNew <= opts.tol;
  const cosOk = opts.cos === null || cosNA || s.cos >= opts.cos;
  if (!cosNA && s.cos < opts.minCos) opts.minCos = s.cos;
  if (tolOk && cosOk) return null;
  let why = "output '" + name + "': max abs err " + fmt(s.worst);
  if (!tolOk) why += opts.tol > 0 ? ' > allowed ' + fmt(allowed) : ' (non-finite mismatch)';
  if (s.worstAt >= 0) why += ' at ' + s.worstAt + ' (' + fmt(get(a, s.worstAt)) + ' vs ' + fmt(get(b, s.worstAt)) + ')';
  why += ', cos ' + s.cos.toFixed(8) + (cosOk ? '' : ' < ' + opts.cos);
  return why;
}

function compareResults(outNames, ro, rn, newOutNames, opts) {
  const missing = outNames.filter((k) => !newOutNames.includes(k));
  const extra = newOutNames.filter((k) => !outNames.includes(k));
  if (missing.length || extra.length) {
    return 'output names differ' + (missing.length ? ', missing: ' + missing.join(',') : '') +
      (extra.length ? ', extra: ' + extra.join(',') : '');
  }
  for (const k of outNames) {
    const why = compareTensor(k, ro[k], rn[k], opts);
    if (why) return why;
  }
  return null;
}

// ---------------------------------------------------------------------------
// Running pairs

function sessionOptions(opts) {
  return {
    executionProviders: ['cpu'],
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: opts.opt,
    logSeverityLevel: 4, // fatal only: load/run errors come back as exceptions
  };
}

async function release(s) {
  if (!s) return;
  try { await s.release(); } catch (e) { /* ignore */ }
}

// Returns ['PASS'|'FAIL'|'SKIP', reason]
async function runPair(job, opts, hints) {
  if (job.bad) return ['FAIL', job.bad];
  const so = sessionOptions(opts);
  let so1 = null, sn = null;
  try {
    try {
      so1 = await ort.InferenceSession.create(job.orig, so);
    } catch (e) {
      return ['SKIP', 'original does not load: ' + firstLine(e.message)];
    }
    let feeds;
    try {
      feeds = job.inputs === '-' ? generateFeeds(so1, findHint(hints, job)) : feedsFromFolder(job.inputs, so1);
    } catch (e) {
      if (!(e instanceof SkipError)) throw e;
      // The original loads but cannot be run; the new model must at least load.
      await release(so1); so1 = null;
      try {
        sn = await ort.InferenceSession.create(job.neu, so);
      } catch (e2) {
        return ['FAIL', 'new model does not load (original does): ' + firstLine(e2.message)];
      }
      return ['SKIP', e.message];
    }
    const outNames = so1.outputNames.slice();
    let ro;
    try {
      ro = await so1.run(feeds);
    } catch (e) {
      return ['SKIP', 'original does not run: ' + firstLine(e.message)];
    }
    try {
      sn = await ort.InferenceSession.create(job.neu, so);
    } catch (e) {
      return ['FAIL', 'new model does not load: ' + firstLine(e.message)];
    }
    const newOutNames = sn.outputNames.slice();
    let rn;
    try {
      rn = await sn.run(feeds);
    } catch (e) {
      return ['FAIL', 'new model does not run: ' + firstLine(e.message)];
    }
    await release(sn); sn = null;
    opts.minCos = 1;
    const why = compareResults(outNames, ro, rn, newOutNames, opts);
    if (!why) return ['PASS', opts.approx ? 'min cosine ' + opts.minCos.toFixed(6) : ''];
    // Make sure the original itself gives the same answer twice.
    let ro2;
    try {
      ro2 = await so1.run(feeds);
    } catch (e) {
      return ['SKIP', 'original does not run twice: ' + firstLine(e.message)];
    }
    const self = compareResults(outNames, ro, ro2, outNames, opts);
    if (self) return ['SKIP', 'original is not deterministic: ' + self];
    return ['FAIL', why];
  } catch (e) {
    return ['FAIL', 'internal error: ' + firstLine(e && e.stack ? e.stack : e)];
  } finally {
    await release(so1);
    await release(sn);
  }
}

async function main() {
  process.stdout.on('error', (e) => {
    if (e && e.code === 'EPIPE') process.exit(process.exitCode || 0); // reader went away (e.g. | head)
    throw e;
  });
  const { opts, pos } = parseArgs(process.argv.slice(2));
  const hints = loadHints(opts.hints);
  let jobs;
  if (pos.length === 1) jobs = readList(pos[0]);
  else if (pos.length === 2 || pos.length === 3) {
    jobs = [{ name: path.basename(pos[0]), orig: pos[0], neu: pos[1], inputs: pos[2] || '-' }];
  } else usage();

  try { ort.env.logLevel = 'fatal'; } catch (e) { /* older bindings */ }

  const count = { PASS: 0, FAIL: 0, SKIP: 0 };
  for (const job of jobs) {
    const t0 = process.hrtime.bigint();
    let res;
    try {
      res = await runPair(job, opts, hints);
    } catch (e) {
      res = ['FAIL', 'internal error: ' + firstLine(e && e.message)];
    }
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    const [status, reason] = res;
    count[status]++;
    let line = status + ' ' + job.name + (reason ? ': ' + reason.replace(/[\r\n]+/g, ' ') : '');
    if (opts.verbose) line += ' [' + ms.toFixed(0) + ' ms]';
    process.stdout.write(line + '\n');
  }
  process.stdout.write('ort: ' + count.PASS + ' passed, ' + count.FAIL + ' failed, ' + count.SKIP + ' skipped\n');
  process.exitCode = count.FAIL ? 1 : 0;
}

if (require.main === module) {
  main().catch((e) => {
    process.stderr.write('compare.js: ' + (e && e.stack ? e.stack : e) + '\n');
    process.exit(2);
  });
} else {
  // for self-tests of the helpers
  module.exports = { decodeTensorProto, tensorFromProto, toHalf, fromHalf, compareTensor, generateFeeds, findHint, loadHints, feedsFromFolder, SkipError };
}
