#!/usr/bin/env node
'use strict';
// Agreement of ONNX Runtime with edgeopt on quantized models: for every MODEL, the top-1 class
// of the first --count Fashion-MNIST test images under onnxruntime-node (CPU) is compared with
// edgeopt's (`edgeopt run MODEL --input x.npy --output y.npy`, reference runtime).
//
// Usage:
//   node bench/ort/quant_agree.js --edgeopt BIN [--count N] [--min F] [--data DIR]
//        [--npy X.npy] [--fp32 MODEL --max-err E] MODEL...
// Defaults: --count 1000, --min 0.99, --data /usr/share/datasets/fashion-mnist.
//   --npy      inputs from a float32 .npy (N x ...) instead of the Fashion-MNIST test images
//   --fp32     the float model the MODELs were made from: each MODEL's ONNX Runtime outputs must
//              stay within relative L2 error --max-err (||y - y_fp32|| / ||y_fp32||) of its
//              outputs, the quantization tolerance, and so must edgeopt's from ONNX Runtime's
// Besides the top-1 agreement, each line gives the relative L2 error between edgeopt's and ONNX
// Runtime's outputs (ort_err).
// Prints one JSON line per model; exits 1 when any agreement is below --min or an error above
// --max-err, 2 on errors.
const fs = require('fs');
const os = require('os');
const path = require('path');
const zlib = require('zlib');
const {execFileSync} = require('child_process');
const ort = require('onnxruntime-node');

function readIdx(file) {
  const buf = zlib.gunzipSync(fs.readFileSync(file));
  if (buf.readUInt16BE(0) !== 0 || buf[2] !== 0x08) throw new Error(`${file}: not uint8 IDX`);
  const ndim = buf[3];
  const dims = [];
  for (let i = 0; i < ndim; i++) dims.push(buf.readUInt32BE(4 + 4 * i));
  return {dims, data: buf.subarray(4 + 4 * ndim)};
}

// .npy format 1.0: magic, version, u16 header length, a Python dict literal padded with spaces
// to a multiple of 64 bytes (ending in '\n'), then the raw little-endian data.
function npyF32(data, shape) {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${
      shape.length === 1 ? ',' : ''}), }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), body]);
}

function readNpyF32(file) {
  const buf = fs.readFileSync(file);
  const major = buf[6];
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = (major === 1 ? 10 : 12) + hlen;
  const header = buf.toString('latin1', major === 1 ? 10 : 12, start);
  if (!header.includes("'<f4'")) throw new Error(`${file}: expected float32 output (${header})`);
  const shape = /'shape': \(([^)]*)\)/.exec(header)[1].split(',')
      .filter((s) => s.trim()).map(Number);
  const bytes = buf.subarray(start);
  const copy = new Float32Array(bytes.length / 4);
  Buffer.from(copy.buffer).set(bytes);
  return {shape, data: copy};
}

function argmaxRows(data, n, k) {
  const out = [];
  for (let i = 0; i < n; i++) {
    let best = 0;  // first maximum, as numpy.argmax
    for (let c = 1; c < k; c++) if (data[i * k + c] > data[i * k + best]) best = c;
    out.push(best);
  }
  return out;
}

function parseArgs(argv) {
  const a = {
    edgeopt: null,
    count: 1000,
    min: 0.99,
    data: '/usr/share/datasets/fashion-mnist',
    npy: null,
    fp32: null,
    maxErr: 1,
    models: []
  };
  for (let i = 0; i < argv.length; i++) {
    const s = argv[i];
    if (s === '--edgeopt') a.edgeopt = argv[++i];
    else if (s === '--count') a.count = parseInt(argv[++i], 10);
    else if (s === '--min') a.min = parseFloat(argv[++i]);
    else if (s === '--data') a.data = argv[++i];
    else if (s === '--npy')
      a.npy = argv[++i];
    else if (s === '--fp32')
      a.fp32 = argv[++i];
    else if (s === '--max-err')
      a.maxErr = parseFloat(argv[++i]);
    else if (s.startsWith('--')) throw new Error(`unknown option ${s}`);
    else a.models.push(s);
  }
  if (!a.edgeopt || a.models.length === 0) {
    throw new Error('usage: quant_agree.js --edgeopt BIN [--count N] [--min F] MODEL...');
  }
  return a;
}

// The first `count` samples: Fashion-MNIST test images in [0, 1], or the rows of an .npy.
function loadInputs(a) {
  if (a.npy) {
    const all = readNpyF32(a.npy);
    const n = Math.min(a.count, all.shape[0]);
    const per = all.data.length / all.shape[0];
    return {n, dims: [n, ...all.shape.slice(1)], x: all.data.slice(0, n * per)};
  }
  const images = readIdx(path.join(a.data, 't10k-images-idx3-ubyte.gz'));
  const [total, h, w] = images.dims;
  const n = Math.min(a.count, total);
  const x = new Float32Array(n * h * w);
  for (let i = 0; i < x.length; i++) x[i] = images.data[i] / 255;
  return {n, dims: [n, 1, h, w], x};
}

// ||y - ref|| / ||ref||
function relErr(y, ref) {
  let num = 0, den = 0;
  for (let i = 0; i < ref.length; i++) {
    num += (y[i] - ref[i]) * (y[i] - ref[i]);
    den += ref[i] * ref[i];
  }
  return Math.sqrt(num / den);
}

async function runOrt(model, x, dims) {
  const session = await ort.InferenceSession.create(model, {
    executionProviders: ['cpu'],
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  return (await session.run({
    [session.inputNames[0]]: new ort.Tensor('float32', x, dims),
  }))[session.outputNames[0]];
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  const {n, dims, x} = loadInputs(a);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'quant_agree_'));
  const xfile = path.join(dir, 'x.npy');
  fs.writeFileSync(xfile, npyF32(x, dims));
  let ok = true;
  try {
    const fp32 = a.fp32 ? await runOrt(a.fp32, x, dims) : null;
    for (const model of a.models) {
      const out = await runOrt(model, x, dims);
      const k = out.dims[1];
      const ortPred = argmaxRows(out.data, n, k);
      const yfile = path.join(dir, 'y.npy');
      execFileSync(a.edgeopt, ['run', model, '--input', xfile, '--output', yfile],
                   {stdio: ['ignore', 'ignore', 'inherit']});
      const y = readNpyF32(yfile);
      const eoPred = argmaxRows(y.data, n, y.shape[1]);
      let agree = 0;
      for (let i = 0; i < n; i++) if (ortPred[i] === eoPred[i]) agree++;
      const frac = agree / n;
      const line = {model, images: n, agree, agreement: frac, ort_err: relErr(y.data, out.data)};
      let pass = frac >= a.min;
      if (fp32) {
        line.fp32_err = relErr(out.data, fp32.data);
        pass = pass && line.fp32_err <= a.maxErr && line.ort_err <= a.maxErr;
      }
      line.pass = pass;
      if (!pass) ok = false;
      console.log(JSON.stringify(line));
    }
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
  process.exit(ok ? 0 : 1);
}

main().catch((e) => {
  process.stderr.write(`quant_agree: ${e.message}\n`);
  process.exit(2);
});
