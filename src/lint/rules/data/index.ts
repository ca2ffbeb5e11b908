// The data rules. Add a rule: import it here and list it below (the order is the order of findings).
import type { Rule } from '../../types';
import { DT001 } from './DT001-train-loader-not-shuffled';

export const dataRules: readonly Rule[] = [DT001];
