// ONNX Runtime as the performance peer (benchmark scripts only, never part of hone): median
// latency of one model at a fixed input shape, batch as given, after warm-up.
//   node time_model.js MODEL.onnx --shape 1,3,224,224 [--threads N] [--iterations I] [--warmup W]
// Prints one JSON line: {"model", "threads", "iterations", "median_ms", "mean_ms", "ort_version"}.
'use strict';
const fs = require('fs');
const path = require('path');

const ortDir = process.env.HONE_ORT_DIR || path.resolve(__dirname, '..', '..', 'build', 'ort');
const ortModule = path.resolve(ortDir, 'node_modules', 'onnxruntime-node');
const ort = require(fs.existsSync(ortModule) ? ortModule : 'onnxruntime-node');

function option(args, name, def) {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : def;
}

async function main() {
  const args = process.argv.slice(2);
  if (args.length < 1 || args[0].startsWith('--')) {
    console.error('usage: time_model.js MODEL.onnx --shape 1,3,224,224 [--threads N] [--iterations I] [--warmup W]');
    process.exit(2);
  }
  const model = args[0];
  const shape = option(args, '--shape', '1,3,224,224').split(',').map(Number);
  const threads = Number(option(args, '--threads', '1'));
  const iterations = Number(option(args, '--iterations', '200'));
  const warmup = Number(option(args, '--warmup', '20'));
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all',
    executionMode: 'sequential',
  });
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  // Deterministic pseudo-random inputs in [0, 1), like hone's random dataset.
  let s = 12345;
  for (let i = 0; i < n; ++i) { s = (s * 1103515245 + 12345) >>> 0; data[i] = (s >>> 8) / 16777216; }
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', data, shape) };
  for (let i = 0; i < warmup; ++i) await session.run(feeds);
  const t = [];
  for (let i = 0; i < iterations; ++i) {
    const a = process.hrtime.bigint();
    await session.run(feeds);
    t.push(Number(process.hrtime.bigint() - a) / 1e6);
  }
  const sorted = [...t].sort((a, b) => a - b);
  const median = sorted.length % 2 ? sorted[sorted.length >> 1]
                                   : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
  console.log(JSON.stringify({
    model: path.basename(model), threads, iterations, median_ms: median,
    mean_ms: t.reduce((a, b) => a + b, 0) / t.length,
    ort_version: require(path.join(path.dirname(require.resolve(ortModule)), '..', 'package.json')).version,
  }));
}

main().catch((e) => { console.error(`time_model.js: ${e.message}`); process.exit(3); });
