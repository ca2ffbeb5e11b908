// The loss rules. Add a rule: import it here and list it below (the order is the order of findings).
import type { Rule } from '../../types';
import { LS001 } from './LS001-softmax-into-cross-entropy';
import { LS002 } from './LS002-sigmoid-into-bce-with-logits';
import { LS003 } from './LS003-nll-without-log-softmax';

export const lossRules: readonly Rule[] = [LS001, LS002, LS003];
