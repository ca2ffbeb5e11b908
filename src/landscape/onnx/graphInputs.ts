// Turns chosen initializers of an ONNX model into graph inputs, so onnxruntime takes perturbed weights as feeds and
// one session serves every grid point. The initializers are moved, not copied: onnxruntime-node does not take feeds
// for "overridable" initializers (an initializer also listed as an input), so each chosen TensorProto is dropped
// from GraphProto.initializer (field 5) and a ValueInfoProto with its type and shape is added to GraphProto.input
// (field 11). Byte surgery on the protobuf; every other byte is copied as is. Pure.
import { Cursor, WIRE_LEN, WIRE_VARINT } from '../../onnx/protobuf';
import type { OnnxInitializer } from '../../onnx/read';

function varint(n: number): number[] {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return out;
}

const tag = (field: number, wire: number) => varint(field * 8 + wire);
const utf8 = new TextEncoder();

function lenField(field: number, payload: number[] | Uint8Array): number[] {
  return [...tag(field, WIRE_LEN), ...varint(payload.length), ...payload];
}

/** ValueInfoProto { name, type: TypeProto { tensor_type: { elem_type, shape: { dim: [{ dim_value }] } } } }. */
export function encodeTensorValueInfo(name: string, elemType: number, dims: readonly number[]): Uint8Array {
  const shape = dims.flatMap((d) => lenField(1, [...tag(1, WIRE_VARINT), ...varint(d)]));
  const tensor = [...tag(1, WIRE_VARINT), ...varint(elemType), ...lenField(2, shape)];
  const type = lenField(1, tensor);
  return Uint8Array.from([...lenField(1, utf8.encode(name)), ...lenField(2, type)]);
}

function concat(parts: readonly (Uint8Array | number[])[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** TensorProto.name (field 8) of an initializer message. */
function tensorName(c: Cursor): string {
  while (!c.done) {
    const [field, wire] = c.tag();
    if (field === 8 && wire === WIRE_LEN) return c.string();
    c.skip(wire);
  }
  return '';
}

/** The main graph's bytes without the chosen initializers and with them as inputs. */
function rewriteGraph(bytes: Uint8Array, start: number, end: number, inits: readonly OnnxInitializer[]): Uint8Array {
  const names = new Set(inits.map((i) => i.name));
  const c = new Cursor(bytes, start, end, 'GraphProto');
  const parts: (Uint8Array | number[])[] = [];
  while (!c.done) {
    const at = c.pos;
    const [field, wire] = c.tag();
    if (field === 5 && wire === WIRE_LEN && names.has(tensorName(c.sub('TensorProto')))) continue;
    if (field !== 5 || wire !== WIRE_LEN) c.skip(wire);
    parts.push(bytes.subarray(at, c.pos));
  }
  for (const i of inits) parts.push(lenField(11, encodeTensorValueInfo(i.name, i.dataTypeCode, i.dims)));
  return concat(parts);
}

/** The model's bytes with `inits` moved from the main graph's initializers to its inputs. */
export function withInitializersAsInputs(bytes: Uint8Array, inits: readonly OnnxInitializer[]): Uint8Array {
  const c = new Cursor(bytes, 0, bytes.length, 'ModelProto');
  const parts: (Uint8Array | number[])[] = [];
  let found = false;
  while (!c.done) {
    const at = c.pos;
    const [field, wire] = c.tag();
    if (field === 7 && wire === WIRE_LEN) {
      const g = c.sub('GraphProto');
      const graph = rewriteGraph(bytes, g.pos, g.end, inits);
      parts.push([...tag(7, WIRE_LEN), ...varint(graph.length)], graph);
      found = true;
      continue;
    }
    c.skip(wire);
    parts.push(bytes.subarray(at, c.pos));
  }
  if (!found) c.fail('no graph');
  return concat(parts);
}
