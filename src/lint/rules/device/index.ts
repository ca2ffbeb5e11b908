// The device rules. Add a rule: import it here and list it below (the order is the order of findings).
import type { Rule } from '../../types';
import { DV001 } from './DV001-torch-load-without-weights-only';
import { DV002 } from './DV002-torch-load-without-map-location';
import { DV003 } from './DV003-hard-coded-cuda';
import { DV004 } from './DV004-optimizer-before-move';
import { DV005 } from './DV005-save-whole-module';
import { DV006 } from './DV006-load-state-dict-not-strict-unchecked';
import { DV007 } from './DV007-tensor-to-not-assigned';
import { DV008 } from './DV008-best-checkpoint-overwritten';

export const deviceRules: readonly Rule[] = [DV001, DV002, DV003, DV004, DV005, DV006, DV007, DV008];
