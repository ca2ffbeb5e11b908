// Every rule, registered once. Add a rule: create rules/<group>/<ID>-<name>.ts exporting a `Rule`, import it here.
import type { Rule } from '../types';
import { AR001 } from './architecture/AR001-bias-before-batchnorm';
import { DT001 } from './data/DT001-train-loader-not-shuffled';
import { EV001 } from './evaluation/EV001-eval-without-eval-mode';
import { EV003 } from './evaluation/EV003-eval-without-no-grad';
import { HP001 } from './hyperparameters/HP001-implausible-learning-rate';
import { LS001 } from './loss/LS001-softmax-into-cross-entropy';
import { LS002 } from './loss/LS002-sigmoid-into-bce-with-logits';
import { LS003 } from './loss/LS003-nll-without-log-softmax';
import { TL001 } from './training-loop/TL001-missing-zero-grad';
import { TL002 } from './training-loop/TL002-zero-grad-once-before-loop';
import { TL003 } from './training-loop/TL003-zero-grad-between-backward-and-step';

export const allRules: readonly Rule[] = [TL001, TL002, TL003, EV001, EV003, LS001, LS002, LS003, DT001, HP001, AR001];

const byId = new Map(allRules.map((r) => [r.meta.id, r]));

export function ruleById(id: string): Rule | undefined {
  return byId.get(id);
}
