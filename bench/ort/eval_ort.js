#!/usr/bin/env node
'use strict';
// Top-1 accuracy of a Fashion-MNIST model under onnxruntime-node, and agreement with the
// per-image PyTorch predictions in models/<model>.expected.json.
//
// Usage:
//   node bench/ort/eval_ort.js MODEL.onnx [--expected FILE.json] [--count N] [--batch B]
//        [--threads T] [--data DIR]
// Defaults: --expected MODEL with .onnx -> .expected.json (if present), --count 10000,
// --batch 100, --threads 1, --data /usr/share/datasets/fashion-mnist.
// Input contract: float32 [N,1,28,28] = pixel/255, input 0 of the model; output 0 = logits.
// Exits 1 when any prediction differs from the expected file.
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');
const ort = require('onnxruntime-node');

// IDX: big-endian u16 zero, u8 type (0x08 = uint8), u8 ndim, ndim x u32 dims, data.
function readIdx(file) {
  const buf = zlib.gunzipSync(fs.readFileSync(file));
  if (buf.readUInt16BE(0) !== 0 || buf[2] !== 0x08) throw new Error(`${file}: not uint8 IDX`);
  const ndim = buf[3];
  const dims = [];
  for (let i = 0; i < ndim; i++) dims.push(buf.readUInt32BE(4 + 4 * i));
  return {dims, data: buf.subarray(4 + 4 * ndim)};
}

function parseArgs(argv) {
  const a = {model: null, expected: null, count: 10000, batch: 100, threads: 1,
             data: '/usr/share/datasets/fashion-mnist'};
  for (let i = 0; i < argv.length; i++) {
    const s = argv[i];
    if (s === '--expected') a.expected = argv[++i];
    else if (s === '--count') a.count = parseInt(argv[++i], 10);
    else if (s === '--batch') a.batch = parseInt(argv[++i], 10);
    else if (s === '--threads') a.threads = parseInt(argv[++i], 10);
    else if (s === '--data') a.data = argv[++i];
    else if (!s.startsWith('--') && !a.model) a.model = s;
    else throw new Error(`bad argument ${s}`);
  }
  if (!a.model) throw new Error('usage: eval_ort.js MODEL.onnx [--expected F] [--count N] ...');
  if (!a.expected) {
    const guess = a.model.replace(/\.onnx$/, '.expected.json');
    if (fs.existsSync(guess)) a.expected = guess;
  }
  return a;
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  const images = readIdx(path.join(a.data, 't10k-images-idx3-ubyte.gz'));
  const labels = readIdx(path.join(a.data, 't10k-labels-idx1-ubyte.gz'));
  const [total, h, w] = images.dims;
  const count = Math.min(a.count, total);
  const expected = a.expected ? JSON.parse(fs.readFileSync(a.expected, 'utf8')) : null;

  const session = await ort.InferenceSession.create(a.model, {
    executionProviders: ['cpu'], intraOpNumThreads: a.threads, interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  const inName = session.inputNames[0], outName = session.outputNames[0];
  let correct = 0, agree = 0;
  const mismatches = [];
  const t0 = process.hrtime.bigint();
  for (let start = 0; start < count; start += a.batch) {
    const n = Math.min(a.batch, count - start);
    const x = new Float32Array(n * h * w);
    const px = images.data.subarray(start * h * w, (start + n) * h * w);
    for (let i = 0; i < x.length; i++) x[i] = px[i] / 255;
    const out = (await session.run({[inName]: new ort.Tensor('float32', x, [n, 1, h, w])}))[outName];
    const k = out.dims[1];
    for (let i = 0; i < n; i++) {
      let best = 0;  // first maximum, like torch.argmax / numpy.argmax
      for (let c = 1; c < k; c++) if (out.data[i * k + c] > out.data[i * k + best]) best = c;
      const idx = start + i;
      if (best === labels.data[idx]) correct++;
      if (expected) {
        if (best === expected.predictions[idx]) agree++;
        else mismatches.push({index: idx, ort: best, expected: expected.predictions[idx]});
      }
    }
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const result = {
    model: a.model, images: count, top1: correct / count, correct,
    seconds: +seconds.toFixed(2),
  };
  if (expected) {
    result.agree_with_expected = agree;
    result.mismatches = mismatches.slice(0, 20);
    // The expected file's accuracy covers all 10,000 images; compare like with like.
    if (count === expected.predictions.length) result.expected_top1 = expected.top1;
  }
  console.log(JSON.stringify(result));
  process.exit(expected && agree !== count ? 1 : 0);
}

main().catch((e) => {
  process.stderr.write(`eval_ort: ${e.message}\n`);
  process.exit(2);
});
