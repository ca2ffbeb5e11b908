// The training-loop rules. Add a rule: import it here and list it below (the order is the order of findings).
import type { Rule } from '../../types';
import { TL001 } from './TL001-missing-zero-grad';
import { TL002 } from './TL002-zero-grad-once-before-loop';
import { TL003 } from './TL003-zero-grad-between-backward-and-step';
import { TL004 } from './TL004-clip-after-step';
import { TL005 } from './TL005-scheduler-before-optimizer-step';
import { TL006 } from './TL006-backward-in-no-grad';
import { TL007 } from './TL007-loss-from-non-differentiable-ops';
import { TL008 } from './TL008-loss-accumulated-as-tensor';
import { TL009 } from './TL009-inplace-param-update-with-grad';
import { TL010 } from './TL010-update-on-held-out-data';
import { TL011 } from './TL011-zero-grad-set-to-none-false';
import { TL012 } from './TL012-method-not-called';
import { TL013 } from './TL013-optimizer-recreated-in-loop';
import { TL014 } from './TL014-layer-replaced-after-optimizer';
import { TL015 } from './TL015-best-state-not-copied';
import { TL016 } from './TL016-module-requires-grad-attribute';
import { TL017 } from './TL017-step-outside-batch-loop';
import { TL018 } from './TL018-step-before-backward';
import { TL019 } from './TL019-scaled-gradients-stepped-directly';
import { TL020 } from './TL020-zero-grad-defeats-accumulation';
import { TL021 } from './TL021-clip-without-unscale';
import { TL022 } from './TL022-model-not-reset-per-fold';
import { TL023 } from './TL023-td-target-not-detached';
import { TL024 } from './TL024-resume-start-epoch-ignored';
import { TL025 } from './TL025-lightning-step-returns-nothing';

export const trainingLoopRules: readonly Rule[] = [TL001, TL002, TL003, TL004, TL005, TL006, TL007, TL008, TL009, TL010, TL011, TL012, TL013, TL014, TL015, TL016, TL017, TL018, TL019, TL020, TL021, TL022, TL023, TL024, TL025];
