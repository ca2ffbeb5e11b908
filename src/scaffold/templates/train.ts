// train.py of a generated project: settings, seeding, device, loaders, the training and evaluation loops, early
// stopping, checkpoints, resume, Descent's run format, ONNX export. Only the chosen loss, optimizer and metrics.
import { configEntries, usesBatchNorm } from '../config';
import type { ScaffoldOptions } from '../options';
import { lines, type Line } from '../python';

type Kind = 'classify' | 'regress' | 'autoencode' | 'vae';

function kindOf(o: ScaffoldOptions): Kind {
  if (o.architecture === 'vae') return 'vae';
  if (o.task === 'autoencoding') return 'autoencode';
  if (o.task === 'regression') return 'regress';
  return 'classify';
}

function parseArgs(o: ScaffoldOptions): string {
  const entries = configEntries(o);
  const hasBool = entries.some((e) => e.type === 'bool');
  const flag = (key: string) => `--${key.replace(/_/g, '-')}`;
  return lines(
    hasBool &&
      lines(
        'def str_to_bool(text: str) -> bool:',
        '    if text.lower() in ("1", "true", "yes"):',
        '        return True',
        '    if text.lower() in ("0", "false", "no"):',
        '        return False',
        '    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")',
        '',
        '',
      ),
    'def parse_args() -> argparse.Namespace:',
    '    """Command-line options; each one given overrides the same setting in the config file."""',
    `    parser = argparse.ArgumentParser(description="Train ${o.name}. Settings come from config.json; options given here override them.")`,
    '    parser.add_argument("--config", default="config.json", help="settings file (default: config.json)")',
    '    parser.add_argument("--resume", metavar="CHECKPOINT", help="continue training from a checkpoint, e.g. checkpoints/last.pt")',
    ...entries.map((e) => `    parser.add_argument("${flag(e.key)}", type=${e.type === 'bool' ? 'str_to_bool' : e.type}, help=${JSON.stringify(e.help)})`),
    '    return parser.parse_args()',
    '',
    '',
    'def load_config(args: argparse.Namespace) -> dict:',
    '    """The settings of config.json, with the command-line overrides applied."""',
    '    with open(args.config, encoding="utf-8") as f:',
    '        config = json.load(f)',
    '    for key, value in vars(args).items():',
    '        if value is not None and key not in ("config", "resume"):',
    '            config[key] = value',
    '    return config',
  );
}

const SEED_AND_DEVICE = lines(
  'def set_seed(seed: int) -> None:',
  '    """Seeds every random number generator in play, so that runs can be repeated."""',
  '    random.seed(seed)',
  '    np.random.seed(seed)',
  '    torch.manual_seed(seed)  # also seeds CUDA',
  '',
  '',
  'def select_device(name: str) -> torch.device:',
  '    """The device to train on: a CUDA GPU, else Apple\'s MPS, else the CPU (unless the config names one)."""',
  '    if name != "auto":',
  '        return torch.device(name)',
  '    if torch.cuda.is_available():',
  '        return torch.device("cuda")',
  '    if torch.backends.mps.is_available():',
  '        return torch.device("mps")',
  '    return torch.device("cpu")',
);

function criterionLine(o: ScaffoldOptions): string {
  switch (o.loss) {
    case 'cross-entropy':
      return '    criterion = nn.CrossEntropyLoss()  # expects raw scores (logits) and class indices';
    case 'bce-with-logits':
      return o.task === 'autoencoding'
        ? '    criterion = nn.BCEWithLogitsLoss()  # applies the sigmoid itself: the model outputs logits'
        : '    criterion = nn.BCEWithLogitsLoss()  # one yes/no question per class; applies the sigmoid itself';
    case 'mse':
      return '    criterion = nn.MSELoss()';
    case 'l1':
      return '    criterion = nn.L1Loss()  # mean absolute error';
    case 'huber':
      return '    criterion = nn.HuberLoss(delta=1.0)  # squared below delta, linear above';
    case 'elbo':
      return '    criterion = elbo_loss';
  }
}

function optimizerLine(o: ScaffoldOptions): string {
  const params = o.architecture === 'transfer' ? 'trainable' : 'model.parameters()';
  const wd = 'weight_decay=config["weight_decay"]';
  switch (o.optimizer) {
    case 'sgd':
      return `torch.optim.SGD(${params}, lr=config["lr"], ${wd})`;
    case 'sgd-momentum':
      return `torch.optim.SGD(${params}, lr=config["lr"], momentum=config["momentum"], ${wd})`;
    case 'rmsprop':
      return `torch.optim.RMSprop(${params}, lr=config["lr"], ${wd})`;
    case 'adam':
      return `torch.optim.Adam(${params}, lr=config["lr"], ${wd})`;
    case 'adamw':
      return `torch.optim.AdamW(${params}, lr=config["lr"], ${wd})`;
    case 'adagrad':
      return `torch.optim.Adagrad(${params}, lr=config["lr"], ${wd})`;
    case 'adadelta':
      return `torch.optim.Adadelta(${params}, lr=config["lr"], ${wd})  # 1.0 is Adadelta's usual scale`;
  }
}

/** The metric names (as logged) and Python expressions of the classification metrics chosen. */
function classificationMetricKeys(o: ScaffoldOptions): string[] {
  const keys: string[] = [];
  for (const m of o.metrics) {
    if (m === 'accuracy') keys.push('acc');
    else if (m === 'precision' || m === 'recall' || m === 'f1') keys.push(m);
  }
  return keys;
}

function helpers(o: ScaffoldOptions, kind: Kind): string {
  const out: string[] = [];
  if (o.regularization.l1 > 0) {
    out.push(
      lines(
        'def l1_penalty(model: nn.Module) -> torch.Tensor:',
        '    """The sum of absolute weights (biases and normalisation parameters are left alone)."""',
        '    return sum(p.abs().sum() for p in model.parameters() if p.dim() > 1)',
      ),
    );
  }
  if (kind === 'vae') {
    out.push(
      lines(
        'def elbo_loss(logits: torch.Tensor, inputs: torch.Tensor, mean: torch.Tensor, log_var: torch.Tensor) -> tuple:',
        '    """The negative ELBO per example: reconstruction error + KL divergence from the standard Gaussian prior.',
        '',
        '    Returns (loss, reconstruction, kl), each averaged over the batch and summed over an example\'s values.',
        '    """',
        '    per_value = F.binary_cross_entropy_with_logits(logits, inputs, reduction="none")',
        '    reconstruction = per_value.flatten(1).sum(dim=1).mean()',
        '    kl = (-0.5 * (1 + log_var - mean.pow(2) - log_var.exp()).sum(dim=1)).mean()',
        '    return reconstruction + kl, reconstruction, kl',
      ),
    );
  }
  if (kind === 'classify') {
    const keys = classificationMetricKeys(o);
    const needsPR = keys.some((k) => k !== 'acc');
    out.push(
      lines(
        'def classification_metrics(confusion: torch.Tensor) -> dict:',
        `    """${keys.includes('acc') ? 'Accuracy' : 'Metrics'}${needsPR ? ' and precision, recall, F1 averaged over classes (macro)' : ''} from a confusion matrix.`,
        '',
        '    confusion[i][j] counts the examples of true class i predicted as class j.',
        '    """',
        '    counts = confusion.double()',
        '    correct = counts.diag()',
        needsPR && '    precision = correct / counts.sum(dim=0).clamp(min=1)  # of those predicted as a class, how many are',
        needsPR && '    recall = correct / counts.sum(dim=1).clamp(min=1)  # of those in a class, how many were found',
        keys.includes('f1') && '    f1 = 2 * precision * recall / (precision + recall).clamp(min=1e-12)',
        '    return {',
        keys.includes('acc') && '        "acc": (correct.sum() / counts.sum().clamp(min=1)).item(),',
        keys.includes('precision') && '        "precision": precision.mean().item(),',
        keys.includes('recall') && '        "recall": recall.mean().item(),',
        keys.includes('f1') && '        "f1": f1.mean().item(),',
        '    }',
      ),
    );
  }
  return out.join('\n\n\n');
}

function trainOneEpoch(o: ScaffoldOptions, kind: Kind): string {
  const l1 = o.regularization.l1 > 0;
  const bceClasses = kind === 'classify' && o.loss === 'bce-with-logits';
  const loopVars = kind === 'autoencode' || kind === 'vae' ? 'inputs, _' : 'inputs, targets';
  let forward: Line[];
  switch (kind) {
    case 'classify':
      forward = [
        '        outputs = model(inputs)',
        bceClasses
          ? '        loss = criterion(outputs, F.one_hot(targets, outputs.shape[1]).float())'
          : '        loss = criterion(outputs, targets)',
      ];
      break;
    case 'regress':
      forward = ['        outputs = model(inputs)', '        loss = criterion(outputs, targets)'];
      break;
    case 'autoencode':
      forward = ['        outputs = model(inputs)', '        loss = criterion(outputs, inputs)  # the target is the input itself'];
      break;
    case 'vae':
      forward = ['        logits, mean, log_var = model(inputs)', '        loss, _, _ = criterion(logits, inputs, mean, log_var)'];
      break;
  }
  return lines(
    `def train_one_epoch(model, loader, criterion, optimizer, device, epoch: int, step: int, config: dict) -> tuple:`,
    `    """One pass over the shuffled training data. Returns ${kind === 'classify' ? 'the mean loss, the accuracy' : 'the mean loss'} and the step count."""`,
    '    model.train()  # dropout on, batch norm uses and updates batch statistics',
    '    total_loss, count = 0.0, 0',
    kind === 'classify' && '    correct = 0',
    `    for ${loopVars} in loader:`,
    kind === 'autoencode' || kind === 'vae' ? '        inputs = inputs.to(device)' : '        inputs, targets = inputs.to(device), targets.to(device)',
    '        optimizer.zero_grad()  # gradients add up otherwise',
    ...forward,
    l1 && '        loss = loss + config["l1"] * l1_penalty(model)',
    '        loss.backward()',
    '        optimizer.step()',
    '        step += 1',
    '        total_loss += loss.item() * len(inputs)  # .item(): a number, not a tensor that keeps the graph alive',
    '        count += len(inputs)',
    kind === 'classify' && '        correct += (outputs.argmax(dim=1) == targets).sum().item()',
    '        if step % config["log_every"] == 0:',
    '            log.metrics(step=step, epoch=epoch, split="train", batch_loss=loss.item())',
    kind === 'classify' ? '    return total_loss / count, correct / count, step' : '    return total_loss / count, step',
  );
}

function evaluate(o: ScaffoldOptions, kind: Kind): string {
  const bceClasses = kind === 'classify' && o.loss === 'bce-with-logits';
  const head = (sig: string, doc: string) => [sig, `    """${doc}"""`, '    model.eval()  # dropout off, batch norm uses its running statistics', '    total_loss, count = 0.0, 0'];
  switch (kind) {
    case 'classify':
      return lines(
        ...head(
          'def evaluate(model, loader, criterion, device, num_classes: int) -> tuple:',
          'The mean loss and the confusion matrix on held-out data (no dropout, no gradients).',
        ),
        '    confusion = torch.zeros(num_classes, num_classes, dtype=torch.long)',
        '    with torch.no_grad():  # no graph to build: faster, and less memory',
        '        for inputs, targets in loader:',
        '            inputs, targets = inputs.to(device), targets.to(device)',
        '            outputs = model(inputs)',
        bceClasses
          ? '            total_loss += criterion(outputs, F.one_hot(targets, num_classes).float()).item() * len(inputs)'
          : '            total_loss += criterion(outputs, targets).item() * len(inputs)',
        '            count += len(inputs)',
        '            predictions = outputs.argmax(dim=1)',
        '            pairs = (targets * num_classes + predictions).cpu()',
        '            confusion += torch.bincount(pairs, minlength=num_classes * num_classes).view(num_classes, num_classes)',
        '    return total_loss / count, confusion',
      );
    case 'regress':
      return lines(
        ...head(
          'def evaluate(model, loader, criterion, device, target_std: float) -> tuple:',
          'The mean loss, and the MAE and RMSE in the target\'s own units, on held-out data.',
        ),
        '    absolute, squared = 0.0, 0.0',
        '    with torch.no_grad():  # no graph to build: faster, and less memory',
        '        for inputs, targets in loader:',
        '            inputs, targets = inputs.to(device), targets.to(device)',
        '            outputs = model(inputs)',
        '            total_loss += criterion(outputs, targets).item() * len(inputs)',
        '            count += len(inputs)',
        '            errors = (outputs - targets) * target_std  # back to the target\'s units',
        '            absolute += errors.abs().sum().item()',
        '            squared += errors.pow(2).sum().item()',
        '    return total_loss / count, absolute / count, math.sqrt(squared / count)',
      );
    case 'autoencode':
      return lines(
        ...head('def evaluate(model, loader, criterion, device) -> float:', 'The mean reconstruction loss on held-out data.'),
        '    with torch.no_grad():  # no graph to build: faster, and less memory',
        '        for inputs, _ in loader:',
        '            inputs = inputs.to(device)',
        '            outputs = model(inputs)',
        '            total_loss += criterion(outputs, inputs).item() * len(inputs)',
        '            count += len(inputs)',
        '    return total_loss / count',
      );
    case 'vae':
      return lines(
        ...head('def evaluate(model, loader, criterion, device) -> tuple:', 'The mean negative ELBO, reconstruction error and KL divergence on held-out data.'),
        '    reconstruction_sum, kl_sum = 0.0, 0.0',
        '    with torch.no_grad():  # no graph to build: faster, and less memory',
        '        for inputs, _ in loader:',
        '            inputs = inputs.to(device)',
        '            logits, mean, log_var = model(inputs)',
        '            loss, reconstruction, kl = criterion(logits, inputs, mean, log_var)',
        '            total_loss += loss.item() * len(inputs)',
        '            reconstruction_sum += reconstruction.item() * len(inputs)',
        '            kl_sum += kl.item() * len(inputs)',
        '            count += len(inputs)',
        '    return total_loss / count, reconstruction_sum / count, kl_sum / count',
      );
  }
}

const SAVE_TRAJECTORY = lines(
  'def save_trajectory_checkpoint(model: nn.Module, folder: str, name: str, step: int) -> None:',
  '    """Saves the weights alone (no optimizer state) as one point of the training path.',
  '',
  '    Descent\'s loss landscape projects these files (epoch_000_init.pt, epoch_001.pt, ...) onto the plane of their two',
  '    main directions (PCA) and draws the path the training took. A course-sized model\'s weights take kilobytes to a',
  '    few megabytes per epoch; set "trajectory_checkpoints": false in config.json to skip them.',
  '    """',
  '    path = os.path.join(folder, name)',
  '    torch.save({"model": model.state_dict()}, path)',
  '    log.checkpoint(path, step=step)',
);

const EXPORT_ONNX = lines(
  'def export_onnx(model: nn.Module, example: torch.Tensor, path: str) -> None:',
  '    """Saves the model as ONNX (for Descent\'s evaluation panel, ONNX Runtime, other tools). Needs onnx and onnxscript."""',
  '    model.eval()',
  '    try:',
  '        # One file, any batch size: dim 0 of the one input is dynamic. (Models over 2 GB need external_data=True.)',
  '        torch.onnx.export(model, (example,), path, input_names=["input"], dynamic_shapes=({0: "batch"},), external_data=False)',
  '    except ImportError as error:',
  '        print(f"Skipped the ONNX export ({error}). To export, install the exporter: pip install onnx onnxscript")',
  '        return',
  '    except Exception as error:  # an operator the exporter cannot handle: the trained checkpoint is still there',
  '        print(f"Skipped the ONNX export: {error}")',
  '        return',
  '    print(f"Exported the best model to {path}")',
);

/** Lines of main() that evaluate one split and log it; `split` is "val" or "test". */
function evaluateAndLog(o: ScaffoldOptions, kind: Kind, split: 'val' | 'test', loader: string, withEpoch: boolean): Line[] {
  const at = withEpoch ? 'step=step, epoch=epoch' : 'step=step';
  const pad = '        ';
  switch (kind) {
    case 'classify':
      return [
        `${pad}${split}_loss, confusion = evaluate(model, ${loader}, criterion, device, len(class_names))`,
        `${pad}${split}_metrics = classification_metrics(confusion)`,
        `${pad}log.metrics(${at}, split="${split}", loss=${split}_loss, **${split}_metrics)`,
        `${pad}log.confusion(class_names, confusion.tolist(), split="${split}", ${withEpoch ? 'epoch=epoch, ' : ''}step=step)`,
      ];
    case 'regress':
      return [
        `${pad}${split}_loss, ${split}_mae, ${split}_rmse = evaluate(model, ${loader}, criterion, device, info["target_std"])`,
        `${pad}log.metrics(${at}, split="${split}", loss=${split}_loss${o.metrics.includes('mae') ? `, mae=${split}_mae` : ''}${o.metrics.includes('rmse') ? `, rmse=${split}_rmse` : ''})`,
      ];
    case 'autoencode':
      return [`${pad}${split}_loss = evaluate(model, ${loader}, criterion, device)`, `${pad}log.metrics(${at}, split="${split}", loss=${split}_loss)`];
    case 'vae':
      return [
        `${pad}${split}_loss, ${split}_reconstruction, ${split}_kl = evaluate(model, ${loader}, criterion, device)`,
        `${pad}log.metrics(${at}, split="${split}", loss=${split}_loss, elbo=-${split}_loss, reconstruction=${split}_reconstruction, kl=${split}_kl)`,
      ];
  }
}

function progressLine(o: ScaffoldOptions, kind: Kind): string {
  const base = 'epoch {epoch + 1}/{config[\'epochs\']}: train loss {train_loss:.4f}, val loss {val_loss:.4f}';
  switch (kind) {
    case 'classify': {
      const keys = classificationMetricKeys(o);
      const extra = keys.map((k) => `, val ${k} {val_metrics['${k}']:.3f}`).join('');
      return `        print(f"${base}, train acc {train_acc:.3f}${extra}")`;
    }
    case 'regress':
      return `        print(f"${base}, val MAE {val_mae:.4g}, val RMSE {val_rmse:.4g}")`;
    case 'autoencode':
      return `        print(f"${base}")`;
    case 'vae':
      return `        print(f"${base}, val KL {val_kl:.3f}")`;
  }
}

export function renderTrain(o: ScaffoldOptions): string {
  const kind = kindOf(o);
  const usesF = kind === 'vae' || (kind === 'classify' && o.loss === 'bce-with-logits');
  const hasTestAlways = o.data.kind === 'torchvision' || ((o.data.kind === 'csv' || o.data.kind === 'npz' || o.data.kind === 'image-folder') && o.data.testPath !== undefined);
  const hasTestNever = !hasTestAlways;
  const trainCall =
    kind === 'classify'
      ? '        train_loss, train_acc, step = train_one_epoch(model, train_loader, criterion, optimizer, device, epoch, step, config)'
      : '        train_loss, step = train_one_epoch(model, train_loader, criterion, optimizer, device, epoch, step, config)';
  const trainLog = kind === 'classify' ? '        log.metrics(step=step, epoch=epoch, split="train", loss=train_loss, acc=train_acc)' : '        log.metrics(step=step, epoch=epoch, split="train", loss=train_loss)';

  const doc = lines(
    `"""Trains ${o.name}: ${o.task.replace(/-/g, ' ')} with ${o.architecture === 'transfer' ? 'a ResNet-18' : 'the model in model.py'}, on the data of data.py.`,
    '',
    '    python train.py                              # settings from config.json',
    '    python train.py --epochs 5 --lr 0.0003       # any setting can be overridden',
    '    python train.py --resume checkpoints/last.pt  # continue where a run stopped',
    '',
    'The best model (lowest validation loss) is saved to checkpoints/best.pt and, at the end, exported to ONNX.',
    'Metrics go to Descent\'s run format when Descent launches the script (DESCENT_RUN_DIR); otherwise only to the screen.',
    '"""',
  );
  const imports = lines(
    'import argparse',
    'import json',
    'import math',
    'import os',
    'import random',
    '',
    'import numpy as np',
    'import torch',
    'import torch.nn as nn',
    usesF && 'import torch.nn.functional as F',
    'from torch.utils.data import DataLoader',
    '',
    'from data import load_data',
    'from model import build_model',
    '',
    'try:',
    '    from descent import log  # Descent\'s logger, on the path when Descent launches training',
    'except ImportError:',
    '    import descent_log as log  # the copy in this folder: same files under Descent, silent without it',
  );

  const resume = lines(
    '    start_epoch, step, best_val_loss, bad_epochs = 0, 0, math.inf, 0',
    '    if args.resume:',
    '        checkpoint = torch.load(args.resume, map_location=device, weights_only=True)',
    '        model.load_state_dict(checkpoint["model"])',
    '        optimizer.load_state_dict(checkpoint["optimizer"])',
    '        start_epoch, step = checkpoint["epoch"] + 1, checkpoint["step"]',
    '        best_val_loss, bad_epochs = checkpoint["best_val_loss"], checkpoint["bad_epochs"]',
    '        print(f"Resumed from {args.resume} after epoch {start_epoch}")',
  );

  const main = lines(
    'def main() -> None:',
    '    args = parse_args()',
    '    config = load_config(args)',
    '    set_seed(config["seed"])',
    '    device = select_device(config["device"])',
    '    print(f"Training on {device}")',
    '',
    '    train_set, val_set, test_set, info = load_data(config)',
    kind === 'classify' && '    class_names = info["class_names"]',
    '    pin_memory = device.type == "cuda"  # page-locked memory speeds up copies to the GPU',
    '    # Shuffle the training data every epoch; held-out data is only measured, so its order does not matter.',
    ...(usesBatchNorm(o) || o.architecture === 'transfer'
      ? [
          '    # Batch norm cannot normalise a batch of one example, so a last, incomplete batch is dropped (shuffling',
          '    # puts those examples in other batches next epoch).',
          '    drop_last = len(train_set) > config["batch_size"]',
          '    train_loader = DataLoader(',
          '        train_set, batch_size=config["batch_size"], shuffle=True, drop_last=drop_last, num_workers=config["num_workers"], pin_memory=pin_memory',
          '    )',
        ]
      : ['    train_loader = DataLoader(train_set, batch_size=config["batch_size"], shuffle=True, num_workers=config["num_workers"], pin_memory=pin_memory)']),
    '    val_loader = DataLoader(val_set, batch_size=config["batch_size"], num_workers=config["num_workers"], pin_memory=pin_memory)',
    '',
    '    model = build_model(config, info).to(device)  # move the model before creating the optimizer',
    o.architecture === 'transfer' && '    trainable = [p for p in model.parameters() if p.requires_grad]  # only the new head when frozen',
    criterionLine(o),
    `    optimizer = ${optimizerLine(o)}`,
    '    log.hparams(config)',
    '',
    resume,
    '',
    '    os.makedirs(config["checkpoint_dir"], exist_ok=True)',
    '    best_path = os.path.join(config["checkpoint_dir"], "best.pt")',
    '    last_path = os.path.join(config["checkpoint_dir"], "last.pt")',
    '    if config["trajectory_checkpoints"] and start_epoch == 0:',
    '        save_trajectory_checkpoint(model, config["checkpoint_dir"], "epoch_000_init.pt", step)  # the starting point',
    '    for epoch in range(start_epoch, config["epochs"]):',
    trainCall,
    trainLog,
    ...evaluateAndLog(o, kind, 'val', 'val_loader', true),
    progressLine(o, kind),
    '',
    '        # Keep the model with the lowest validation loss; stop when it has not improved for `patience` epochs.',
    '        improved = val_loss < best_val_loss',
    '        if improved:',
    '            best_val_loss, bad_epochs = val_loss, 0',
    '        else:',
    '            bad_epochs += 1',
    '        state = {',
    '            "model": model.state_dict(),',
    '            "optimizer": optimizer.state_dict(),',
    '            "epoch": epoch,',
    '            "step": step,',
    '            "best_val_loss": best_val_loss,',
    '            "bad_epochs": bad_epochs,',
    '        }',
    '        if config["trajectory_checkpoints"]:',
    '            save_trajectory_checkpoint(model, config["checkpoint_dir"], f"epoch_{epoch + 1:03d}.pt", step)',
    '        torch.save(state, last_path)',
    '        # Logged after the weights-only file, so "resume from the last checkpoint" finds a full training state.',
    '        log.checkpoint(last_path, step=step)',
    '        if improved:',
    '            torch.save(state, best_path)',
    '            log.checkpoint(best_path, step=step, metric="val_loss", value=val_loss)',
    '        if config["patience"] and bad_epochs >= config["patience"]:',
    '            print(f"Early stopping: no better validation loss for {bad_epochs} epochs")',
    '            break',
    '',
    '    # From here on, the best model rather than the last one.',
    '    model.load_state_dict(torch.load(best_path, map_location=device, weights_only=True)["model"])',
    hasTestNever ? false : '    if test_set is not None:',
    hasTestNever ? false : '        # The test set is used once, at the end, so it never influenced a choice made during training.',
    hasTestNever ? false : '        test_loader = DataLoader(test_set, batch_size=config["batch_size"], num_workers=config["num_workers"])',
    ...(hasTestNever ? [] : evaluateAndLog(o, kind, 'test', 'test_loader', false)),
    hasTestNever ? false : '        print(f"test loss {test_loss:.4f}")',
    '    example = next(iter(val_loader))[0][:1]',
    '    export_onnx(model.cpu(), example, config["onnx_path"])',
    '    log.finish("finished")',
  );

  return lines(
    doc,
    '',
    imports,
    '',
    '',
    parseArgs(o),
    '',
    '',
    SEED_AND_DEVICE,
    '',
    '',
    helpers(o, kind),
    '',
    '',
    trainOneEpoch(o, kind),
    '',
    '',
    evaluate(o, kind),
    '',
    '',
    SAVE_TRAJECTORY,
    '',
    '',
    EXPORT_ONNX,
    '',
    '',
    main,
    '',
    '',
    'if __name__ == "__main__":',
    '    main()',
    '',
  );
}
