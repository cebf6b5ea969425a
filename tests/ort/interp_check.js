#!/usr/bin/env node
// Checks onnxcomp's interpreter against ONNX Runtime on the same inputs.
//
//   node tests/ort/interp_check.js --onnxcomp BIN [--hints F] [--cos C] MODEL...
//
// For each model: inputs are generated as compare.js does (deterministic,
// shaped by --hints), written as .npy files, run through `onnxcomp run`, and
// the same inputs run in ONNX Runtime; every output must have cosine >= C
// (default 0.99999) against ORT's; the worst absolute error is reported.
// A model ORT cannot run, or that uses ops outside the default domain, is a
// SKIP; one onnxcomp refuses or gets wrong is a FAIL.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const ort = require('onnxruntime-node');
const { generateFeeds, findHint, loadHints, SkipError } = require('./compare.js');

const NPY_DESCR = {
  float32: '<f4', float64: '<f8', int8: '|i1', uint8: '|u1', int16: '<i2', uint16: '<u2', int32: '<i4',
  uint32: '<u4', int64: '<i8', uint64: '<u8', bool: '|b1', float16: '<f2',
};

function npyBytes(t) {
  const descr = NPY_DESCR[t.type];
  if (!descr) throw new SkipError('cannot write ' + t.type + ' as .npy');
  const shape = '(' + t.dims.join(', ') + (t.dims.length === 1 ? ',' : '') + ')';
  let header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ', }';
  const pad = 64 - ((10 + header.length + 1) % 64);
  header += ' '.repeat(pad % 64) + '\n';
  const pre = Buffer.alloc(10);
  Buffer.from([0x93]).copy(pre, 0);
  pre.write('NUMPY', 1, 'latin1');
  pre[6] = 1;
  pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  const d = t.data;
  const body = Buffer.from(d.buffer, d.byteOffset, d.byteLength);
  return Buffer.concat([pre, Buffer.from(header, 'latin1'), body]);
}

function readNpy(file) {
  const b = fs.readFileSync(file);
  if (b[0] !== 0x93 || b.toString('latin1', 1, 6) !== 'NUMPY') throw new Error(file + ': not .npy');
  const major = b[6];
  const hl = major === 1 ? b.readUInt16LE(8) : b.readUInt32LE(8);
  const off = major === 1 ? 10 : 12;
  const header = b.toString('latin1', off, off + hl);
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const data = b.subarray(off + hl);
  const ab = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength);
  const ctor = { '<f4': Float32Array, '<f8': Float64Array, '<i8': BigInt64Array, '<i4': Int32Array,
    '|u1': Uint8Array, '|i1': Int8Array, '|b1': Uint8Array, '<u2': Uint16Array, '<i2': Int16Array,
    '<f2': Uint16Array }[descr];
  if (!ctor) throw new Error(file + ': dtype ' + descr);
  return { descr, shape, data: new ctor(ab) };
}

function safeName(s) {
  let r = s.replace(/[^A-Za-z0-9._-]/g, '_');
  if (!r) r = '_';
  if (r[0] === '.') r = '_' + r.slice(1);
  return r;
}

async function checkModel(model, opts, hints) {
  const hasCustom = fs.readFileSync(model).includes('com.microsoft');
  let session;
  try {
    session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, logSeverityLevel: 4 });
  } catch (e) {
    return ['SKIP', 'ORT cannot load it: ' + String(e.message).split('\n')[0]];
  }
  const hint = findHint(hints, { name: path.basename(model), orig: model });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oc-interp-'));
  try {
    const inDir = path.join(dir, 'in');
    fs.mkdirSync(inDir);
    let feeds;
    if (hint._data) {
      // real samples: onnxcomp preprocesses them and saves what the model saw
      const pre = path.join(dir, 'pre');
      const r = spawnSync(opts.onnxcomp, ['run', model, '--data', hint._data.src, '-o', pre, '-q', '--limit', '1',
        '--save-inputs', ...(hint._data.args || [])], { encoding: 'utf8' });
      if (r.status !== 0) return ['FAIL', 'onnxcomp run on ' + hint._data.src + ': ' + (r.stderr || '').trim()];
      feeds = {};
      for (const name of session.inputNames) {
        const a = readNpy(path.join(pre, safeName(name) + '.input.npy'));
        const type = { '<f4': 'float32', '<i8': 'int64', '|u1': 'uint8' }[a.descr];
        feeds[name] = new ort.Tensor(type, a.data, a.shape);
      }
    } else {
      feeds = generateFeeds(session, hint);
    }
    for (const [name, t] of Object.entries(feeds)) {
      fs.writeFileSync(path.join(inDir, name.replace(/[/:]/g, '_') + '.npy'), npyBytes(t));
    }
    let ref;
    try {
      ref = await session.run(feeds);
    } catch (e) {
      return ['SKIP', 'ORT cannot run it: ' + String(e.message).split('\n')[0]];
    }
    const outDir = path.join(dir, 'out');
    const r = spawnSync(opts.onnxcomp, ['run', model, '--data', inDir, '-o', outDir, '-q', '--threads', '1'],
      { encoding: 'utf8' });
    if (r.status !== 0) {
      const msg = (r.stderr || '').trim().split('\n')[0];
      if (hasCustom && r.status === 5) return ['SKIP', 'custom-domain ops: ' + msg];
      return ['FAIL', 'onnxcomp run exited ' + r.status + ': ' + msg];
    }
    let worst = 0, minCos = 1;
    for (const name of session.outputNames) {
      const o = ref[name];
      const ours = readNpy(path.join(outDir, safeName(name) + '.npy'));
      if (ours.shape.join(',') !== o.dims.join(',')) {
        return ['FAIL', 'output ' + name + ' shape [' + ours.shape + '], ORT [' + o.dims + ']'];
      }
      let dot = 0, aa = 0, bb = 0;
      for (let i = 0; i < o.data.length; i++) {
        const a = Number(o.data[i]), b = Number(ours.data[i]);
        if (Number.isNaN(a) && Number.isNaN(b)) continue;
        dot += a * b; aa += a * a; bb += b * b;
        const d = Math.abs(a - b);
        if (!(d <= worst)) worst = d;
      }
      const cos = aa === 0 && bb === 0 ? 1 : dot / Math.sqrt(aa * bb);
      if (!(cos >= opts.cos)) {
        return ['FAIL', 'output ' + name + ': cosine ' + cos.toFixed(7) + ' < ' + opts.cos + ', max abs error ' + worst.toExponential(3)];
      }
      minCos = Math.min(minCos, cos);
    }
    return ['PASS', 'cosine >= ' + minCos.toFixed(7) + ', max abs error ' + worst.toExponential(3)];
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    await session.release();
  }
}

async function main() {
  const argv = process.argv.slice(2);
  const opts = { onnxcomp: 'build/onnxcomp', hints: null, cos: 0.99999 };
  const models = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--onnxcomp') opts.onnxcomp = argv[++i];
    else if (argv[i] === '--hints') opts.hints = argv[++i];
    else if (argv[i] === '--cos') opts.cos = Number(argv[++i]);
    else models.push(argv[i]);
  }
  const hints = loadHints(opts.hints);
  const count = { PASS: 0, FAIL: 0, SKIP: 0 };
  for (const m of models) {
    let res;
    try {
      res = await checkModel(m, opts, hints);
    } catch (e) {
      res = [e instanceof SkipError ? 'SKIP' : 'FAIL', String(e.message).split('\n')[0]];
    }
    count[res[0]]++;
    process.stdout.write(res[0] + ' interp ' + path.basename(m) + ': ' + res[1] + '\n');
  }
  process.stdout.write('interp: ' + count.PASS + ' passed, ' + count.FAIL + ' failed, ' + count.SKIP + ' skipped\n');
  process.exitCode = count.FAIL ? 1 : 0;
}

main();
