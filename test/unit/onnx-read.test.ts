// The ONNX reader against the reference: models exported at test time by PyTorch (and built with the `onnx`
// package), each compared field by field with what `onnx` itself reports (test/unit/onnx-models.py).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  OnnxFormatError,
  nodeCount,
  operatorHistogram,
  readInitializerFloat32,
  readOnnxModel,
  type OnnxGraph,
  type OnnxModelInfo,
} from '../../src/onnx/read';

const python = process.env.DESCENT_TEST_PYTHON ?? join(homedir(), '.cache', 'descent-tools', 'pyvenv', 'bin', 'python');
const dir = mkdtempSync(join(tmpdir(), 'descent-onnx-read-'));
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the reference is JSON written by Python
let reference: Record<string, any> = {};

before(() => {
  assert.ok(existsSync(python), `Python with torch and onnx not found at ${python} (set DESCENT_TEST_PYTHON)`);
  const r = spawnSync(python, [join(__dirname, 'onnx-models.py'), dir], { encoding: 'utf8', shell: false });
  assert.equal(r.status, 0, r.stderr);
  reference = JSON.parse(readFileSync(join(dir, 'reference.json'), 'utf8'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function load(name: string): { bytes: Uint8Array; model: OnnxModelInfo } {
  const bytes = new Uint8Array(readFileSync(join(dir, `${name}.onnx`)));
  return { bytes, model: readOnnxModel(bytes) };
}

/** The reader's graph in the reference's shape (codes instead of names, no offsets). */
function comparable(g: OnnxGraph): unknown {
  return {
    name: g.name,
    inputs: g.inputs.map(valueInfo),
    initializerInputs: g.initializerInputs,
    outputs: g.outputs.map(valueInfo),
    initializers: g.initializers.map((i) => ({ name: i.name, dataTypeCode: i.dataTypeCode, dims: i.dims, storage: i.storage, external: i.external })),
    nodes: g.nodes.map((n) => ({ opType: n.opType, domain: n.domain, name: n.name, inputs: n.inputs, outputs: n.outputs, subgraphs: n.subgraphs.map(comparable) })),
  };
}
function valueInfo(v: OnnxGraph['inputs'][number]) {
  return { name: v.name, elemTypeCode: v.elemTypeCode, shape: v.shape };
}
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function referenceGraph(g: any): unknown {
  return {
    ...g,
    inputs: g.inputs.map(({ name, elemTypeCode, shape }: { name: string; elemTypeCode: number; shape: unknown }) => ({ name, elemTypeCode, shape })),
    outputs: g.outputs.map(({ name, elemTypeCode, shape }: { name: string; elemTypeCode: number; shape: unknown }) => ({ name, elemTypeCode, shape })),
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    initializers: g.initializers.map(({ name, dataTypeCode, dims, storage, external }: any) => ({ name, dataTypeCode, dims, storage, external })),
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    nodes: g.nodes.map((n: any) => ({ ...n, subgraphs: n.subgraphs.map(referenceGraph) })),
  };
}

function compareWithReference(name: string): { bytes: Uint8Array; model: OnnxModelInfo } {
  const { bytes, model } = load(name);
  const ref = reference[name];
  assert.ok(ref, `no reference for ${name}`);
  for (const key of ['irVersion', 'opsetImports', 'producerName', 'producerVersion', 'domain', 'modelVersion', 'docString', 'metadataProps', 'parameterCount'] as const) {
    assert.deepEqual(model[key], ref[key], `${name}: ${key}`);
  }
  assert.deepEqual(comparable(model.graph), referenceGraph(ref.graph), `${name}: graph`);
  const histogram = Object.fromEntries(operatorHistogram(model.graph).map((h) => [`${h.domain}:${h.opType}`, h.count]));
  assert.deepEqual(histogram, ref.histogram, `${name}: operator histogram`);
  // Offsets point at the very bytes onnx reads as raw_data, and values decode the same.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const refInits = new Map<string, any>(ref.graph.initializers.map((i: any) => [i.name, i]));
  for (const init of model.graph.initializers) {
    const r = refInits.get(init.name);
    if (r.sha256) {
      const sha = createHash('sha256').update(bytes.subarray(init.byteOffset, init.byteOffset + init.byteLength)).digest('hex');
      assert.equal(sha, r.sha256, `${name}: raw_data of ${init.name}`);
    }
    if (r.values) {
      const values = readInitializerFloat32(bytes, init);
      assert.ok(values, `${name}: values of ${init.name}`);
      assert.deepEqual([...values.subarray(0, 50)], r.values, `${name}: values of ${init.name}`);
    }
  }
  return { bytes, model };
}

test('an MLP exported by torch: everything onnx reports, a symbolic batch dimension', () => {
  const { model } = compareWithReference('mlp');
  assert.equal(model.producerName, 'pytorch');
  assert.deepEqual(model.graph.inputs.map((i) => [i.name, i.elemType, i.shape]), [['input', 'float32', ['batch', 64]]]);
  assert.deepEqual(model.graph.outputs.map((o) => [o.name, o.elemType, o.shape]), [['logits', 'float32', ['batch', 10]]]);
  assert.equal(model.parameterCount, 64 * 32 + 32 + 32 * 10 + 10);
  assert.equal(model.parameterBytes, model.parameterCount * 4);
  assert.ok(model.graph.initializers.every((i) => i.storage === 'raw_data' && !i.external));
});

test('weights kept as graph inputs are initializer inputs, not inputs to feed', () => {
  const { model } = compareWithReference('mlp-inputs');
  assert.deepEqual(model.graph.inputs.map((i) => i.name), ['input']);
  assert.equal(model.graph.initializerInputs.length, 4);
  assert.equal(model.parameterCount, load('mlp').model.parameterCount);
});

test('a CNN with BatchNorm (kept in training mode export): nodes, histogram, parameters', () => {
  const { model } = compareWithReference('cnn-bn');
  const ops = operatorHistogram(model.graph).map((h) => h.opType);
  assert.ok(ops.includes('BatchNormalization') && ops.includes('Conv') && ops.includes('Softmax'), ops.join());
  assert.deepEqual(model.graph.inputs[0]!.shape, [2, 1, 28, 28]);
  assert.ok(model.parameterCount > 8 * 14 * 14 * 16);
});

test('metadata_props, doc string, model version and domain set with the onnx package; UTF-8 survives', () => {
  const { model } = compareWithReference('mlp-metadata');
  assert.equal(model.metadataProps.author, 'Descent tests \u2014 ünïcode');
  assert.equal(JSON.parse(model.metadataProps.labels!)[3], 'three');
  assert.equal(model.modelVersion, 7);
});

test('float_data/int64_data/float16 initializers, If and Loop subgraphs, custom domains, sequence outputs', () => {
  const { bytes, model } = compareWithReference('handmade');
  const w = model.graph.initializers.find((i) => i.name === 'W')!;
  assert.equal(w.storage, 'float_data');
  assert.deepEqual([...readInitializerFloat32(bytes, w)!], [0.5, -1.0, 2.0, 3.25, -0.125, 8.0]);
  assert.equal(model.graph.initializers.find((i) => i.name === 'H')!.dataType, 'float16');
  const hist = operatorHistogram(model.graph);
  assert.equal(hist.find((h) => h.opType === 'Relu')!.count, 2, 'If branch counted');
  assert.equal(hist.find((h) => h.opType === 'Add')!.count, 2, 'Loop body counted');
  assert.deepEqual(hist.find((h) => h.opType === 'CustomOp'), { opType: 'CustomOp', domain: 'com.example', count: 1 });
  assert.equal(nodeCount(model.graph), 6 + 3 + 2);
  assert.deepEqual(model.graph.inputs.map((i) => i.shape), [['batch', 3], [null, 4]]);
  assert.equal(model.graph.outputs[2]!.elemType, 'sequence<float32>');
  assert.equal(model.graph.outputs[1]!.shape, null, 'unknown rank');
});

test('external data is reported, not read', () => {
  const { model } = compareWithReference('mlp-external');
  assert.ok(model.usesExternalData);
  const ext = model.graph.initializers.filter((i) => i.external);
  assert.ok(ext.length >= 1);
  assert.equal(ext[0]!.externalData!.location, 'mlp-external.data');
  assert.equal(model.parameterCount, load('mlp').model.parameterCount);
});

test('garbage, empty, truncated and non-ONNX protobuf bytes throw OnnxFormatError with a clear message', () => {
  const { bytes } = load('mlp');
  const cases: [string, Uint8Array][] = [
    ['empty', new Uint8Array(0)],
    ['text', new TextEncoder().encode('{"this": "is json, not onnx"}\n')],
    ['png header', new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13])],
    ['zeros', new Uint8Array(4096)],
    ['truncated half way', bytes.subarray(0, bytes.length >> 1)],
    ['truncated by one byte', bytes.subarray(0, bytes.length - 1)],
    ['a protobuf without graph', new Uint8Array([0x08, 0x07])],
  ];
  let seed = 12345;
  const random = new Uint8Array(10000).map(() => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff);
  cases.push(['random bytes', random]);
  for (const [what, b] of cases) {
    assert.throws(() => readOnnxModel(b), (e: unknown) => {
      assert.ok(e instanceof OnnxFormatError, `${what}: ${String(e)}`);
      assert.match(e.message, /ONNX|empty/, what);
      return true;
    }, what);
  }
  // Every truncation point of a real model either throws OnnxFormatError or (at a field boundary) parses.
  for (let n = 1; n < bytes.length; n += 97) {
    try {
      readOnnxModel(bytes.subarray(0, n));
    } catch (e) {
      assert.ok(e instanceof OnnxFormatError, `cut at ${n}: ${String(e)}`);
    }
  }
});

test('negative int64 values decode (two\'s complement varints)', () => {
  const { model } = load('handmade');
  const shape = model.graph.initializers.find((i) => i.name === 'shape')!;
  assert.equal(shape.storage, 'int64_data');
  // int64_data [-1, 6] packed: 10 bytes of -1 then 6.
  assert.equal(shape.byteLength, 11);
});
