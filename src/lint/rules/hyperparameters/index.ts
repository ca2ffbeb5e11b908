// The hyperparameters rules. Add a rule: import it here and list it below (the order is the order of findings).
import type { Rule } from '../../types';
import { HP001 } from './HP001-implausible-learning-rate';
import { HP002 } from './HP002-fp16-adam-default-eps';
import { HP003 } from './HP003-epoch-scheduler-stepped-per-batch';
import { HP004 } from './HP004-dropout-rate-as-keep-probability';
import { HP005 } from './HP005-plateau-mode-min-on-score';
import { HP006 } from './HP006-step-scheduler-stepped-per-epoch';
import { HP007 } from './HP007-batchnorm-momentum-convention';

export const hyperparameterRules: readonly Rule[] = [HP001, HP002, HP003, HP004, HP005, HP006, HP007];
