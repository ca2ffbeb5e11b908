// The architecture rules. Add a rule: import it here and list it below (the order is the order of findings).
import type { Rule } from '../../types';
import { AR001 } from './AR001-bias-before-batchnorm';

export const architectureRules: readonly Rule[] = [AR001];
