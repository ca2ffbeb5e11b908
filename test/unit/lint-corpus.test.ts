// The measured-quality corpus of issue 3 (test/fixtures/lint-corpus/):
// - clean/: idiomatic training scripts in the styles of well-known public projects -> no finding of any rule;
// - buggy/: labelled snippets modelled on the failure reports people post. Line 1 of each file is
//   `# expect: ID, ID` (the exact rule ids it must trigger). A finding whose rule is not in the label is a false
//   positive and fails the test; a labelled rule that does not fire is a miss, counted in the recall table.
// Labels may name catalogue rules that are not registered yet: they are reported as "not implemented", not failed.
// Per-rule recall and precision (over registered rules) are printed; precision counts findings on clean files too.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { allRules, lintSource, type Finding } from '../../src/lint';
import { useParser } from './lint/helpers';

useParser();

const root = join(__dirname, '..', 'fixtures', 'lint-corpus');

/** Every id of shared/notes/lint-rule-catalogue.md, and the rules added beyond it (TL012-TL022, EV007-EV013, HP003-HP005, RP003, AR008-AR011, LS009-LS011, DT007-DT014, DV006, DV007): the buggy corpus must cover each one. */
const CATALOGUE = [
  ...['TL001', 'TL002', 'TL003', 'TL004', 'TL005', 'TL006', 'TL007', 'TL008', 'TL009', 'TL010', 'TL011', 'TL012', 'TL013', 'TL014', 'TL015', 'TL016', 'TL017', 'TL018', 'TL019', 'TL020', 'TL021', 'TL022', 'TL024', 'TL025', 'TL026', 'TL027', 'TL028', 'TL029', 'TL030', 'TL031'],
  ...['EV001', 'EV002', 'EV003', 'EV004', 'EV005', 'EV006', 'EV007', 'EV008', 'EV009', 'EV010', 'EV011', 'EV012', 'EV013', 'EV014', 'EV015', 'EV016', 'EV017'],
  ...['LS001', 'LS002', 'LS003', 'LS004', 'LS005', 'LS006', 'LS007', 'LS008', 'LS009', 'LS010', 'LS011'],
  ...['DT001', 'DT002', 'DT003', 'DT004', 'DT005', 'DT006', 'DT007', 'DT008', 'DT009', 'DT010', 'DT011', 'DT012', 'DT013', 'DT014', 'DT015', 'DT016', 'DT017', 'DT018', 'RP001', 'RP002', 'RP003'],
  ...['DV001', 'DV002', 'DV003', 'DV004', 'DV005', 'DV006', 'DV007', 'DV008'],
  ...['AR001', 'AR002', 'AR003', 'AR004', 'AR005', 'AR006', 'AR007', 'AR008', 'AR009', 'AR010', 'AR011', 'AR012', 'AR013', 'HP001', 'HP002', 'HP003', 'HP004', 'HP005', 'HP006', 'HP007'],
  ...['KR001', 'KR002', 'KR003', 'KR004', 'KR005', 'KR006', 'KR007', 'KR008', 'KR009'],
];

/** Overall recall over registered rules must stay at or above this (guards against a linter that finds nothing). */
const MIN_RECALL = 0.75;

interface CorpusFile {
  name: string;
  source: string;
  expect: Set<string>;
  findings: Finding[];
}

function load(dir: 'clean' | 'buggy'): CorpusFile[] {
  const folder = join(root, dir);
  return readdirSync(folder)
    .filter((f) => f.endsWith('.py'))
    .sort()
    .map((name) => {
      const source = readFileSync(join(folder, name), 'utf8');
      // Clean files expect nothing, whatever their first line says.
      const m = dir === 'buggy' ? /^# expect:(.*)$/.exec(source.split('\n', 1)[0] ?? '') : null;
      const expect = new Set((m?.[1] ?? '').split(',').map((s) => s.trim()).filter(Boolean));
      const findings = lintSource(source, { verifyCandidates: true, onRuleError: (rule, e) => assert.fail(`${name}: ${rule} threw: ${String(e)}`) });
      return { name, source, expect, findings };
    });
}

const show = (f: Finding) => `${f.rule}:${f.range.start.line + 1} ${f.message}`;

test('lint corpus: clean files are free of findings, buggy files only trigger their labels; recall table', () => {
  const clean = load('clean');
  const buggy = load('buggy');
  const registered = new Set(allRules.map((r) => r.meta.id));

  assert.ok(clean.length >= 12, `clean corpus has ${clean.length} files, want >= 12`);
  assert.ok(buggy.length >= 40, `buggy corpus has ${buggy.length} files, want >= 40`);
  for (const f of buggy) {
    assert.ok(f.expect.size > 0, `${f.name}: line 1 must be a '# expect: ID, ...' label`);
    for (const id of f.expect) assert.ok(CATALOGUE.includes(id) || registered.has(id), `${f.name}: unknown rule id ${id} in its label`);
  }
  const labelled = new Set(buggy.flatMap((f) => [...f.expect]));
  const uncovered = CATALOGUE.filter((id) => !labelled.has(id));
  assert.deepEqual(uncovered, [], 'catalogue ids with no labelled buggy snippet');

  // Per rule, counted per file: tp = labelled and fired, fn = labelled and silent, fp = fired without a label.
  const ids = [...new Set([...labelled, ...registered])].sort();
  const stats = new Map(ids.map((id) => [id, { tp: 0, fn: 0, fp: 0 }]));
  const falsePositives: string[] = [];
  for (const f of [...clean, ...buggy]) {
    const fired = new Set(f.findings.map((x) => x.rule));
    for (const id of f.expect) {
      if (fired.has(id)) stats.get(id)!.tp++;
      else stats.get(id)!.fn++;
    }
    for (const id of fired) {
      if (f.expect.has(id)) continue;
      stats.get(id)!.fp++;
      for (const x of f.findings.filter((y) => y.rule === id)) falsePositives.push(`${f.expect.size ? 'buggy' : 'clean'}/${f.name}: ${show(x)}`);
    }
  }

  const rows: string[] = ['rule   | labelled | found | missed | false pos | recall | precision', '-------|----------|-------|--------|-----------|--------|----------'];
  let tp = 0;
  let fn = 0;
  const notImplemented: string[] = [];
  const missed: string[] = [];
  for (const id of ids) {
    const s = stats.get(id)!;
    if (!registered.has(id)) {
      notImplemented.push(id);
      rows.push(`${id.padEnd(6)} | ${String(s.tp + s.fn).padStart(8)} | not implemented`);
      continue;
    }
    tp += s.tp;
    fn += s.fn;
    const recall = s.tp + s.fn ? (s.tp / (s.tp + s.fn)).toFixed(2) : '  - ';
    const precision = s.tp + s.fp ? (s.tp / (s.tp + s.fp)).toFixed(2) : '  - ';
    rows.push(`${id.padEnd(6)} | ${String(s.tp + s.fn).padStart(8)} | ${String(s.tp).padStart(5)} | ${String(s.fn).padStart(6)} | ${String(s.fp).padStart(9)} | ${recall.padStart(6)} | ${precision.padStart(9)}`);
  }
  for (const f of buggy) for (const id of f.expect) if (registered.has(id) && !f.findings.some((x) => x.rule === id)) missed.push(`${f.name}: ${id}`);
  const recall = tp + fn ? tp / (tp + fn) : 0;
  console.log(
    [
      `lint corpus: ${clean.length} clean files (${clean.reduce((n, f) => n + f.source.split('\n').length, 0)} lines), ${buggy.length} buggy files, ${registered.size} rules registered`,
      ...rows,
      `overall recall over registered rules: ${tp}/${tp + fn} = ${recall.toFixed(2)}`,
      `not implemented (labelled, no registered rule): ${notImplemented.join(', ') || 'none'}`,
      `missed: ${missed.join('; ') || 'none'}`,
      `false positives: ${falsePositives.length}`,
    ].join('\n'),
  );

  assert.deepEqual(falsePositives, [], 'findings without a label (false positives)');
  assert.ok(recall >= MIN_RECALL, `overall recall ${recall.toFixed(2)} < ${MIN_RECALL}`);
});
