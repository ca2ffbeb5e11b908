import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER, ids, lint, useParser } from './lint/helpers';

useParser();

const SK = 'import numpy as np\nfrom sklearn.metrics import roc_auc_score, average_precision_score, roc_curve, precision_recall_curve, log_loss, brier_score_loss\n';
const code = (body: string, extra = '') => `${HEADER}${SK}${extra}${body}\n`;
const ev = (body: string, extra = '') => ids(code(body, extra), 'EV015');

test('EV015: argmax predictions given to roc_auc_score warn, with the message', () => {
  const src = code('with torch.no_grad():\n    outputs = model(x_val)\n    preds = outputs.argmax(dim=1)\nauc = roc_auc_score(y_val.numpy(), preds.cpu().numpy())');
  const f = lint(src, { select: ['EV015'] });
  assert.deepEqual(f.map((x) => [x.rule, x.severity]), [['EV015', 'warning']]);
  assert.equal(
    f[0]!.message,
    "roc_auc_score gets hard labels from argmax: a ranking metric of hard labels is not the model's (usually much lower). Pass the positive-class probability (e.g. probs[:, 1]) or the scores instead.",
  );
  assert.equal(f[0]!.range.start.line, src.split('\n').findIndex((l) => l.startsWith('auc =')));
  assert.equal(f[0]!.fixes, undefined);
});

test('EV015: argmax, max indices, rounding and thresholds, inline and through names', () => {
  assert.deepEqual(ev('auc = roc_auc_score(y, torch.argmax(logits, dim=1).numpy())'), ['EV015']);
  assert.deepEqual(ev('auc = roc_auc_score(y, np.argmax(probs, axis=1))'), ['EV015']);
  assert.deepEqual(ev('ap = average_precision_score(y_true=y, y_score=out.max(1)[1].cpu())'), ['EV015']);
  assert.deepEqual(ev('ap = average_precision_score(y, torch.max(out, 1).indices)'), ['EV015']);
  assert.deepEqual(ev('_, predicted = torch.max(outputs.data, 1)\nauc = roc_auc_score(labels.cpu(), predicted.cpu())'), ['EV015']);
  assert.deepEqual(ev('p = torch.sigmoid(model(x))\nauc = roc_auc_score(y, torch.round(p).detach().numpy())'), ['EV015']);
  assert.deepEqual(ev('auc = roc_auc_score(y, p.round())'), ['EV015']);
  assert.deepEqual(ev('auc = roc_auc_score(y, np.round(p))'), ['EV015']);
  assert.deepEqual(ev('auc = roc_auc_score(y, (p > 0.5).astype(int))'), ['EV015']);
  assert.deepEqual(ev('y_pred = (probs >= threshold).float()\nfpr, tpr, _ = roc_curve(y, y_pred.numpy())'), ['EV015']);
  assert.deepEqual(ev('y_hat = np.where(p > 0.5, 1, 0)\nprec, rec, _ = precision_recall_curve(y, y_hat)'), ['EV015']);
  assert.deepEqual(ev('loss = log_loss(y, p > 0.5)'), ['EV015']);
  assert.deepEqual(ev('b = brier_score_loss(y, y_prob=np.round(p))'), ['EV015']);
});

test('EV015: a list filled with argmax predictions in an eval loop', () => {
  const body =
    'def evaluate(model, loader):\n    model.eval()\n    all_preds, all_labels = [], []\n    preds = []\n    with torch.no_grad():\n        for x, y in loader:\n' +
    '            out = model(x)\n            preds.extend(out.argmax(1).cpu().tolist())\n            all_labels.extend(y.tolist())\n    return roc_auc_score(all_labels, np.array(preds))';
  assert.deepEqual(ev(body), ['EV015']);
  // torch.cat of a list of argmaxes
  assert.deepEqual(ev('preds = []\nfor x, y in loader:\n    preds.append(model(x).argmax(-1))\npreds = torch.cat(preds)\nauc = roc_auc_score(labels, preds)'), ['EV015']);
  // lists unpacked from a tuple of lists
  assert.deepEqual(ev('ps, ys = [], []\nfor x, y in loader:\n    ps.append((torch.sigmoid(model(x)) > 0.5).long())\n    ys.append(y)\nauc = roc_auc_score(torch.cat(ys), torch.cat(ps))'), ['EV015']);
  assert.deepEqual(ev('ys, ps = [], []\nfor x, y in loader:\n    ps.append(torch.sigmoid(model(x)))\n    ys.append(y.argmax(1))\nauc = roc_auc_score(torch.cat(ys), torch.cat(ps))'), []);
  // one append is scores: silent
  assert.deepEqual(ev('preds = []\nfor x, y in loader:\n    preds.append(model(x).argmax(-1))\n    preds.append(model(x).softmax(-1)[:, 1])\nauc = roc_auc_score(labels, torch.cat(preds))'), []);
  // filled with scores: silent
  assert.deepEqual(ev('scores = []\nfor x, y in loader:\n    scores.append(torch.softmax(model(x), 1)[:, 1])\nauc = roc_auc_score(labels, torch.cat(scores))'), []);
  // never filled where we can see it: silent
  assert.deepEqual(ev('preds = []\ncollect(preds)\nauc = roc_auc_score(labels, preds)'), []);
});

test('EV015: predict() of a known sklearn / xgboost classifier', () => {
  const sk = 'from sklearn.linear_model import LogisticRegression\nfrom sklearn.ensemble import RandomForestClassifier, RandomForestRegressor\nfrom sklearn.pipeline import make_pipeline, Pipeline\nfrom sklearn.preprocessing import StandardScaler\nfrom sklearn.model_selection import GridSearchCV\nimport xgboost as xgb\n';
  const f = lint(code('clf = LogisticRegression(max_iter=1000)\nclf.fit(X_train, y_train)\nauc = roc_auc_score(y_test, clf.predict(X_test))', sk), { select: ['EV015'] });
  assert.deepEqual(f.map((x) => x.rule), ['EV015']);
  assert.match(f[0]!.message, /^roc_auc_score gets hard labels from clf\.predict\(\), which returns classes: .* Pass the scores instead: clf\.predict_proba\(\.\.\.\)\[:, 1\] or decision_function\(\.\.\.\)\.$/);
  assert.deepEqual(ev('model = xgb.XGBClassifier(n_estimators=200)\nmodel.fit(X, y)\ny_pred = model.predict(X_val)\nprint(roc_auc_score(y_val, y_pred))', sk), ['EV015']);
  assert.deepEqual(ev('rf = RandomForestClassifier().fit(X, y)\nprint(log_loss(y_val, rf.predict(X_val)))', sk), ['EV015']);
  assert.deepEqual(ev('pipe = make_pipeline(StandardScaler(), LogisticRegression())\npipe.fit(X, y)\nprint(roc_auc_score(y_val, pipe.predict(X_val)))', sk), ['EV015']);
  assert.deepEqual(ev('pipe = Pipeline([("sc", StandardScaler()), ("clf", RandomForestClassifier())])\npipe.fit(X, y)\nprint(roc_auc_score(y_val, pipe.predict(X_val)))', sk), ['EV015']);
  assert.deepEqual(ev('gs = GridSearchCV(LogisticRegression(), {"C": [1, 10]})\ngs.fit(X, y)\nprint(roc_auc_score(y_val, gs.predict(X_val)))', sk), ['EV015']);
  assert.deepEqual(ev('print(roc_auc_score(y_val, LogisticRegression().fit(X, y).predict(X_val)))', sk), ['EV015']);
  // regressors, raw scores, unknown models: silent
  assert.deepEqual(ev('reg = RandomForestRegressor().fit(X, y)\nprint(roc_auc_score(y_val, reg.predict(X_val)))', sk), []);
  assert.deepEqual(ev('m = xgb.XGBClassifier()\nm.fit(X, y)\nprint(roc_auc_score(y_val, m.predict(X_val, output_margin=True)))', sk), []);
  assert.deepEqual(ev('bst = xgb.train(params, dtrain)\nprint(roc_auc_score(y_val, bst.predict(dval)))', sk), []);
  assert.deepEqual(ev('def score(clf, X, y):\n    return roc_auc_score(y, clf.predict(X))', sk), []);
});

test('EV015: Keras model.predict returns probabilities: silent', () => {
  const keras = 'from tensorflow import keras\n';
  assert.deepEqual(ev('model = keras.Sequential([keras.layers.Dense(1, activation="sigmoid")])\nmodel.fit(X, y)\nauc = roc_auc_score(y_val, model.predict(X_val))', keras), []);
  assert.deepEqual(ev('auc = roc_auc_score(y_val, model.predict(X_val).ravel())'), []);
});

test('EV015: scores are silent (softmax, sigmoid, predict_proba[:, 1], decision_function, multi-class matrices)', () => {
  const sk = 'from sklearn.linear_model import LogisticRegression\n';
  assert.deepEqual(ev('probs = torch.softmax(model(x), dim=1)\nauc = roc_auc_score(y, probs[:, 1].numpy())'), []);
  assert.deepEqual(ev('auc = roc_auc_score(y, torch.sigmoid(logits).numpy())'), []);
  assert.deepEqual(ev('clf = LogisticRegression().fit(X, y)\nauc = roc_auc_score(y_val, clf.predict_proba(X_val)[:, 1])', sk), []);
  assert.deepEqual(ev('clf = LogisticRegression().fit(X, y)\nauc = roc_auc_score(y_val, clf.decision_function(X_val))', sk), []);
  assert.deepEqual(ev('clf = LogisticRegression().fit(X, y)\nauc = roc_auc_score(y_val, clf.predict_proba(X_val), multi_class="ovr")', sk), []);
  assert.deepEqual(ev('auc = roc_auc_score(y, p.round(3))'), []);
  assert.deepEqual(ev('auc = roc_auc_score(y, np.round(p, 2))'), []);
  assert.deepEqual(ev('auc = roc_auc_score(y, np.where(p > 0.5, p, 0.0 * p))'), []);
  // labels side from argmax is fine
  assert.deepEqual(ev('auc = roc_auc_score(y_onehot.argmax(1), probs[:, 1])'), []);
  // unknown values, parameters, function results
  assert.deepEqual(ev('def evaluate(y, preds):\n    return roc_auc_score(y, preds)'), []);
  assert.deepEqual(ev('preds = get_predictions(model, loader)\nauc = roc_auc_score(y, preds)'), []);
  // NumPy max(axis)[1] is a row of values, not indices
  assert.deepEqual(ev('auc = roc_auc_score(y, probs.numpy().max(1)[1])'), []);
  // another library's function of the same name
  assert.deepEqual(ev('from mylib import roc_auc_score as auc_fn\nauc = auc_fn(y, out.argmax(1))'), []);
  assert.deepEqual(ids(`${HEADER}def roc_auc_score(a, b):\n    return 0\nauc = roc_auc_score(y, out.argmax(1))\n`, 'EV015'), []);
});

test('EV015: sklearn.metrics module spelling, displays and torchmetrics', () => {
  assert.deepEqual(ids(`${HEADER}from sklearn import metrics\nauc = metrics.roc_auc_score(y, out.argmax(1))\n`, 'EV015'), ['EV015']);
  assert.deepEqual(ids(`${HEADER}import sklearn.metrics\nauc = sklearn.metrics.roc_auc_score(y, out.argmax(1))\n`, 'EV015'), ['EV015']);
  assert.deepEqual(ids(`${HEADER}from sklearn.metrics import RocCurveDisplay\nRocCurveDisplay.from_predictions(y, out.argmax(1))\n`, 'EV015'), ['EV015']);
  assert.deepEqual(ids(`${HEADER}from torchmetrics.functional.classification import binary_auroc\nauc = binary_auroc((p > 0.5).float(), y)\n`, 'EV015'), ['EV015']);
  assert.deepEqual(ids(`${HEADER}from torchmetrics.functional import auroc\nauc = auroc(torch.sigmoid(out), y, task="binary")\n`, 'EV015'), []);
});

test('EV015: predict_proba(X)[:, 0] of a known classifier scores the negative class', () => {
  const sk = 'from sklearn.ensemble import GradientBoostingClassifier\n';
  const f = lint(code('gb = GradientBoostingClassifier().fit(X, y)\nauc = roc_auc_score(y_val, gb.predict_proba(X_val)[:, 0])', sk), { select: ['EV015'] });
  assert.deepEqual(f.map((x) => x.rule), ['EV015']);
  assert.match(f[0]!.message, /the probability of the first \(negative\) class: .* Pass \[:, 1\], the positive class\.$/);
  assert.deepEqual(ev('gb = GradientBoostingClassifier().fit(X, y)\nproba = gb.predict_proba(X_val)\nfpr, tpr, _ = roc_curve(y_val, proba[:, 0])', sk), ['EV015']);
  // pos_label / inverted labels / unknown receivers / column 1: silent
  assert.deepEqual(ev('gb = GradientBoostingClassifier().fit(X, y)\nfpr, tpr, _ = roc_curve(y_val, gb.predict_proba(X_val)[:, 0], pos_label=0)', sk), []);
  assert.deepEqual(ev('gb = GradientBoostingClassifier().fit(X, y)\nauc = roc_auc_score(1 - y_val, gb.predict_proba(X_val)[:, 0])', sk), []);
  assert.deepEqual(ev('gb = GradientBoostingClassifier().fit(X, y)\nauc = roc_auc_score(y_val == 0, gb.predict_proba(X_val)[:, 0])', sk), []);
  assert.deepEqual(ev('auc = roc_auc_score(y_val, model.predict_proba(X_val)[:, 0])', sk), []);
  assert.deepEqual(ev('auc = roc_auc_score(y_val, probs[:, 0])', sk), []);
  // log_loss with column 0 is not this pattern
  assert.deepEqual(ev('gb = GradientBoostingClassifier().fit(X, y)\nl = log_loss(y_val, gb.predict_proba(X_val)[:, 0])', sk), []);
});
