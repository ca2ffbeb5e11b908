// Loss and output flow, wild set 5: a tensor indexed by a mask keeps its kind, a module and a loss handed to a
// training library (skorch) together (LS001/LS002), a loss module whose instance reaches the model through a
// parameter named like its holder (LS002), metrics passed as functions and helper tuples (EV006), the KL of a
// Keras/TF loss (LS010), and a criterion picked in the arms of an `if` the paths to it do not show (LS005).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HEADER, ids, useParser } from './lint/helpers';

useParser();

const lines = (...l: string[]) => l.join('\n') + '\n';

describe('LS001: a tensor indexed by a mask or an index tensor keeps its kind', () => {
  const wrap = (pick: string) =>
    HEADER +
    lines(
      'class PixelCE(nn.Module):',
      '    def forward(self, scores, labels):',
      '        keep = labels != 255',
      `        picked = ${pick}`,
      '        return F.cross_entropy(picked, labels[keep])',
      '',
      'def step(logits, labels):',
      '    crit = PixelCE().cuda()',
      '    return crit(F.log_softmax(logits, dim=1), labels)',
    );

  it('flags log_softmax reaching the loss through scores[mask]', () => {
    assert.deepEqual(ids(wrap('scores.permute(0, 2, 3, 1)[keep]'), 'LS001'), ['LS001']);
    assert.deepEqual(ids(wrap('scores[keep.nonzero()]'), 'LS001'), ['LS001']);
  });

  it('stays quiet on a container indexed by a name (an element of unknown kind)', () => {
    const code = HEADER + lines('def step(logits, aux, y, i):', '    outs = (F.softmax(logits, 1), aux)', '    return F.cross_entropy(outs[i], y)');
    assert.deepEqual(ids(code, 'LS001'), []);
    const plain = HEADER + lines('def step(logits, y, keep):', '    return F.cross_entropy(logits[keep], y[keep])');
    assert.deepEqual(ids(plain, 'LS001'), []);
  });
});

describe('LS001/LS002: a module and a loss handed to a training library together', () => {
  const net = (last: string) =>
    lines(
      'import torch',
      'from torch import nn',
      'from skorch import NeuralNetClassifier, NeuralNetBinaryClassifier',
      '',
      'class Clf(nn.Module):',
      '    def __init__(self):',
      '        super().__init__()',
      '        self.hidden = nn.Linear(20, 10)',
      '        self.out = nn.Linear(10, 2)',
      `        self.act = ${last}`,
      '    def forward(self, X):',
      '        X = torch.relu(self.hidden(X))',
      '        return self.act(self.out(X))',
      '',
    );

  it('flags a softmax module with criterion=nn.CrossEntropyLoss (the class itself, as skorch takes it)', () => {
    const code = net('nn.Softmax(dim=-1)') + 'clf = NeuralNetClassifier(Clf, criterion=nn.CrossEntropyLoss, max_epochs=5)\nclf.fit(X, y)\n';
    assert.deepEqual(ids(code, 'LS001'), ['LS001']);
  });

  it('flags an instance handed with a loss instance, and keyword module=', () => {
    const code = net('nn.Softmax(dim=1)') + 'model = Clf().to("cuda")\ntrainer = NeuralNetClassifier(module=model, criterion=nn.CrossEntropyLoss())\n';
    assert.deepEqual(ids(code, 'LS001'), ['LS001']);
  });

  it('flags a sigmoid module under the binary classifier, whose default loss is BCEWithLogitsLoss', () => {
    const code = net('nn.Sigmoid()') + 'clf = NeuralNetBinaryClassifier(Clf)\n';
    assert.deepEqual(ids(code, 'LS002'), ['LS002']);
  });

  it('flags a positional loss of another library (ignite-like)', () => {
    const code = net('nn.Softmax(dim=1)').replace('from skorch import NeuralNetClassifier, NeuralNetBinaryClassifier', 'from ignite.engine import create_supervised_trainer') + 'model = Clf()\ntrainer = create_supervised_trainer(model, opt, nn.CrossEntropyLoss())\n';
    assert.deepEqual(ids(code, 'LS001'), ['LS001']);
  });

  it('stays quiet on logits, on NLLLoss (skorch takes the log of probabilities) and on the file\'s own trainer', () => {
    assert.deepEqual(ids(net('nn.Identity()') + 'clf = NeuralNetClassifier(Clf, criterion=nn.CrossEntropyLoss)\n', 'LS001'), []);
    assert.deepEqual(ids(net('nn.Softmax(dim=-1)') + 'clf = NeuralNetClassifier(Clf, criterion=nn.NLLLoss)\n', 'LS001'), []);
    assert.deepEqual(ids(net('nn.Softmax(dim=-1)') + 'clf = NeuralNetClassifier(Clf)\n', 'LS001'), []);
    assert.deepEqual(ids(net('nn.Sigmoid()') + 'clf = NeuralNetClassifier(Clf, criterion=nn.BCELoss)\n', 'LS002'), []);
    // A module that is not the file's (its output is unknown).
    assert.deepEqual(ids(net('nn.Softmax(dim=-1)') + 'from zoo import Other\nclf = NeuralNetClassifier(Other, criterion=nn.CrossEntropyLoss)\n', 'LS001'), []);
  });
});

describe('LS002: a loss module reaching the model through a parameter named like its holder', () => {
  const code = (init: string, build = '') =>
    HEADER +
    lines(
      'class EdgeNet(nn.Module):',
      `    def __init__(self, ${init}):`,
      '        super().__init__()',
      '        self.criterion = criterion',
      '        self.seg = nn.Conv2d(8, 3, 1)',
      '        self.edge = nn.Conv2d(8, 1, 1)',
      '        self.sigmoid = nn.Sigmoid()',
      '    def forward(self, x, gts=None):',
      '        edge_out = self.sigmoid(self.edge(x))',
      '        seg_out = self.seg(x)',
      '        if self.training:',
      '            return self.criterion((seg_out, edge_out), gts)',
      '        return seg_out, edge_out',
      '',
      'class SegEdgeLoss(nn.Module):',
      '    def edge_bce(self, pred, target):',
      '        flat = pred.permute(0, 2, 3, 1).reshape(1, -1)',
      '        return F.binary_cross_entropy_with_logits(flat, target.reshape(1, -1))',
      '    def forward(self, inputs, targets):',
      '        seg, edge = inputs',
      '        seg_t, edge_t = targets',
      '        return F.cross_entropy(seg, seg_t) + self.edge_bce(edge, edge_t)',
      '',
      'def build_loss(cfg):',
      '    criterion = SegEdgeLoss().cuda()',
      '    return criterion',
      build,
    );

  it('flags the sigmoid edge map scored with BCE-with-logits inside the loss module', () => {
    assert.deepEqual(ids(code('num_classes, criterion=None'), 'LS002'), ['LS002']);
  });

  it('stays quiet when the parameter has a default loss, or the file passes the model another criterion', () => {
    assert.deepEqual(ids(code('num_classes, criterion=nn.BCELoss()'), 'LS002'), []);
    assert.deepEqual(ids(code('num_classes, criterion=None', 'net = EdgeNet(3, criterion=nn.MSELoss())'), 'LS002'), []);
  });

  it('stays quiet when the holder has another name', () => {
    assert.deepEqual(ids(code('num_classes, criterion=None').replace('    criterion = SegEdgeLoss().cuda()\n    return criterion', '    loss_module = SegEdgeLoss().cuda()\n    return loss_module'), 'LS002'), []);
  });
});

describe('EV006: thresholds written as calls, metrics passed as functions, outputs returned in tuples', () => {
  const file = (threshold: string, passMetric: string) =>
    HEADER +
    lines(
      'def counts(y_pred, y_true):',
      `    pos = ${threshold}`,
      '    tp = (pos & (y_true == 1)).sum()',
      '    return tp, pos.sum()',
      '',
      'def f1_score(y_pred, y_true):',
      '    tp, n = counts(y_pred=y_pred, y_true=y_true)',
      '    return tp / n',
      '',
      'def run_epoch(model, loader, objective, optimizer):',
      '    targets, outputs = [], []',
      '    for x, y in loader:',
      '        y_hat = model(x)',
      '        if objective is not None:',
      '            loss = objective(y_hat, y)',
      '        outputs.append(y_hat.cpu())',
      '        targets.append(y.cpu())',
      '    return model, torch.cat(targets), torch.cat(outputs)',
      '',
      'def fit(model, loader, optimizer, objective, metric_fn):',
      '    model, y, scores = run_epoch(model, loader, objective, optimizer)',
      '    return metric_fn(scores, y)',
      '',
      'def main(model, loader, optimizer):',
      `    ${passMetric}`,
    );

  it('flags .ge(0.5) on logits of a BCEWithLogitsLoss model, the metric passed through a **kwargs dict', () => {
    const code = file('y_pred.ge(0.5)', "kw = {'metric_fn': f1_score}\n    fit(model, loader, optimizer, objective=nn.BCEWithLogitsLoss(), **kw)");
    assert.deepEqual(ids(code, 'EV006'), ['EV006']);
  });

  it('flags torch.gt(x, 0.5), the metric passed as a keyword or a positional argument', () => {
    assert.deepEqual(ids(file('torch.gt(y_pred, 0.5)', 'fit(model, loader, optimizer, nn.BCEWithLogitsLoss(), metric_fn=f1_score)'), 'EV006'), ['EV006']);
    assert.deepEqual(ids(file('y_pred.gt(0.5)', 'fit(model, loader, optimizer, nn.BCEWithLogitsLoss(), f1_score)'), 'EV006'), ['EV006']);
  });

  it('stays quiet on probabilities, a threshold at 0, and a BCELoss file', () => {
    assert.deepEqual(ids(file('torch.sigmoid(y_pred).ge(0.5)', 'fit(model, loader, optimizer, nn.BCEWithLogitsLoss(), metric_fn=f1_score)'), 'EV006'), []);
    assert.deepEqual(ids(file('y_pred.ge(0)', 'fit(model, loader, optimizer, nn.BCEWithLogitsLoss(), metric_fn=f1_score)'), 'EV006'), []);
    assert.deepEqual(ids(file('y_pred.ge(0.5)', 'fit(model, loader, optimizer, nn.BCELoss(), metric_fn=f1_score)'), 'EV006'), []);
  });

  it('stays quiet when the metric function is also used in a way not followed (stored in a list)', () => {
    const code = file('y_pred.ge(0.5)', 'fit(model, loader, optimizer, nn.BCEWithLogitsLoss(), metric_fn=f1_score)\n    METRICS = [f1_score]');
    assert.deepEqual(ids(code, 'EV006'), []);
  });
});

describe('LS010: the categorical KL of a Keras / TensorFlow loss', () => {
  const keras = (combine: string, log = 'K.log') =>
    lines(
      'from keras import backend as K',
      'from keras.losses import binary_crossentropy',
      '',
      'def vae_loss(x, x_rec):',
      '    q = K.softmax(K.reshape(code_logits, (-1, 20, 10)))',
      `    log_q = ${log}(q + 1e-20)`,
      '    kl_terms = q * (log_q - K.log(1.0 / 10))',
      '    kl = K.sum(kl_terms, axis=(1, 2))',
      `    total = ${combine}`,
      '    return total',
    );

  it('flags the KL subtracted from the reconstruction term', () => {
    assert.deepEqual(ids(keras('784 * binary_crossentropy(x, x_rec) - kl'), 'LS010'), ['LS010']);
  });

  it('flags tf.reduce_sum of the integrand with tf.math.log', () => {
    const code = lines(
      'import tensorflow as tf',
      'def loss_fn(x, x_rec, q):',
      '    kl = tf.reduce_sum(q * (tf.math.log(q + 1e-10) - tf.math.log(0.1)), axis=-1)',
      '    return tf.reduce_mean(tf.square(x - x_rec)) - kl',
    );
    assert.deepEqual(ids(code, 'LS010'), ['LS010']);
  });

  it('stays quiet when the KL is added', () => {
    assert.deepEqual(ids(keras('784 * binary_crossentropy(x, x_rec) + kl'), 'LS010'), []);
    assert.deepEqual(ids(keras('784 * binary_crossentropy(x, x_rec) + kl', 'K.log'), 'LS010'), []);
  });
});

describe('LS005: a criterion picked in the arms of an if, read where the paths are not followed', () => {
  const code = (second: string) =>
    HEADER +
    lines(
      'def run(args, model, loader):',
      "    if args.loss == 'bce':",
      '        criterion = nn.BCEWithLogitsLoss()',
      "    elif args.loss == 'ce':",
      `        criterion = ${second}`,
      '    try:',
      '        for x, y in loader:',
      "            if args.loss == 'ce':",
      '                loss = criterion(model(x), y)',
      '            else:',
      '                loss = criterion(model(x), F.one_hot(y, num_classes=2))',
      '            loss.backward()',
      '    except KeyboardInterrupt:',
      '        pass',
    );

  it('stays quiet: the one-hot targets go to the BCE arm', () => {
    assert.deepEqual(ids(code('nn.CrossEntropyLoss()'), 'LS005'), []);
  });

  it('still flags when every arm builds a CrossEntropyLoss', () => {
    assert.deepEqual(ids(code('nn.CrossEntropyLoss()').replace('nn.BCEWithLogitsLoss()', 'nn.CrossEntropyLoss(weight=w)'), 'LS005'), ['LS005']);
  });
});
