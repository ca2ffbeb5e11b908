// The keras rules. Add a rule: import it here and list it below (the order is the order of findings).
import type { Rule } from '../../types';
import { KR001 } from './KR001-softmax-on-one-unit';
import { KR002 } from './KR002-loss-output-mismatch';
import { KR003 } from './KR003-from-logits-mismatch';
import { KR004 } from './KR004-dense-without-flatten';
import { KR005 } from './KR005-fit-without-shuffle';
import { KR006 } from './KR006-bounded-output-regression';
import { KR007 } from './KR007-tape-forward-without-training';
import { KR008 } from './KR008-steps-per-epoch-divided-by-batch-size';
import { KR009 } from './KR009-tf1-training-mode-flag';

export const kerasRules: readonly Rule[] = [KR001, KR002, KR003, KR004, KR005, KR006, KR007, KR008, KR009];
