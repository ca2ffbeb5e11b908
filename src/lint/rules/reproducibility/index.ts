// The reproducibility rules. Add a rule: import it here and list it below (the order is the order of findings).
import type { Rule } from '../../types';
import { RP001 } from './RP001-training-without-seed';
import { RP002 } from './RP002-cudnn-benchmark-nondeterministic';

export const reproducibilityRules: readonly Rule[] = [RP001, RP002];
