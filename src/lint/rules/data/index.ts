// The data rules. Add a rule: import it here and list it below (the order is the order of findings).
import type { Rule } from '../../types';
import { DT001 } from './DT001-train-loader-not-shuffled';
import { DT002 } from './DT002-dataset-rng-in-workers';
import { DT003 } from './DT003-scaler-fit-before-split';
import { DT004 } from './DT004-loader-without-workers';
import { DT005 } from './DT005-cuda-without-pin-memory';
import { DT006 } from './DT006-unscaled-integer-images';
import { DT007 } from './DT007-scaler-fitted-on-held-out-data';
import { DT008 } from './DT008-augmented-validation-split';
import { DT009 } from './DT009-held-out-loader-drop-last';
import { DT010 } from './DT010-held-out-data-augmented';
import { DT011 } from './DT011-held-out-normalised-with-own-statistics';
import { DT012 } from './DT012-distributed-sampler-without-set-epoch';
import { DT013 } from './DT013-target-left-in-features';
import { DT014 } from './DT014-prediction-loader-shuffled';
import { DT015 } from './DT015-oversampled-before-split';
import { DT016 } from './DT016-overlapping-windows-split-randomly';
import { DT017 } from './DT017-images-scaled-twice';
import { DT018 } from './DT018-target-encoded-before-split';

export const dataRules: readonly Rule[] = [DT001, DT002, DT003, DT004, DT005, DT006, DT007, DT008, DT009, DT010, DT011, DT012, DT013, DT014, DT015, DT016, DT017, DT018];
