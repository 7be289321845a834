// ONNX Runtime as a peer (check scripts only, never part of hone): top-1 of an ONNX classifier
// on the Fashion-MNIST test split, with the preprocessing of hone's pipelines (pixel / 255,
// NCHW [N, 1, 28, 28], output = logits or probabilities: argmax either way).
//   node eval_fashion_mnist.js MODEL.onnx [--limit N] [--batch B]
// Prints one JSON line: {"model": ..., "samples": n, "top1": x, "ort_version": ...}.
'use strict';
const fs = require('fs');
const zlib = require('zlib');
const path = require('path');

// ONNX Runtime from $HONE_ORT_DIR, else build/ort (scripts/bootstrap --with-ort), else the
// module path.
const ortDir = process.env.HONE_ORT_DIR || path.resolve(__dirname, '..', '..', 'build', 'ort');
const ortModule = path.resolve(ortDir, 'node_modules', 'onnxruntime-node');
const ort = require(fs.existsSync(ortModule) ? ortModule : 'onnxruntime-node');

function readIdx(file) {
  let buf = fs.readFileSync(file);
  if (file.endsWith('.gz')) buf = zlib.gunzipSync(buf);
  const rank = buf[3];
  const dims = [];
  for (let i = 0; i < rank; ++i) dims.push(buf.readUInt32BE(4 + 4 * i));
  return { dims, data: buf.subarray(4 + 4 * rank) };
}

async function main() {
  const args = process.argv.slice(2);
  if (args.length < 1) {
    console.error('usage: eval_fashion_mnist.js MODEL.onnx [--limit N] [--batch B]');
    process.exit(2);
  }
  const model = args[0];
  const opt = (name, def) => {
    const i = args.indexOf(name);
    return i >= 0 ? parseInt(args[i + 1], 10) : def;
  };
  const root = process.env.HONE_FASHION_MNIST || '/usr/share/datasets/fashion-mnist';
  const images = readIdx(path.join(root, 't10k-images-idx3-ubyte.gz'));
  const labels = readIdx(path.join(root, 't10k-labels-idx1-ubyte.gz'));
  const n = Math.min(opt('--limit', images.dims[0]), images.dims[0]);
  const batch = opt('--batch', 100);
  const session = await ort.InferenceSession.create(model, { graphOptimizationLevel: 'all' });
  const inputName = session.inputNames[0];
  const outputName = session.outputNames[0];
  const pix = 28 * 28;
  let correct = 0;
  for (let first = 0; first < n; first += batch) {
    const count = Math.min(batch, n - first);
    const x = new Float32Array(count * pix);
    for (let i = 0; i < count * pix; ++i) x[i] = images.data[first * pix + i] / 255;
    const out = await session.run({ [inputName]: new ort.Tensor('float32', x, [count, 1, 28, 28]) });
    const y = out[outputName].data;
    const classes = y.length / count;
    for (let s = 0; s < count; ++s) {
      let best = 0;
      for (let c = 1; c < classes; ++c) if (y[s * classes + c] > y[s * classes + best]) best = c;
      if (best === labels.data[first + s]) ++correct;
    }
  }
  console.log(JSON.stringify({ model, samples: n, top1: correct / n, ort_version: ort.env.versions ? ort.env.versions.common : 'unknown' }));
}

main().catch((e) => {
  console.error(`eval_fashion_mnist.js: ${e.message}`);
  process.exit(2);
});
