// The loss rules. Add a rule: import it here and list it below (the order is the order of findings).
import type { Rule } from '../../types';
import { LS001 } from './LS001-softmax-into-cross-entropy';
import { LS002 } from './LS002-sigmoid-into-bce-with-logits';
import { LS003 } from './LS003-nll-without-log-softmax';
import { LS004 } from './LS004-log-of-probabilities';
import { LS005 } from './LS005-wrong-target-kind';
import { LS006 } from './LS006-activation-on-final-logits';
import { LS007 } from './LS007-sigmoid-with-bce-loss';
import { LS008 } from './LS008-sum-reduction-with-mean-lr';
import { LS009 } from './LS009-output-target-broadcast';
import { LS010 } from './LS010-kl-term-wrong-sign';
import { LS011 } from './LS011-padded-targets-not-ignored';
import { LS012 } from './LS012-kl-div-input-not-log-probabilities';

export const lossRules: readonly Rule[] = [LS001, LS002, LS003, LS004, LS005, LS006, LS007, LS008, LS009, LS010, LS011, LS012];
