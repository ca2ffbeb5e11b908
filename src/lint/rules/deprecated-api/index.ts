// The deprecated-api rules. Add a rule: import it here and list it below (the order is the order of findings).
import type { Rule } from '../../types';
import { API001 } from './API001-volatile-and-data-index';
import { API002 } from './API002-size-average-reduce';
import { API003 } from './API003-require-grad-typo';
import { API004 } from './API004-removed-torch-functions';

export const deprecatedApiRules: readonly Rule[] = [API001, API002, API003, API004];
