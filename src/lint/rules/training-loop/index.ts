// The training-loop rules. Add a rule: import it here and list it below (the order is the order of findings).
import type { Rule } from '../../types';
import { TL001 } from './TL001-missing-zero-grad';
import { TL002 } from './TL002-zero-grad-once-before-loop';
import { TL003 } from './TL003-zero-grad-between-backward-and-step';

export const trainingLoopRules: readonly Rule[] = [TL001, TL002, TL003];
