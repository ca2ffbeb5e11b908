// Messages between the extension host and the evaluation worker (dist/evaluateWorker.js).
import type { EvaluationProgress, EvaluationRequest, EvaluationResult } from '../types';

export type ToEvaluationWorker = { type: 'start'; request: EvaluationRequest } | { type: 'cancel' };

export type FromEvaluationWorker =
  | { type: 'progress'; progress: EvaluationProgress }
  | { type: 'done'; result: EvaluationResult }
  | { type: 'error'; message: string; userError: boolean; npzKey?: { role: 'x' | 'y'; keys: string[] } }
  | { type: 'cancelled' };
