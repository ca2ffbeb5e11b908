// The reproducibility rules. Add a rule: import it here and list it below (the order is the order of findings).
import type { Rule } from '../../types';

export const reproducibilityRules: readonly Rule[] = [];
