import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, fix, ids, lint, useParser } from './lint/helpers';

useParser();

const only = (code: string) => lint(code, { select: ['LS012'] });
const kd = (body: string) => `${HEADER}\ndef kd_loss(s, t, y, T=4.0):\n${body.split('\n').map((l) => '    ' + l).join('\n')}\n`;

test('LS012: KD with softmax probabilities as input is an error; the direct call is fixed to log_softmax', () => {
  const code = kd('return F.kl_div(F.softmax(s / T, dim=1), F.softmax(t / T, dim=1), reduction="batchmean") * T * T');
  const f = only(code);
  assert.deepEqual(f.map((x) => [x.rule, x.severity]), [['LS012', 'error']]);
  assert.equal(f[0]!.message, 'kl_div receives softmax probabilities as input; it expects log-probabilities, so the loss is meaningless. Use log_softmax.');
  const fixed = fix(code, 'LS012');
  assert.match(fixed, /F\.kl_div\(F\.log_softmax\(s \/ T, dim=1\), F\.softmax\(t \/ T, dim=1\), reduction="batchmean"\)/);
  assert.deepEqual(lint(fixed), []);
});

test('LS012: softmax through a variable (h03), torch.softmax, .softmax(dim), nn.Softmax in the model', () => {
  const viaName = kd('soft_student = F.softmax(s / T, dim=1)\nsoft_teacher = F.softmax(t / T, dim=1)\nreturn F.kl_div(soft_student, soft_teacher) * (T * T)');
  const f = only(viaName);
  assert.deepEqual(f.map((x) => x.rule), ['LS012']);
  assert.match(f[0]!.message, /softmax probabilities \(line 7\) as input/);
  assert.equal(f[0]!.fixes, undefined); // the variable may be read elsewhere: no fix through a name

  assert.deepEqual(ids(kd('return F.kl_div(torch.softmax(s, dim=-1), t, reduction="batchmean")'), 'LS012'), ['LS012']);
  const method = kd('return F.kl_div(s.softmax(-1), t.softmax(-1), reduction="batchmean")');
  assert.deepEqual(ids(method, 'LS012'), ['LS012']);
  assert.match(fix(method, 'LS012'), /F\.kl_div\(s\.log_softmax\(-1\), t\.softmax\(-1\)/);
  const model = `${HEADER}
class Student(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(10, 5)
        self.act = nn.Softmax(dim=1)

    def forward(self, x):
        return self.act(self.fc(x))

student = Student()
kl = nn.KLDivLoss(reduction='batchmean')
loss = kl(student(x), teacher_probs)
`;
  const m = only(model);
  assert.deepEqual(m.map((x) => x.severity), ['error']);
  assert.match(m[0]!.message, /^KLDivLoss receives softmax probabilities \(line 13\)/);
});

test('LS012: sigmoid output and raw model logits as input', () => {
  assert.match(only(kd('return F.kl_div(torch.sigmoid(s), t, reduction="batchmean")'))[0]!.message, /receives sigmoid probabilities as input/);
  const logits = `${HEADER}
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(10, 5)

    def forward(self, x):
        return self.fc(x)

model = Net()
criterion = nn.KLDivLoss(reduction='batchmean').to('cuda')
for x, t in loader:
    loss = criterion(model(x), F.softmax(t, dim=1))
`;
  const f = only(logits);
  assert.deepEqual(f.map((x) => x.severity), ['error']);
  assert.match(f[0]!.message, /^KLDivLoss receives raw logits \(line \d+\) as input; it expects log-probabilities/);
});

test("LS012: the default / 'mean' reduction on a log_softmax distribution is info; the fix sets 'batchmean'", () => {
  const dflt = kd('return F.kl_div(F.log_softmax(s / T, dim=1), F.softmax(t / T, dim=1)) * T * T');
  const f = only(dflt);
  assert.deepEqual(f.map((x) => x.severity), ['info']);
  assert.equal(f[0]!.message, "kl_div uses reduction='mean' (the default), which averages over batch × classes: the KL is num_classes times too small. Use reduction='batchmean'.");
  const fixed = fix(dflt, 'LS012');
  assert.match(fixed, /F\.softmax\(t \/ T, dim=1\), reduction='batchmean'\) \* T \* T/);
  assert.deepEqual(lint(fixed), []);

  const explicit = kd('p_s = F.log_softmax(s / T, dim=-1)\np_t = F.softmax(t / T, dim=-1)\nreturn F.kl_div(p_s, p_t, reduction="mean") * (T ** 2)');
  assert.deepEqual(only(explicit).map((x) => x.severity), ['info']);
  assert.match(fix(explicit, 'LS012'), /reduction="batchmean"/);
  assert.deepEqual(lint(fix(explicit, 'LS012')), []);

  // KLDivLoss: reported once, at the construction, however many calls use it.
  const cls = `${HEADER}
class DistillLoss(nn.Module):
    def __init__(self, T):
        super().__init__()
        self.T = T
        self.kl = nn.KLDivLoss()

    def forward(self, s, t):
        a = self.kl(F.log_softmax(s / self.T, dim=1), F.softmax(t / self.T, dim=1))
        b = self.kl(F.log_softmax(t / self.T, dim=1), F.softmax(s / self.T, dim=1))
        return a + b
`;
  const c = only(cls);
  assert.deepEqual(c.map((x) => [x.severity, x.range.start.line]), [['info', 9]]);
  assert.match(c[0]!.message, /^KLDivLoss uses reduction='mean' \(the default\)/);
  const cf = fix(cls, 'LS012');
  assert.match(cf, /self\.kl = nn\.KLDivLoss\(reduction='batchmean'\)/);
  assert.deepEqual(lint(cf), []);
});

test('LS012: a log-probability target needs log_target=True (and a probability target must not have it)', () => {
  const code = kd('return F.kl_div(F.log_softmax(s, dim=1), F.log_softmax(t, dim=1), reduction="batchmean")');
  const f = only(code);
  assert.deepEqual(f.map((x) => x.severity), ['error']);
  assert.match(f[0]!.message, /target holds log-probabilities but log_target is False/);
  const fixed = fix(code, 'LS012');
  assert.match(fixed, /reduction="batchmean", log_target=True\)/);
  assert.deepEqual(lint(fixed), []);
  assert.match(
    only(kd('return F.kl_div(F.log_softmax(s, dim=1), F.softmax(t, dim=1), reduction="batchmean", log_target=True)'))[0]!.message,
    /target holds softmax probabilities but log_target=True/,
  );
});

test('LS012: correct KD code and unknown inputs are silent', () => {
  const clean = [
    'return F.kl_div(F.log_softmax(s / T, dim=1), F.softmax(t / T, dim=1), reduction="batchmean") * T * T',
    'return F.kl_div(F.log_softmax(s / T, dim=-1), F.log_softmax(t / T, dim=-1), reduction="batchmean", log_target=True)',
    'return F.kl_div(s.log_softmax(dim=1), t, reduction="sum") / s.size(0)',
    'return F.kl_div(F.log_softmax(s, dim=1), t, reduction="none").sum(1).mean()',
    'return F.kl_div(torch.log(F.softmax(s, dim=1)), F.softmax(t, dim=1), reduction="batchmean")',
    // unknown input kinds: parameters, a log of a sum, .log()
    'return F.kl_div(s, t)',
    'return F.kl_div(torch.log(s + 1e-8), t)',
    'return F.kl_div(s.softmax(1).log(), t.softmax(1))',
    'm = 0.5 * (F.softmax(s, 1) + F.softmax(t, 1))\nreturn F.kl_div(m.log(), F.softmax(s, 1), reduction="batchmean")',
    // legacy arguments / **kwargs / non-literal reduction: the reduction is not read
    'return F.kl_div(F.log_softmax(s, dim=1), F.softmax(t, dim=1), size_average=False)',
    'return F.kl_div(F.log_softmax(s, dim=1), F.softmax(t, dim=1), **kw)',
    'return F.kl_div(F.log_softmax(s, dim=1), F.softmax(t, dim=1), reduction=red)',
    // log_softmax without an explicit class dimension, or over dim 0: not reported as a distribution KL
    'return F.kl_div(F.log_softmax(s), F.softmax(t, dim=1))',
    'return F.kl_div(F.log_softmax(s, dim=0), F.softmax(t, dim=0))',
    'return F.kl_div(F.log_softmax(s, dim=d), F.softmax(t, dim=d))',
  ];
  for (const body of clean) assert.deepEqual(ids(kd(body), 'LS012'), [], body);
});

test('LS012: look-alikes: other kl_div functions, a local kl_div, KLDivLoss built twice, torch.kl_div reduction', () => {
  assert.deepEqual(ids('from scipy.special import kl_div\nimport numpy as np\np = np.exp(x) / np.exp(x).sum()\nd = kl_div(p, q)\n', 'LS012'), []);
  assert.deepEqual(ids(`${HEADER}\ndef kl_div(p, q):\n    return (p * (p / q).log()).sum()\n\nd = kl_div(F.softmax(a, 1), F.softmax(b, 1))\n`, 'LS012'), []);
  const twice = `${HEADER}
class L(nn.Module):
    def __init__(self, big):
        super().__init__()
        if big:
            self.kl = nn.KLDivLoss(reduction='sum')
        else:
            self.kl = nn.KLDivLoss()

    def forward(self, s, t):
        return self.kl(F.log_softmax(s, dim=1), F.softmax(t, dim=1))
`;
  assert.deepEqual(ids(twice, 'LS012'), []);
  // torch.kl_div takes an int reduction: only its input is checked.
  assert.deepEqual(ids(kd('return torch.kl_div(F.log_softmax(s, dim=1), F.softmax(t, dim=1))'), 'LS012'), []);
  assert.deepEqual(ids(kd('return torch.kl_div(F.softmax(s, dim=1), F.softmax(t, dim=1))'), 'LS012'), ['LS012']);
  // A softmax imported by name: reported, but no fix (log_softmax would need importing).
  const bare = `from torch.nn.functional import softmax, kl_div\nloss = kl_div(softmax(s, dim=1), softmax(t, dim=1), reduction='batchmean')\n`;
  const f = only(bare);
  assert.deepEqual(f.map((x) => x.rule), ['LS012']);
  assert.equal(f[0]!.fixes, undefined);
});

test('LS012: no kl_div in the file: nothing to do', () => {
  assert.deepEqual(ids(`${HEADER}loss = F.cross_entropy(model(x), y)\n`, 'LS012'), []);
});
