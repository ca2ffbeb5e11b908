// The reproducibility rules. Add a rule: import it here and list it below (the order is the order of findings).
import type { Rule } from '../../types';
import { RP001 } from './RP001-training-without-seed';
import { RP002 } from './RP002-cudnn-benchmark-nondeterministic';
import { RP003 } from './RP003-seed-reset-in-training-loop';

export const reproducibilityRules: readonly Rule[] = [RP001, RP002, RP003];
