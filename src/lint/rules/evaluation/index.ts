// The evaluation rules. Add a rule: import it here and list it below (the order is the order of findings).
import type { Rule } from '../../types';
import { EV001 } from './EV001-eval-without-eval-mode';
import { EV003 } from './EV003-eval-without-no-grad';

export const evaluationRules: readonly Rule[] = [EV001, EV003];
