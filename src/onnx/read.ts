// Reads an ONNX model (a protobuf ModelProto) without dependencies and without copying its weights: initializers
// come back as offsets into the file's bytes, so a 100 MB model parses in milliseconds. Field numbers are from
// onnx/onnx.proto3 (ONNX 1.17+). Unknown fields are skipped, so newer files still read.
import { Cursor, OnnxFormatError, WIRE_I32, WIRE_LEN, WIRE_VARINT } from './protobuf';

export { OnnxFormatError } from './protobuf';

export interface OnnxOpsetImport {
  /** '' is the default ONNX domain ('ai.onnx'). */
  domain: string;
  version: number;
}

export type OnnxDim = number | string | null;

export interface OnnxValueInfo {
  name: string;
  /** 'float32', 'int64', ... for tensors; 'sequence<float32>', 'map<int64,float32>' for other types; '' unknown. */
  elemType: string;
  /** TensorProto.DataType code of a tensor's elements (0 when not a tensor or unknown). */
  elemTypeCode: number;
  /** One entry per axis: a size, a symbolic name ('batch'), or null when unknown. null for an unknown rank. */
  shape: OnnxDim[] | null;
}

/** Where an initializer's values are stored in the file. */
export type OnnxStorage =
  | 'raw_data'
  | 'float_data'
  | 'int32_data'
  | 'int64_data'
  | 'double_data'
  | 'uint64_data'
  | 'string_data'
  | 'external'
  | 'empty';

export interface OnnxInitializer {
  name: string;
  dataType: string;
  dataTypeCode: number;
  dims: number[];
  /** Product of dims (1 for a scalar). */
  elementCount: number;
  storage: OnnxStorage;
  /** Offset and length in the file of raw_data, or of the packed typed field (float_data, ...). 0/0 otherwise. */
  byteOffset: number;
  byteLength: number;
  /** Stored outside the .onnx file (external data): reported, never read. */
  external: boolean;
  /** external_data entries (location, offset, length, checksum) when external. */
  externalData?: Record<string, string>;
}

export interface OnnxNode {
  opType: string;
  domain: string;
  name: string;
  inputs: string[];
  outputs: string[];
  /** Graphs in attributes (If's branches, Loop's and Scan's bodies). */
  subgraphs: OnnxGraph[];
}

export interface OnnxGraph {
  name: string;
  /** Inputs the caller feeds: graph inputs that have no initializer of the same name. */
  inputs: OnnxValueInfo[];
  /** Graph inputs that are also initializers (overridable defaults, e.g. keep_initializers_as_inputs=True). */
  initializerInputs: string[];
  outputs: OnnxValueInfo[];
  initializers: OnnxInitializer[];
  nodes: OnnxNode[];
}

export interface OnnxModelInfo {
  irVersion: number;
  opsetImports: OnnxOpsetImport[];
  producerName: string;
  producerVersion: string;
  domain: string;
  modelVersion: number;
  docString: string;
  metadataProps: Record<string, string>;
  graph: OnnxGraph;
  /** Elements in the main graph's initializers (weights, biases, BatchNorm statistics, constants). */
  parameterCount: number;
  /** Bytes those elements take in memory (by element type; strings count 0). */
  parameterBytes: number;
  /** Local functions (ModelProto.functions) by name, domain-qualified. */
  functions: string[];
  /** True when some initializer lives in an external data file. */
  usesExternalData: boolean;
}

export interface OperatorCount {
  opType: string;
  /** '' for the default ONNX domain. */
  domain: string;
  count: number;
}

/** TensorProto.DataType names, numpy-style, indexed by code. */
const DATA_TYPES: readonly string[] = [
  'undefined', 'float32', 'uint8', 'int8', 'uint16', 'int16', 'int32', 'int64', 'string', 'bool', 'float16',
  'float64', 'uint32', 'uint64', 'complex64', 'complex128', 'bfloat16', 'float8e4m3fn', 'float8e4m3fnuz',
  'float8e5m2', 'float8e5m2fnuz', 'uint4', 'int4', 'float4e2m1', 'float8e8m0', 'uint2', 'int2',
];

/** Bits per element, by code (0: variable size). */
const DATA_TYPE_BITS: readonly number[] = [
  0, 32, 8, 8, 16, 16, 32, 64, 0, 8, 16, 64, 32, 64, 64, 128, 16, 8, 8, 8, 8, 4, 4, 4, 8, 2, 2,
];

export function dataTypeName(code: number): string {
  return DATA_TYPES[code] ?? `type${code}`;
}

/** Size in bytes of one element of the given TensorProto.DataType (0 for strings and unknown types). */
export function dataTypeBytes(code: number): number {
  return (DATA_TYPE_BITS[code] ?? 0) / 8;
}

/** Parses an ONNX model. Throws OnnxFormatError, saying where and why, when the bytes are not one. */
export function readOnnxModel(bytes: Uint8Array): OnnxModelInfo {
  if (bytes.length === 0) throw new OnnxFormatError('The file is empty: an ONNX model is a protobuf ModelProto.');
  const c = new Cursor(bytes, 0, bytes.length, 'ModelProto');
  let irVersion: number | undefined;
  let graph: OnnxGraph | undefined;
  const model: Omit<OnnxModelInfo, 'irVersion' | 'graph' | 'parameterCount' | 'parameterBytes' | 'usesExternalData'> = {
    opsetImports: [],
    producerName: '',
    producerVersion: '',
    domain: '',
    modelVersion: 0,
    docString: '',
    metadataProps: {},
    functions: [],
  };
  try {
    while (!c.done) {
      const [field, wire] = c.tag();
      switch (field) {
        case 1: expectWire(c, wire, WIRE_VARINT, 'ir_version'); irVersion = c.int64(); break;
        case 2: expectWire(c, wire, WIRE_LEN, 'producer_name'); model.producerName = c.string(); break;
        case 3: expectWire(c, wire, WIRE_LEN, 'producer_version'); model.producerVersion = c.string(); break;
        case 4: expectWire(c, wire, WIRE_LEN, 'domain'); model.domain = c.string(); break;
        case 5: expectWire(c, wire, WIRE_VARINT, 'model_version'); model.modelVersion = c.int64(); break;
        case 6: expectWire(c, wire, WIRE_LEN, 'doc_string'); model.docString = c.string(); break;
        case 7: expectWire(c, wire, WIRE_LEN, 'graph'); graph = readGraph(c.sub('GraphProto'), 0); break;
        case 8: expectWire(c, wire, WIRE_LEN, 'opset_import'); model.opsetImports.push(readOpset(c.sub('OperatorSetIdProto'))); break;
        case 14: {
          expectWire(c, wire, WIRE_LEN, 'metadata_props');
          const [k, v] = readStringPair(c.sub('StringStringEntryProto'));
          model.metadataProps[k] = v;
          break;
        }
        case 25: expectWire(c, wire, WIRE_LEN, 'functions'); model.functions.push(readFunctionName(c.sub('FunctionProto'))); break;
        default: c.skip(wire);
      }
    }
  } catch (e) {
    if (e instanceof OnnxFormatError) {
      throw new OnnxFormatError(`Not an ONNX model (${e.message}): the file is truncated or is not an .onnx file.`, e.offset);
    }
    throw e;
  }
  if (irVersion === undefined || irVersion <= 0 || irVersion > 1000) {
    throw new OnnxFormatError('Not an ONNX model: the file has no valid ir_version (a ModelProto starts with one).');
  }
  if (!graph) throw new OnnxFormatError('Not an ONNX model: the file has no graph.');
  let parameterCount = 0;
  let parameterBytes = 0;
  for (const init of graph.initializers) {
    parameterCount += init.elementCount;
    parameterBytes += init.elementCount * dataTypeBytes(init.dataTypeCode);
  }
  return {
    ...model,
    irVersion,
    graph,
    parameterCount,
    parameterBytes: Math.ceil(parameterBytes),
    usesExternalData: graph.initializers.some((i) => i.external),
  };
}

/** Operator counts over the graph and every subgraph (If/Loop/Scan bodies), most used first. */
export function operatorHistogram(graph: OnnxGraph): OperatorCount[] {
  const counts = new Map<string, OperatorCount>();
  const visit = (g: OnnxGraph) => {
    for (const n of g.nodes) {
      const domain = n.domain === 'ai.onnx' ? '' : n.domain;
      const key = `${domain}\u0000${n.opType}`;
      const entry = counts.get(key);
      if (entry) entry.count++;
      else counts.set(key, { opType: n.opType, domain, count: 1 });
      for (const s of n.subgraphs) visit(s);
    }
  };
  visit(graph);
  return [...counts.values()].sort((a, b) => b.count - a.count || a.opType.localeCompare(b.opType));
}

/** Total node count, subgraphs included. */
export function nodeCount(graph: OnnxGraph): number {
  let n = 0;
  for (const node of graph.nodes) {
    n++;
    for (const s of node.subgraphs) n += nodeCount(s);
  }
  return n;
}

/**
 * Values of a float initializer stored in the file, as float32 (float32/float64/float16 raw_data, float_data,
 * double_data). Returns undefined for other types and external data. This copies: call it only for tensors you need.
 */
export function readInitializerFloat32(bytes: Uint8Array, init: OnnxInitializer): Float32Array | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset + init.byteOffset, init.byteLength);
  const n = init.elementCount;
  const out = new Float32Array(n);
  if (init.storage === 'raw_data' || init.storage === 'float_data' || init.storage === 'double_data') {
    const code = init.storage === 'float_data' ? 1 : init.storage === 'double_data' ? 11 : init.dataTypeCode;
    const size = code === 1 ? 4 : code === 11 ? 8 : code === 10 ? 2 : 0;
    if (size === 0 || init.byteLength < n * size) return undefined;
    for (let i = 0; i < n; i++) {
      out[i] = size === 4 ? view.getFloat32(i * 4, true) : size === 8 ? view.getFloat64(i * 8, true) : half(view.getUint16(i * 2, true));
    }
    return out;
  }
  if (init.storage === 'empty' && n === 0) return out;
  return undefined;
}

function half(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

function expectWire(c: Cursor, wire: number, expected: number, name: string): void {
  if (wire !== expected) c.fail(`field ${name} has wire type ${wire}, expected ${expected}`);
}

function readOpset(c: Cursor): OnnxOpsetImport {
  const out: OnnxOpsetImport = { domain: '', version: 0 };
  while (!c.done) {
    const [field, wire] = c.tag();
    if (field === 1 && wire === WIRE_LEN) out.domain = c.string();
    else if (field === 2 && wire === WIRE_VARINT) out.version = c.int64();
    else c.skip(wire);
  }
  return out;
}

function readStringPair(c: Cursor): [string, string] {
  let key = '';
  let value = '';
  while (!c.done) {
    const [field, wire] = c.tag();
    if (field === 1 && wire === WIRE_LEN) key = c.string();
    else if (field === 2 && wire === WIRE_LEN) value = c.string();
    else c.skip(wire);
  }
  return [key, value];
}

function readFunctionName(c: Cursor): string {
  let name = '';
  let domain = '';
  while (!c.done) {
    const [field, wire] = c.tag();
    if (field === 1 && wire === WIRE_LEN) name = c.string();
    else if (field === 10 && wire === WIRE_LEN) domain = c.string();
    else c.skip(wire);
  }
  return domain ? `${domain}.${name}` : name;
}

/** Guards against maliciously deep If/Loop nesting (each level is a recursion). */
const MAX_GRAPH_DEPTH = 64;

function readGraph(c: Cursor, depth: number): OnnxGraph {
  if (depth > MAX_GRAPH_DEPTH) c.fail(`subgraphs nested deeper than ${MAX_GRAPH_DEPTH}`);
  const g: OnnxGraph = { name: '', inputs: [], initializerInputs: [], outputs: [], initializers: [], nodes: [] };
  const declaredInputs: OnnxValueInfo[] = [];
  while (!c.done) {
    const [field, wire] = c.tag();
    if (wire !== WIRE_LEN) {
      c.skip(wire);
      continue;
    }
    switch (field) {
      case 1: g.nodes.push(readNode(c.sub('NodeProto'), depth)); break;
      case 2: g.name = c.string(); break;
      case 5: g.initializers.push(readTensor(c.sub('TensorProto'))); break;
      case 11: declaredInputs.push(readValueInfo(c.sub('ValueInfoProto'))); break;
      case 12: g.outputs.push(readValueInfo(c.sub('ValueInfoProto'))); break;
      default: c.skip(wire);
    }
  }
  const initNames = new Set(g.initializers.map((i) => i.name));
  for (const input of declaredInputs) {
    if (initNames.has(input.name)) g.initializerInputs.push(input.name);
    else g.inputs.push(input);
  }
  return g;
}

function readNode(c: Cursor, depth: number): OnnxNode {
  const n: OnnxNode = { opType: '', domain: '', name: '', inputs: [], outputs: [], subgraphs: [] };
  while (!c.done) {
    const [field, wire] = c.tag();
    if (wire !== WIRE_LEN) {
      c.skip(wire);
      continue;
    }
    switch (field) {
      case 1: n.inputs.push(c.string()); break;
      case 2: n.outputs.push(c.string()); break;
      case 3: n.name = c.string(); break;
      case 4: n.opType = c.string(); break;
      case 7: n.domain = c.string(); break;
      case 5: readAttributeGraphs(c.sub('AttributeProto'), depth, n.subgraphs); break;
      default: c.skip(wire);
    }
  }
  return n;
}

/** Only the graph-valued parts of an attribute matter here: g (6) and graphs (11). */
function readAttributeGraphs(c: Cursor, depth: number, out: OnnxGraph[]): void {
  while (!c.done) {
    const [field, wire] = c.tag();
    if ((field === 6 || field === 11) && wire === WIRE_LEN) out.push(readGraph(c.sub('GraphProto'), depth + 1));
    else c.skip(wire);
  }
}

function readValueInfo(c: Cursor): OnnxValueInfo {
  const v: OnnxValueInfo = { name: '', elemType: '', elemTypeCode: 0, shape: null };
  while (!c.done) {
    const [field, wire] = c.tag();
    if (field === 1 && wire === WIRE_LEN) v.name = c.string();
    else if (field === 2 && wire === WIRE_LEN) {
      const t = readType(c.sub('TypeProto'), 0);
      v.elemType = t.elemType;
      v.elemTypeCode = t.elemTypeCode;
      v.shape = t.shape;
    } else c.skip(wire);
  }
  return v;
}

interface TypeInfo {
  elemType: string;
  elemTypeCode: number;
  shape: OnnxDim[] | null;
}

function readType(c: Cursor, depth: number): TypeInfo {
  if (depth > MAX_GRAPH_DEPTH) c.fail('type nested too deeply');
  let t: TypeInfo = { elemType: '', elemTypeCode: 0, shape: null };
  while (!c.done) {
    const [field, wire] = c.tag();
    if (wire !== WIRE_LEN) {
      c.skip(wire);
      continue;
    }
    switch (field) {
      case 1: // tensor_type
      case 8: // sparse_tensor_type
        t = readTensorType(c.sub('TypeProto.Tensor'));
        if (field === 8) t.elemType = `sparse<${t.elemType}>`;
        break;
      case 4: // sequence_type { elem_type = 1 }
      case 9: { // optional_type { elem_type = 1 }
        const inner = firstSubType(c.sub(field === 4 ? 'TypeProto.Sequence' : 'TypeProto.Optional'), depth);
        t = { elemType: `${field === 4 ? 'sequence' : 'optional'}<${inner.elemType || '?'}>`, elemTypeCode: 0, shape: null };
        break;
      }
      case 5: t = readMapType(c.sub('TypeProto.Map'), depth); break;
      default: c.skip(wire);
    }
  }
  return t;
}

function firstSubType(c: Cursor, depth: number): TypeInfo {
  let t: TypeInfo = { elemType: '', elemTypeCode: 0, shape: null };
  while (!c.done) {
    const [field, wire] = c.tag();
    if (field === 1 && wire === WIRE_LEN) t = readType(c.sub('TypeProto'), depth + 1);
    else c.skip(wire);
  }
  return t;
}

function readMapType(c: Cursor, depth: number): TypeInfo {
  let key = 0;
  let value: TypeInfo = { elemType: '', elemTypeCode: 0, shape: null };
  while (!c.done) {
    const [field, wire] = c.tag();
    if (field === 1 && wire === WIRE_VARINT) key = c.int64();
    else if (field === 2 && wire === WIRE_LEN) value = readType(c.sub('TypeProto'), depth + 1);
    else c.skip(wire);
  }
  return { elemType: `map<${dataTypeName(key)},${value.elemType || '?'}>`, elemTypeCode: 0, shape: null };
}

function readTensorType(c: Cursor): TypeInfo {
  const t: TypeInfo = { elemType: '', elemTypeCode: 0, shape: null };
  while (!c.done) {
    const [field, wire] = c.tag();
    if (field === 1 && wire === WIRE_VARINT) {
      t.elemTypeCode = c.int64();
      t.elemType = dataTypeName(t.elemTypeCode);
    } else if (field === 2 && wire === WIRE_LEN) t.shape = readShape(c.sub('TensorShapeProto'));
    else c.skip(wire);
  }
  return t;
}

function readShape(c: Cursor): OnnxDim[] {
  const dims: OnnxDim[] = [];
  while (!c.done) {
    const [field, wire] = c.tag();
    if (field !== 1 || wire !== WIRE_LEN) {
      c.skip(wire);
      continue;
    }
    const d = c.sub('TensorShapeProto.Dimension');
    let dim: OnnxDim = null;
    while (!d.done) {
      const [f, w] = d.tag();
      if (f === 1 && w === WIRE_VARINT) dim = d.int64();
      else if (f === 2 && w === WIRE_LEN) dim = d.string();
      else d.skip(w);
    }
    dims.push(dim);
  }
  return dims;
}

/** Typed-data fields of TensorProto, by field number. */
const TYPED_FIELDS: Record<number, OnnxStorage> = {
  4: 'float_data',
  5: 'int32_data',
  6: 'string_data',
  7: 'int64_data',
  10: 'double_data',
  11: 'uint64_data',
};

function readTensor(c: Cursor): OnnxInitializer {
  const t: OnnxInitializer = {
    name: '',
    dataType: '',
    dataTypeCode: 0,
    dims: [],
    elementCount: 1,
    storage: 'empty',
    byteOffset: 0,
    byteLength: 0,
    external: false,
  };
  let dataLocation = 0;
  const externalData: Record<string, string> = {};
  let hasExternalEntries = false;
  while (!c.done) {
    const [field, wire] = c.tag();
    if (field === 1) c.int64s(wire, t.dims);
    else if (field === 2 && wire === WIRE_VARINT) t.dataTypeCode = c.int64();
    else if (field === 8 && wire === WIRE_LEN) t.name = c.string();
    else if (field === 9 && wire === WIRE_LEN) {
      [t.byteOffset, t.byteLength] = spanOf(c);
      t.storage = 'raw_data';
    } else if (field === 13 && wire === WIRE_LEN) {
      const [k, v] = readStringPair(c.sub('StringStringEntryProto'));
      externalData[k] = v;
      hasExternalEntries = true;
    } else if (field === 14 && wire === WIRE_VARINT) dataLocation = c.int64();
    else if (TYPED_FIELDS[field] !== undefined && (wire === WIRE_LEN || wire === WIRE_VARINT || wire === WIRE_I32)) {
      // Typed data: packed (one span) is what writers produce; unpacked elements are skipped but noted.
      const storage = TYPED_FIELDS[field]!;
      if (wire === WIRE_LEN && t.storage !== storage) [t.byteOffset, t.byteLength] = spanOf(c);
      else if (wire === WIRE_LEN) {
        // string_data repeats once per element; keep the first span's start and extend to this one's end.
        const [, e] = spanOf(c);
        t.byteLength = e - t.byteOffset;
      } else c.skip(wire);
      t.storage = storage;
    } else c.skip(wire);
  }
  t.dataType = dataTypeName(t.dataTypeCode);
  t.elementCount = t.dims.reduce((a, d) => a * Math.max(0, d), 1);
  if (dataLocation === 1 || hasExternalEntries) {
    t.external = true;
    t.storage = 'external';
    t.externalData = externalData;
  }
  return t;
}

function spanOf(c: Cursor): [number, number] {
  const [s, e] = c.span();
  return [s, e - s];
}

