// Every rule, registered once, by group: each group folder's index.ts lists its rules (see ../README.md).
import type { Rule } from '../types';
import { trainingLoopRules } from './training-loop';
import { evaluationRules } from './evaluation';
import { lossRules } from './loss';
import { dataRules } from './data';
import { reproducibilityRules } from './reproducibility';
import { deviceRules } from './device';
import { architectureRules } from './architecture';
import { hyperparameterRules } from './hyperparameters';
import { deprecatedApiRules } from './deprecated-api';
import { kerasRules } from './keras';

export const allRules: readonly Rule[] = [
  ...trainingLoopRules,
  ...evaluationRules,
  ...lossRules,
  ...dataRules,
  ...reproducibilityRules,
  ...deviceRules,
  ...architectureRules,
  ...hyperparameterRules,
  ...deprecatedApiRules,
  ...kerasRules,
];

const byId = new Map(allRules.map((r) => [r.meta.id, r]));

export function ruleById(id: string): Rule | undefined {
  return byId.get(id);
}
