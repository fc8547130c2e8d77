'use strict';
// Minimal reader/writer for ONNX TensorProto files (the input_N.pb / output_N.pb of the ONNX
// test data), so the ORT scripts need no protobuf dependency.
//
// TensorProto fields used (onnx.proto3): 1 dims (repeated int64), 2 data_type (int32),
// 4 float_data, 5 int32_data, 7 int64_data, 8 name, 9 raw_data, 10 double_data,
// 11 uint64_data. Protobuf wire types: 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32.

// ONNX TensorProto.DataType -> [onnxruntime tensor type, typed array constructor].
const DTYPES = {
  1: ['float32', Float32Array],
  2: ['uint8', Uint8Array],
  3: ['int8', Int8Array],
  4: ['uint16', Uint16Array],
  5: ['int16', Int16Array],
  6: ['int32', Int32Array],
  7: ['int64', BigInt64Array],
  9: ['bool', Uint8Array],
  10: ['float16', Uint16Array],
  11: ['float64', Float64Array],
  12: ['uint32', Uint32Array],
  13: ['uint64', BigUint64Array],
};
const ORT_TO_ONNX = Object.fromEntries(Object.entries(DTYPES).map(([k, v]) => [v[0], +k]));

class Reader {
  constructor(buf) {
    this.buf = buf;
    this.pos = 0;
  }
  eof() {
    return this.pos >= this.buf.length;
  }
  varint() {  // returns BigInt: int64 dims/data may exceed 2^53
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.buf.length) throw new Error('truncated varint');
      const b = this.buf[this.pos++];
      result |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return result;
      shift += 7n;
    }
  }
  bytes(n) {
    if (this.pos + n > this.buf.length) throw new Error('truncated field');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  skip(wire) {
    if (wire === 0) this.varint();
    else if (wire === 1) this.bytes(8);
    else if (wire === 2) this.bytes(Number(this.varint()));
    else if (wire === 5) this.bytes(4);
    else throw new Error(`unsupported wire type ${wire}`);
  }
}

// Reads a repeated scalar field that may be packed (wire 2) or not.
function readRepeated(r, wire, scalarWire, readOne, out) {
  if (wire === 2) {
    const sub = new Reader(r.bytes(Number(r.varint())));
    while (!sub.eof()) out.push(readOne(sub));
  } else if (wire === scalarWire) {
    out.push(readOne(r));
  } else {
    r.skip(wire);
  }
}

const toInt64 = (v) => BigInt.asIntN(64, v);
const readF32 = (r) => Buffer.from(r.bytes(4)).readFloatLE(0);
const readF64 = (r) => Buffer.from(r.bytes(8)).readDoubleLE(0);

// Returns {name, type (ort type string), dims (number[]), data (typed array)}.
function parseTensorProto(buf) {
  const r = new Reader(buf);
  const dims = [];
  let dataType = 0;
  let name = '';
  let raw = null;
  const floats = [], ints = [], doubles = [];
  while (!r.eof()) {
    const key = Number(r.varint());
    const field = key >>> 3, wire = key & 7;
    switch (field) {
      case 1: readRepeated(r, wire, 0, (s) => Number(toInt64(s.varint())), dims); break;
      case 2: dataType = Number(r.varint()); break;
      case 4: readRepeated(r, wire, 5, readF32, floats); break;
      case 5: readRepeated(r, wire, 0, (s) => toInt64(s.varint()), ints); break;
      case 7: readRepeated(r, wire, 0, (s) => toInt64(s.varint()), ints); break;
      case 8: name = Buffer.from(r.bytes(Number(r.varint()))).toString('utf8'); break;
      case 9: raw = r.bytes(Number(r.varint())); break;
      case 10: readRepeated(r, wire, 1, readF64, doubles); break;
      case 11: readRepeated(r, wire, 0, (s) => s.varint(), ints); break;
      default: r.skip(wire);
    }
  }
  if (!DTYPES[dataType]) throw new Error(`tensor '${name}': unsupported data_type ${dataType}`);
  const [type, Ctor] = DTYPES[dataType];
  const count = dims.reduce((a, b) => a * b, 1);
  let data;
  if (raw) {
    // Copy: raw_data inside the file buffer need not be aligned for the typed array.
    const copy = new Uint8Array(raw.length);
    copy.set(raw);
    data = new Ctor(copy.buffer, 0, raw.length / Ctor.BYTES_PER_ELEMENT);
  } else if (type === 'float32') {
    data = Float32Array.from(floats);
  } else if (type === 'float64') {
    data = Float64Array.from(doubles);
  } else if (Ctor === BigInt64Array || Ctor === BigUint64Array) {
    data = Ctor.from(ints);
  } else {
    data = Ctor.from(ints.map(Number));  // int32_data carries all the small integer types
  }
  if (data.length !== count) {
    throw new Error(`tensor '${name}': ${data.length} values for dims [${dims}]`);
  }
  return {name, type, dims, data};
}

function writeVarint(out, v) {
  let x = BigInt.asUintN(64, BigInt(v));
  do {
    let b = Number(x & 0x7fn);
    x >>= 7n;
    if (x) b |= 0x80;
    out.push(b);
  } while (x);
}

// Serializes {name, type, dims, data} as a TensorProto with raw_data.
function serializeTensorProto(t) {
  const out = [];
  for (const d of t.dims) {
    out.push(0x08);  // field 1, varint
    writeVarint(out, d);
  }
  const dt = ORT_TO_ONNX[t.type];
  if (!dt) throw new Error(`cannot serialize tensor type ${t.type}`);
  out.push(0x10);  // field 2, varint
  writeVarint(out, dt);
  if (t.name) {
    const nb = Buffer.from(t.name, 'utf8');
    out.push(0x42);  // field 8, length-delimited
    writeVarint(out, nb.length);
    for (const b of nb) out.push(b);
  }
  const raw = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  out.push(0x4a);  // field 9, length-delimited
  writeVarint(out, raw.length);
  return Buffer.concat([Buffer.from(out), raw]);
}

module.exports = {parseTensorProto, serializeTensorProto, DTYPES};
