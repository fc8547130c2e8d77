#!/usr/bin/env node
'use strict';
// Runs an ONNX model with onnxruntime-node (CPU execution provider) as edgeopt's peer:
// latency (p50/mean/min/max over --runs timed runs after --warmup untimed ones) and outputs.
//
// Usage:
//   node bench/ort/run_ort.js MODEL [--input x.pb|random]... [--threads N] [--warmup W]
//        [--runs R] [--json] [--seed S] [--dim NAME=V] [--save-outputs DIR]
//
//   --input     one per model input, in the model's input order: a TensorProto .pb file, or
//               `random` (uniform [0,1) for floats, [0,10) for integers; deterministic given
//               --seed). Missing inputs are `random`.
//   --dim       value for a symbolic dimension of a random input (default 1), e.g. --dim N=8.
//   --json      print one JSON object: latency and every output's dims/type/data.
//   --no-spin   idle intra-op threads sleep instead of spinning (session.intra_op.allow_spinning).
//   --save-outputs DIR  also write output_<i>.pb TensorProto files there.
// Session options: intraOpNumThreads=N, interOpNumThreads=1, graphOptimizationLevel 'all'.
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');
const {parseTensorProto, serializeTensorProto, DTYPES} = require('./tensor_pb');

function usage(msg) {
  if (msg) process.stderr.write(`run_ort: ${msg}\n`);
  process.stderr.write(
      'usage: node run_ort.js MODEL [--input x.pb|random]... [--threads N] [--warmup W] ' +
      '[--runs R] [--json] [--no-spin] [--seed S] [--dim NAME=V] [--save-outputs DIR]\n');
  process.exit(2);
}

function parseArgs(argv) {
  const a = {model: null, inputs: [], threads: 1, warmup: 3, runs: 20, json: false, seed: 1,
             dims: {}, saveOutputs: null};
  const intArg = (name, v) => {
    if (v === undefined || !/^\d+$/.test(v)) usage(`${name} needs a non-negative integer`);
    return parseInt(v, 10);
  };
  for (let i = 0; i < argv.length; i++) {
    const s = argv[i];
    if (s === '--input') a.inputs.push(argv[++i] ?? usage('--input needs a value'));
    else if (s === '--threads') a.threads = intArg(s, argv[++i]);
    else if (s === '--warmup') a.warmup = intArg(s, argv[++i]);
    else if (s === '--runs') a.runs = intArg(s, argv[++i]);
    else if (s === '--seed') a.seed = intArg(s, argv[++i]);
    else if (s === '--json') a.json = true;
    else if (s === '--no-spin') a.noSpin = true;
    else if (s === '--save-outputs') a.saveOutputs = argv[++i] ?? usage('--save-outputs needs a dir');
    else if (s === '--dim') {
      const m = /^([^=]+)=(\d+)$/.exec(argv[++i] ?? '');
      if (!m) usage('--dim needs NAME=VALUE');
      a.dims[m[1]] = parseInt(m[2], 10);
    } else if (s === '-h' || s === '--help') usage();
    else if (s.startsWith('--')) usage(`unknown option ${s}`);
    else if (a.model === null) a.model = s;
    else usage(`unexpected argument ${s}`);
  }
  if (!a.model) usage('no model given');
  if (a.runs < 1) usage('--runs must be >= 1');
  return a;
}

// xorshift32: a tiny deterministic generator, so `random` inputs repeat across runs/tools.
function makeRng(seed) {
  let x = (seed >>> 0) || 0x9e3779b9;
  return () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x / 4294967296;
  };
}

function randomTensor(meta, dimValues, rng) {
  if (!meta.isTensor) throw new Error(`input '${meta.name}' is not a tensor`);
  const dims = meta.shape.map((d) => {
    if (typeof d === 'number' && d >= 0) return d;
    return dimValues[d] ?? 1;  // symbolic or unknown dimension
  });
  const entry = Object.values(DTYPES).find(([t]) => t === meta.type);
  if (!entry) throw new Error(`input '${meta.name}': cannot make random ${meta.type}`);
  const Ctor = entry[1];
  const n = dims.reduce((x, y) => x * y, 1);
  const data = new Ctor(n);
  for (let i = 0; i < n; i++) {
    const u = rng();
    if (meta.type === 'float32' || meta.type === 'float64') data[i] = u;
    else if (meta.type === 'bool') data[i] = u < 0.5 ? 0 : 1;
    else if (Ctor === BigInt64Array || Ctor === BigUint64Array) data[i] = BigInt(Math.floor(u * 10));
    else data[i] = Math.floor(u * 10);
  }
  return new ort.Tensor(meta.type, data, dims);
}

function percentile(sorted, p) {
  // Nearest-rank on the sorted samples; p50 of an even count is the mean of the middle two.
  if (p === 50 && sorted.length % 2 === 0) {
    const m = sorted.length / 2;
    return (sorted[m - 1] + sorted[m]) / 2;
  }
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const plain = (data) => Array.from(data, (v) => (typeof v === 'bigint' ? Number(v) : v));

async function main() {
  const a = parseArgs(process.argv.slice(2));
  const session = await ort.InferenceSession.create(a.model, {
    executionProviders: ['cpu'],
    intraOpNumThreads: a.threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    // --no-spin: idle intra-op threads sleep instead of spinning (ORT's allow_spinning = 0).
    ...(a.noSpin ? {extra: {session: {intra_op: {allow_spinning: '0'}}}} : {}),
  });
  const metas = session.inputMetadata ?? session.inputNames.map((name) => ({name}));
  if (a.inputs.length > session.inputNames.length) {
    usage(`${a.inputs.length} --input given, model has ${session.inputNames.length} inputs`);
  }
  const rng = makeRng(a.seed);
  const feeds = {};
  session.inputNames.forEach((name, i) => {
    const src = a.inputs[i] ?? 'random';
    if (src === 'random') {
      feeds[name] = randomTensor(metas[i], a.dims, rng);
    } else {
      const t = parseTensorProto(fs.readFileSync(src));
      feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
    }
  });

  for (let i = 0; i < a.warmup; i++) await session.run(feeds);
  const times = [];
  let outputs = null;
  for (let i = 0; i < a.runs; i++) {
    const t0 = process.hrtime.bigint();
    outputs = await session.run(feeds);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const sorted = [...times].sort((x, y) => x - y);
  const latency = {
    p50: percentile(sorted, 50),
    mean: times.reduce((x, y) => x + y, 0) / times.length,
    min: sorted[0],
    max: sorted[sorted.length - 1],
  };

  if (a.saveOutputs) {
    fs.mkdirSync(a.saveOutputs, {recursive: true});
    session.outputNames.forEach((name, i) => {
      const o = outputs[name];
      fs.writeFileSync(path.join(a.saveOutputs, `output_${i}.pb`),
                       serializeTensorProto({name, type: o.type, dims: o.dims, data: o.data}));
    });
  }

  const ver = require('onnxruntime-node/package.json').version;
  if (a.json) {
    const outs = {};
    for (const name of session.outputNames) {
      const o = outputs[name];
      outs[name] = {dims: Array.from(o.dims), type: o.type, data: plain(o.data)};
    }
    process.stdout.write(JSON.stringify({
      runtime: `onnxruntime-node ${ver}`, model: a.model, threads: a.threads,
      warmup: a.warmup, runs: a.runs, latency_ms: latency, outputs: outs,
    }) + '\n');
  } else {
    console.log(`onnxruntime-node ${ver}  model ${a.model}  threads ${a.threads}  ` +
                `warmup ${a.warmup}  runs ${a.runs}`);
    console.log(`latency ms: p50 ${latency.p50.toFixed(3)}  mean ${latency.mean.toFixed(3)}  ` +
                `min ${latency.min.toFixed(3)}  max ${latency.max.toFixed(3)}`);
    for (const name of session.outputNames) {
      const o = outputs[name];
      const head = plain(o.data.slice(0, 10)).map((v) => (Number.isInteger(v) ? v : v.toFixed(5)));
      console.log(`output ${name} ${o.type} [${o.dims}]: ${head.join(' ')}` +
                  `${o.data.length > 10 ? ' ...' : ''}`);
    }
  }
}

main().catch((e) => {
  process.stderr.write(`run_ort: ${e.message}\n`);
  process.exit(1);
});
