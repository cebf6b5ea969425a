#!/usr/bin/env node
// optimized.js MODEL OUT: saves the graph ONNX Runtime actually runs for MODEL
// (after its graph transformers, e.g. the QDQ -> QLinearConv fusions) to OUT.
'use strict';
const ort = require('onnxruntime-node');

async function main() {
  const [model, out] = process.argv.slice(2);
  if (!model || !out) {
    process.stderr.write('usage: optimized.js MODEL OUT\n');
    process.exit(2);
  }
  const s = await ort.InferenceSession.create(model, {
    graphOptimizationLevel: 'extended', optimizedModelFilePath: out, intraOpNumThreads: 1, logSeverityLevel: 4,
  });
  await s.release();
}
main().catch((e) => {
  process.stderr.write('optimized.js: ' + String(e.message).split('\n')[0] + '\n');
  process.exit(1);
});
