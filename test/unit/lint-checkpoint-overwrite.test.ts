// DV008: the best checkpoint overwritten by a later, unconditional save of the same file.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dedent, ids, lint, useParser } from './lint/helpers';

useParser();

const dv008 = (code: string) => ids(dedent(code), 'DV008');
const LOOP = (after: string, inLoop = '', path = 'path') => `
  import torch
  def train(model, opt, loader, val_loader, epochs, path):
      best = 1e9
      for epoch in range(epochs):
          run_epoch(model, opt, loader)
          val = evaluate(model, val_loader)
          if val < best:
              best = val
              torch.save(model.state_dict(), ${path})
${inLoop}
${after}
`;

test('DV008: the final weights saved over the best checkpoint after the loop are reported', () => {
  assert.deepEqual(dv008(LOOP('      torch.save(model.state_dict(), path)')), ['DV008']);
  const f = lint(dedent(LOOP('      torch.save(model.state_dict(), path)')), { select: ['DV008'] });
  assert.match(f[0]!.message, /latest weights to path after training, over the best model saved on line 9/);
  // a literal path, saved again every epoch
  assert.deepEqual(dv008(LOOP('', '          torch.save(model.state_dict(), "ckpt/model.pt")', '"ckpt/model.pt"')), ['DV008']);
  // `self.path`, and the best guard spelled `is_best`
  assert.deepEqual(
    dv008(`
      import torch
      class Trainer:
          def fit(self, epochs):
              for epoch in range(epochs):
                  is_best = self.validate() > self.best_acc
                  if is_best:
                      torch.save(self.model.state_dict(), self.ckpt_path)
              torch.save(self.model.state_dict(), self.ckpt_path)
    `),
    ['DV008'],
  );
});

test('DV008: Keras save_weights over a best-only ModelCheckpoint, also one built in a helper of the file', () => {
  const K = `
    from tensorflow import keras
    def callbacks_for(path, monitor="val_loss"):
        return [keras.callbacks.ModelCheckpoint(path, monitor=monitor, save_best_only=True)]
    def run(model, x, y, model_path):
        cbs = callbacks_for(model_path)
        model.fit(x, y, validation_split=0.2, epochs=30, callbacks=cbs)
        model.save_weights(model_path)
  `;
  assert.deepEqual(dv008(K), ['DV008']);
  assert.deepEqual(dv008(K.replace('model.save_weights(model_path)', 'model.save_weights(model_path + ".last")')), []);
  assert.deepEqual(dv008(K.replace('save_best_only=True', 'save_best_only=False')), []);
  assert.deepEqual(dv008(K.replace('        model.save_weights(model_path)', '        model.load_weights(model_path)\n        model.save(model_path)')), []);
});

test('DV008: separate files, per-epoch paths, restored weights, best weights and exclusive branches stay silent', () => {
  assert.deepEqual(dv008(LOOP('      torch.save(model.state_dict(), "last.pt")')), []);
  assert.deepEqual(dv008(LOOP('      model.load_state_dict(torch.load(path))\n      torch.save(model.state_dict(), path)')), []);
  assert.deepEqual(dv008(LOOP('      torch.save(best_state, path)')), []);
  // a path rebound every epoch names another file each time
  assert.deepEqual(dv008(LOOP('', '          path = f"ckpt/ep{epoch}.pt"\n          torch.save(model.state_dict(), path)')), []);
  assert.deepEqual(
    dv008(`
      import torch
      def train(model, epochs, out):
          best = 0
          for epoch in range(epochs):
              p = f"{out}/ep{epoch}.pt"
              acc = run_epoch(model)
              if acc > best:
                  best = acc
                  torch.save(model.state_dict(), p)
              torch.save(model.state_dict(), p)
    `),
    [],
  );
  // the first epoch's save, or a run without validation data: other branches of one `if`
  assert.deepEqual(
    dv008(`
      import torch
      def train(model, epochs, name, val_loader):
          for e in range(epochs):
              loss_val = evaluate(model, val_loader)
              if e == 0:
                  torch.save(model, name + ".model")
                  best_nll = loss_val
              else:
                  if loss_val < best_nll:
                      torch.save(model, name + ".model")
                      best_nll = loss_val
    `),
    [],
  );
  // a `save_best` switch: the else saves every epoch on purpose
  assert.deepEqual(
    dv008(`
      import torch
      def train(model, epochs, path, args):
          best = 0
          for epoch in range(epochs):
              acc = run_epoch(model)
              if args.save_best:
                  if acc > best:
                      best = acc
                      torch.save(model.state_dict(), path)
              else:
                  torch.save(model.state_dict(), path)
    `),
    [],
  );
  // a save that is not a checkpoint of the model (a figure, a dataframe)
  assert.deepEqual(dv008(LOOP('      plt.savefig(path)\n      df.save(path)')), []);
});
