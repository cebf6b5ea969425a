#!/usr/bin/env node
// ONNX Runtime half of scripts/bench-run.sh.
//
//   node scripts/bench-run-ort.js MODEL DATADIR THREADS [MIN_SECONDS]
//
// DATADIR holds one sub-folder per sample, each with one .npy per model input
// named after the input with '/' and ':' replaced by '_' (the layout of
// `onnxcomp run --data`).  Creates one session (intraOpNumThreads = THREADS,
// interOpNumThreads = 1, graphOptimizationLevel 'all', sequential execution),
// runs the first sample once as a warm-up, then runs every sample in turn,
// each timed from reading its .npy files to the end of session.run (outputs
// are not written anywhere).  With MIN_SECONDS (default 0), passes over the
// samples are repeated until that much time has gone by, so fast models are
// timed over more than a few milliseconds; samples= counts every run.
// Prints one line on stdout:
//
//   samples=N create_s=S warmup_s=S run_s=S samples_per_s=X
//
// onnxruntime-node is loaded from tests/ort/node_modules.  Exit status 1 on
// bad arguments or data, 2 when ORT cannot load or run the model.
'use strict';

const fs = require('fs');
const path = require('path');

const ROOT = path.resolve(__dirname, '..');

function die(code, msg) {
  process.stderr.write('bench-run-ort: ' + msg + '\n');
  process.exit(code);
}

// Minimal .npy reader: versions 1-3, little-endian or byte-sized dtypes, C order.
const DTYPES = {
  '<f4': ['float32', Float32Array],
  '<f8': ['float64', Float64Array],
  '<i8': ['int64', BigInt64Array],
  '<i4': ['int32', Int32Array],
  '<i2': ['int16', Int16Array],
  '<u2': ['uint16', Uint16Array],
  '|i1': ['int8', Int8Array],
  '|u1': ['uint8', Uint8Array],
  '|b1': ['bool', Uint8Array],
};

function loadNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.length < 10 || buf[0] !== 0x93 || buf.toString('latin1', 1, 6) !== 'NUMPY') {
    throw new Error(file + ': not a .npy file');
  }
  const major = buf[6];
  let hdrLen, start;
  if (major === 1) {
    hdrLen = buf.readUInt16LE(8);
    start = 10;
  } else if (major === 2 || major === 3) {
    hdrLen = buf.readUInt32LE(8);
    start = 12;
  } else {
    throw new Error(file + ': .npy version ' + major);
  }
  const hdr = buf.toString('latin1', start, start + hdrLen);
  const descr = (hdr.match(/'descr'\s*:\s*'([^']*)'/) || [])[1];
  const fortran = (hdr.match(/'fortran_order'\s*:\s*(True|False)/) || [])[1];
  const shapeText = (hdr.match(/'shape'\s*:\s*\(([^)]*)\)/) || [])[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new Error(file + ': bad .npy header');
  }
  if (fortran !== 'False') throw new Error(file + ': Fortran order not supported');
  const dt = DTYPES[descr];
  if (!dt) throw new Error(file + ': dtype ' + descr + ' not supported');
  const dims = shapeText.split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number);
  const count = dims.reduce((a, b) => a * b, 1);
  const off = start + hdrLen;
  const nbytes = count * dt[1].BYTES_PER_ELEMENT;
  if (buf.length - off < nbytes) throw new Error(file + ': truncated');
  // Copy into a fresh, aligned buffer (the file's data may sit at any offset).
  const ab = new ArrayBuffer(nbytes);
  new Uint8Array(ab).set(buf.subarray(off, off + nbytes));
  let data = new dt[1](ab);
  if (dt[0] === 'bool') data = Uint8Array.from(data, (v) => (v ? 1 : 0));
  return { type: dt[0], data, dims };
}

function fileName(inputName) {
  return inputName.replace(/[/:]/g, '_') + '.npy';
}

async function main() {
  const args = process.argv.slice(2);
  if (args.length !== 3 && args.length !== 4) {
    die(1, 'usage: node scripts/bench-run-ort.js MODEL DATADIR THREADS [MIN_SECONDS]');
  }
  const [model, dataDir, threadsText, minText] = args;
  const threads = Number(threadsText);
  if (!Number.isInteger(threads) || threads < 1) die(1, 'bad THREADS: ' + threadsText);
  const minS = minText === undefined ? 0 : Number(minText);
  if (!(minS >= 0)) die(1, 'bad MIN_SECONDS: ' + minText);

  let samples;
  try {
    samples = fs.readdirSync(dataDir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => path.join(dataDir, d.name))
      .sort();
  } catch (e) {
    die(1, dataDir + ': ' + e.message);
  }
  if (samples.length === 0) die(1, dataDir + ': no sample folders');

  const ort = require(path.join(ROOT, 'tests/ort/node_modules/onnxruntime-node'));
  const opts = {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    logSeverityLevel: 3,
  };

  let t0 = process.hrtime.bigint();
  let session;
  try {
    session = await ort.InferenceSession.create(model, opts);
  } catch (e) {
    die(2, 'ORT cannot load ' + model + ': ' + String(e.message).split('\n')[0]);
  }
  const createS = Number(process.hrtime.bigint() - t0) / 1e9;

  const readFeeds = (dir) => {
    const feeds = {};
    for (const name of session.inputNames) {
      const t = loadNpy(path.join(dir, fileName(name)));
      feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
    }
    return feeds;
  };
  const runOne = async (dir) => {
    let feeds;
    try {
      feeds = readFeeds(dir);
    } catch (e) {
      die(1, e.message);
    }
    try {
      return await session.run(feeds);
    } catch (e) {
      die(2, 'ORT cannot run ' + model + ' on ' + dir + ': ' + String(e.message).split('\n')[0]);
    }
    return null;
  };

  t0 = process.hrtime.bigint();
  await runOne(samples[0]);
  const warmupS = Number(process.hrtime.bigint() - t0) / 1e9;

  let runs = 0;
  let runS = 0;
  t0 = process.hrtime.bigint();
  do {
    for (const dir of samples) await runOne(dir);
    runs += samples.length;
    runS = Number(process.hrtime.bigint() - t0) / 1e9;
  } while (runS < minS);

  await session.release();
  process.stdout.write('samples=' + runs + ' create_s=' + createS.toFixed(4) +
    ' warmup_s=' + warmupS.toFixed(4) + ' run_s=' + runS.toFixed(4) +
    ' samples_per_s=' + (runs / runS).toFixed(3) + '\n');
}

main().catch((e) => die(2, String(e && e.stack ? e.stack : e)));
