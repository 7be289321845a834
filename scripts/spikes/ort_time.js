// Spike: ONNX Runtime (build/ort, scripts/bootstrap --with-ort) median latency of a 1x3x224x224
// model at batch 1.   node scripts/spikes/ort_time.js build/models/resnet18.onnx THREADS ITERATIONS
const path = require('path');
const ort = require(path.resolve('' + __dirname + '/../../build/ort/node_modules/onnxruntime-node'));
async function main() {
  const [model, threads, iters] = [process.argv[2], +process.argv[3] || 1, +process.argv[4] || 100];
  const s = await ort.InferenceSession.create(model, {intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all'});
  const name = s.inputNames[0];
  const x = new ort.Tensor('float32', new Float32Array(3*224*224).fill(0.5), [1,3,224,224]);
  for (let i = 0; i < 20; ++i) await s.run({[name]: x});
  const t = [];
  for (let i = 0; i < iters; ++i) { const a = process.hrtime.bigint(); await s.run({[name]: x}); t.push(Number(process.hrtime.bigint() - a) / 1e6); }
  t.sort((a, b) => a - b);
  console.log(JSON.stringify({model: path.basename(model), threads, median_ms: t[t.length >> 1]}));
}
main();
