// Generates realistic PyTorch training scripts for bench/lint: models, datasets, training and evaluation loops,
// argument parsing and utilities, varied by a seeded random generator (same seed, same corpus).

export class Rng {
  constructor(private s: number) {}
  next(): number {
    // mulberry32
    let t = (this.s += 0x6d2b79f5);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

const ACTS = ['nn.ReLU()', 'nn.GELU()', 'nn.SiLU()', 'nn.LeakyReLU(0.1)', 'nn.Tanh()'];
const FACTS = ['F.relu', 'F.gelu', 'F.silu', 'torch.tanh'];
const OPTS = [
  (p: string) => `torch.optim.Adam(${p}, lr=args.lr, weight_decay=args.weight_decay)`,
  (p: string) => `torch.optim.AdamW(${p}, lr=args.lr, betas=(0.9, 0.999))`,
  (p: string) => `torch.optim.SGD(${p}, lr=args.lr, momentum=0.9, nesterov=True)`,
  (p: string) => `optim.RMSprop(${p}, lr=args.lr, alpha=0.99)`,
];
const NOUNS = ['encoder', 'decoder', 'backbone', 'head', 'stem', 'block', 'proj', 'mixer', 'trunk', 'neck'];
const TASKS = ['mnist', 'cifar', 'imagenet', 'sentiment', 'tabular', 'speech', 'timeseries', 'segmentation'];

function cap(s: string): string {
  return s[0]!.toUpperCase() + s.slice(1);
}

function mlp(r: Rng, name: string): string {
  const n = r.int(2, 6);
  let d = r.pick([64, 128, 256, 512, 784]);
  const layers: string[] = [];
  for (let i = 0; i < n; i++) {
    const o = r.pick([32, 64, 128, 256, 512]);
    layers.push(`            nn.Linear(${d}, ${o}),`, `            ${r.pick(ACTS)},`);
    if (r.chance(0.4)) layers.push(`            nn.Dropout(p=${r.pick(['0.1', '0.2', '0.3', '0.5'])}),`);
    d = o;
  }
  return `class ${name}(nn.Module):
    """A ${n}-layer perceptron for ${r.pick(TASKS)} features."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.net = nn.Sequential(
${layers.join('\n')}
        )
        self.classifier = nn.Linear(${d}, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.flatten(x, 1)
        features = self.net(x)
        return self.classifier(features)
`;
}

function cnn(r: Rng, name: string): string {
  const n = r.int(2, 5);
  let c = r.pick([1, 3]);
  const convs: string[] = [];
  for (let i = 0; i < n; i++) {
    const o = r.pick([16, 32, 64, 128]);
    convs.push(
      `        self.conv${i} = nn.Conv2d(${c}, ${o}, kernel_size=${r.pick([3, 5])}, padding=${r.pick([1, 2])}, bias=False)`,
      `        self.bn${i} = nn.BatchNorm2d(${o})`,
    );
    c = o;
  }
  const fwd: string[] = [];
  for (let i = 0; i < n; i++) {
    fwd.push(`        x = ${r.pick(FACTS)}(self.bn${i}(self.conv${i}(x)))`);
    if (r.chance(0.5)) fwd.push(`        x = F.max_pool2d(x, 2)`);
  }
  return `class ${name}(nn.Module):
    def __init__(self, num_classes=10, dropout=${r.pick(['0.25', '0.5'])}):
        super(${name}, self).__init__()
${convs.join('\n')}
        self.pool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(${c}, num_classes)

    def forward(self, x):
${fwd.join('\n')}
        x = self.pool(x)
        x = torch.flatten(x, 1)
        x = self.dropout(x)
        return self.fc(x)
`;
}

function rnn(r: Rng, name: string): string {
  const cell = r.pick(['LSTM', 'GRU', 'RNN']);
  const h = r.pick([64, 128, 256]);
  return `class ${name}(nn.Module):
    def __init__(self, vocab_size, embed_dim=${r.pick([64, 128, 300])}, hidden=${h}, num_layers=${r.int(1, 3)}, num_classes=2):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
        self.rnn = nn.${cell}(embed_dim, hidden, num_layers=num_layers, batch_first=True, bidirectional=${r.pick(['True', 'False'])})
        out_dim = hidden * (2 if self.rnn.bidirectional else 1)
        self.norm = nn.LayerNorm(out_dim)
        self.head = nn.Linear(out_dim, num_classes)

    def forward(self, tokens, lengths=None):
        emb = self.embedding(tokens)
        if lengths is not None:
            emb = nn.utils.rnn.pack_padded_sequence(emb, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, _ = self.rnn(emb)
        if lengths is not None:
            out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True)
        pooled = out.mean(dim=1)
        return self.head(self.norm(pooled))
`;
}

function attn(r: Rng, name: string): string {
  const d = r.pick([128, 256, 512]);
  return `class ${name}(nn.Module):
    def __init__(self, dim=${d}, heads=${r.pick([4, 8])}, mlp_ratio=${r.pick([2, 4])}, drop=0.1):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, heads, dropout=drop, batch_first=True)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(
            nn.Linear(dim, dim * mlp_ratio),
            nn.GELU(),
            nn.Dropout(drop),
            nn.Linear(dim * mlp_ratio, dim),
        )

    def forward(self, x, mask=None):
        h = self.norm1(x)
        a, _ = self.attn(h, h, h, key_padding_mask=mask, need_weights=False)
        x = x + a
        x = x + self.mlp(self.norm2(x))
        return x
`;
}

function dataset(r: Rng, name: string): string {
  return `class ${name}(Dataset):
    """Reads ${r.pick(TASKS)} samples from a folder of .npy files."""

    def __init__(self, root, split="train", transform=None):
        self.root = os.path.join(root, split)
        self.files = sorted(f for f in os.listdir(self.root) if f.endswith(".npy"))
        self.labels = [int(f.split("_")[0]) for f in self.files]
        self.transform = transform

    def __len__(self):
        return len(self.files)

    def __getitem__(self, idx):
        x = np.load(os.path.join(self.root, self.files[idx])).astype(np.float32)
        x = torch.from_numpy(x)
        if self.transform is not None:
            x = self.transform(x)
        return x, self.labels[idx]
`;
}

function trainFn(r: Rng, i: number): string {
  const amp = r.chance(0.3);
  const clip = r.chance(0.4);
  const accum = r.chance(0.3);
  const crit = r.pick(['criterion', 'loss_fn']);
  const lines: string[] = [];
  lines.push(`def train_one_epoch_${i}(model, loader, optimizer, ${crit}, device, epoch, log_interval=${r.pick([10, 50, 100])}${amp ? ', scaler=None' : ''}${accum ? ', accum_steps=4' : ''}):`);
  lines.push(`    model.train()`, `    running_loss = 0.0`, `    correct = 0`, `    seen = 0`);
  if (accum) lines.push(`    optimizer.zero_grad(set_to_none=True)`);
  lines.push(`    for batch_idx, (inputs, targets) in enumerate(loader):`);
  lines.push(`        inputs, targets = inputs.to(device, non_blocking=True), targets.to(device, non_blocking=True)`);
  if (!accum) lines.push(`        optimizer.zero_grad()`);
  if (amp) {
    lines.push(`        with torch.autocast(device_type="cuda", dtype=torch.float16, enabled=scaler is not None):`);
    lines.push(`            outputs = model(inputs)`, `            loss = ${crit}(outputs, targets)`);
  } else {
    lines.push(`        outputs = model(inputs)`, `        loss = ${crit}(outputs, targets)`);
  }
  if (accum) lines.push(`        loss = loss / accum_steps`);
  if (amp) lines.push(`        if scaler is not None:`, `            scaler.scale(loss).backward()`, `        else:`, `            loss.backward()`);
  else lines.push(`        loss.backward()`);
  const step: string[] = [];
  if (clip) {
    if (amp) step.push(`if scaler is not None:`, `    scaler.unscale_(optimizer)`);
    step.push(`torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=${r.pick(['1.0', '5.0', '0.5'])})`);
  }
  if (amp) step.push(`if scaler is not None:`, `    scaler.step(optimizer)`, `    scaler.update()`, `else:`, `    optimizer.step()`);
  else step.push(`optimizer.step()`);
  if (accum) {
    lines.push(`        if (batch_idx + 1) % accum_steps == 0:`);
    for (const s of step) lines.push(`            ${s}`);
    lines.push(`            optimizer.zero_grad(set_to_none=True)`);
  } else for (const s of step) lines.push(`        ${s}`);
  lines.push(
    `        running_loss += loss.item() * inputs.size(0)`,
    `        correct += (outputs.argmax(dim=1) == targets).sum().item()`,
    `        seen += inputs.size(0)`,
    `        if batch_idx % log_interval == 0:`,
    `            print(f"epoch {epoch} [{batch_idx * len(inputs)}/{len(loader.dataset)}] loss={loss.item():.4f}")`,
    `    return running_loss / max(seen, 1), correct / max(seen, 1)`,
    ``,
  );
  return lines.join('\n');
}

function evalFn(r: Rng, i: number): string {
  const ctx = r.pick(['torch.no_grad()', 'torch.inference_mode()']);
  return `@torch.no_grad()
def evaluate_${i}(model, loader, device):
    model.eval()
    total_loss, correct, n = 0.0, 0, 0
    for inputs, targets in loader:
        inputs, targets = inputs.to(device), targets.to(device)
        logits = model(inputs)
        total_loss += F.cross_entropy(logits, targets, reduction="sum").item()
        correct += (logits.argmax(1) == targets).sum().item()
        n += targets.numel()
    return total_loss / n, correct / n


def predict_${i}(model, loader, device):
    model.eval()
    preds = []
    with ${ctx}:
        for batch in loader:
            x = batch[0].to(device)
            probs = torch.softmax(model(x), dim=-1)
            preds.append(probs.cpu())
    return torch.cat(preds)
`;
}

function utils(r: Rng, i: number): string {
  return `class AverageMeter${i}:
    """Tracks the running average of a scalar."""

    def __init__(self, name, fmt=":f"):
        self.name = name
        self.fmt = fmt
        self.reset()

    def reset(self):
        self.val = 0
        self.avg = 0
        self.sum = 0
        self.count = 0

    def update(self, val, n=1):
        self.val = val
        self.sum += val * n
        self.count += n
        self.avg = self.sum / self.count

    def __str__(self):
        fmtstr = "{name} {val" + self.fmt + "} ({avg" + self.fmt + "})"
        return fmtstr.format(**self.__dict__)


def save_checkpoint_${i}(state, is_best, directory="${r.pick(['checkpoints', 'runs', 'out'])}"):
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, "last.pt")
    torch.save(state, path)
    if is_best:
        shutil.copyfile(path, os.path.join(directory, "best.pt"))


def seed_everything_${i}(seed=${r.int(0, 9999)}):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)
`;
}

function mainFn(r: Rng, models: string[], nTrain: number, nEval: number): string {
  const model = r.pick(models);
  const t = r.int(0, nTrain - 1);
  const e = r.int(0, nEval - 1);
  const opt = r.pick(OPTS)('model.parameters()');
  const sched = r.pick([
    'torch.optim.lr_scheduler.StepLR(optimizer, step_size=30, gamma=0.1)',
    'torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)',
    'torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr, total_steps=args.epochs)',
  ]);
  return `def parse_args():
    parser = argparse.ArgumentParser(description="${cap(r.pick(TASKS))} training")
    parser.add_argument("--data", default="./data")
    parser.add_argument("--epochs", type=int, default=${r.int(5, 200)})
    parser.add_argument("--batch-size", type=int, default=${r.pick([32, 64, 128, 256])})
    parser.add_argument("--lr", type=float, default=${r.pick(['1e-3', '3e-4', '0.01', '0.1'])})
    parser.add_argument("--weight-decay", type=float, default=${r.pick(['0.0', '1e-4', '5e-4'])})
    parser.add_argument("--workers", type=int, default=${r.int(2, 8)})
    parser.add_argument("--seed", type=int, default=${r.int(0, 100)})
    return parser.parse_args()


def main():
    args = parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(args.seed)
    train_set = datasets.FakeData(size=1000, transform=transforms.ToTensor())
    val_set = datasets.FakeData(size=200, transform=transforms.ToTensor())
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True, num_workers=args.workers, pin_memory=True)
    val_loader = DataLoader(val_set, batch_size=args.batch_size, shuffle=False, num_workers=args.workers)
    model = ${model}().to(device)
    criterion = nn.CrossEntropyLoss(label_smoothing=${r.pick(['0.0', '0.1'])})
    optimizer = ${opt}
    scheduler = ${sched}
    best_acc = 0.0
    for epoch in range(1, args.epochs + 1):
        train_loss, train_acc = train_one_epoch_${t}(model, train_loader, optimizer, criterion, device, epoch)
        val_loss, val_acc = evaluate_${e}(model, val_loader, device)
        scheduler.step()
        is_best = val_acc > best_acc
        best_acc = max(val_acc, best_acc)
        print(f"epoch {epoch}: train {train_loss:.3f}/{train_acc:.3f} val {val_loss:.3f}/{val_acc:.3f}")
        save_checkpoint_0({"epoch": epoch, "state_dict": model.state_dict(), "best_acc": best_acc}, is_best)


if __name__ == "__main__":
    main()
`;
}

const HEADER = `import argparse
import os
import random
import shutil

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.utils.data import DataLoader, Dataset
from torchvision import datasets, transforms
`;

/** One training script of roughly `targetLines` lines. */
export function generateScript(seed: number, targetLines = 400): string {
  const r = new Rng(seed);
  const parts: string[] = [`"""Training script ${seed}: generated for Descent's lint benchmark."""`, HEADER];
  const models: string[] = [];
  let nTrain = 0;
  let nEval = 0;
  let nUtil = 0;
  let lines = 20;
  const add = (s: string) => {
    parts.push(s);
    lines += s.split('\n').length + 1;
  };
  add(utils(r, nUtil++));
  while (lines < targetLines - 40) {
    const k = r.int(0, 6);
    const name = `${cap(r.pick(NOUNS))}${cap(r.pick(TASKS))}${models.length}`;
    if (k === 0 || k === 1) {
      add(k === 0 ? mlp(r, name) : cnn(r, name));
      models.push(name);
    }
    else if (k === 2) add(rnn(r, name));
    else if (k === 3) add(attn(r, name));
    else if (k === 4) add(dataset(r, `${name}Dataset`));
    else if (k === 5) add(trainFn(r, nTrain++));
    else add(evalFn(r, nEval++));
  }
  if (models.length === 0) {
    add(mlp(r, 'Net'));
    models.push('Net');
  }
  if (nTrain === 0) add(trainFn(r, nTrain++));
  if (nEval === 0) add(evalFn(r, nEval++));
  add(mainFn(r, models, nTrain, nEval));
  return parts.join('\n\n');
}

/** Whole generated scripts from `firstSeed` on, cut to exactly `lines` lines: the 2,000-line file the re-lint benches edit. */
export function generateFile(firstSeed: number, lines = 2000): string {
  let text = '';
  for (let seed = firstSeed; text.split('\n').length < lines; seed++) text += (text ? '\n\n' : '') + generateScript(seed, 500);
  return text.split('\n').slice(0, lines).join('\n');
}
