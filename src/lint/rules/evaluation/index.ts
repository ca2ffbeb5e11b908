// The evaluation rules. Add a rule: import it here and list it below (the order is the order of findings).
import type { Rule } from '../../types';
import { EV001 } from './EV001-eval-without-eval-mode';
import { EV002 } from './EV002-eval-in-loop-train-only-before';
import { EV003 } from './EV003-eval-without-no-grad';
import { EV004 } from './EV004-validation-is-training-data';
import { EV005 } from './EV005-selection-on-test-set';
import { EV006 } from './EV006-metric-on-logits';
import { EV007 } from './EV007-functional-dropout-always-on';
import { EV008 } from './EV008-no-grad-not-entered';
import { EV009 } from './EV009-argmax-without-dim';
import { EV010 } from './EV010-accuracy-over-batches';
import { EV011 } from './EV011-argmax-over-batch-dim';
import { EV012 } from './EV012-max-values-used-as-predictions';
import { EV013 } from './EV013-sample-count-after-batch-loop';
import { EV014 } from './EV014-metric-never-reset';
import { EV015 } from './EV015-ranking-metric-on-hard-labels';
import { EV016 } from './EV016-metric-from-last-batch';
import { EV017 } from './EV017-metric-arguments-swapped';

export const evaluationRules: readonly Rule[] = [EV001, EV002, EV003, EV004, EV005, EV006, EV007, EV008, EV009, EV010, EV011, EV012, EV013, EV014, EV015, EV016, EV017];
