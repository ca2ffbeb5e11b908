// The architecture rules. Add a rule: import it here and list it below (the order is the order of findings).
import type { Rule } from '../../types';
import { AR001 } from './AR001-bias-before-batchnorm';
import { AR002 } from './AR002-dropout-before-batchnorm';
import { AR003 } from './AR003-activation-after-output-layer';
import { AR004 } from './AR004-stacked-linear-layers';
import { AR005 } from './AR005-explicit-forward-call';
import { AR006 } from './AR006-softmax-without-dim';
import { AR007 } from './AR007-constant-weight-init';
import { AR008 } from './AR008-rnn-output-indexed-batch-first';
import { AR009 } from './AR009-modules-in-plain-list';
import { AR010 } from './AR010-attention-mask-filled-with-zero';
import { AR011 } from './AR011-padding-mask-inverted';
import { AR012 } from './AR012-layer-created-in-forward';
import { AR013 } from './AR013-axes-reordered-by-view';

export const architectureRules: readonly Rule[] = [AR001, AR002, AR003, AR004, AR005, AR006, AR007, AR008, AR009, AR010, AR011, AR012, AR013];
