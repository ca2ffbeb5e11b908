// The status-bar item of the active run: the most recent running run in the workspace, with its progress, loss and
// ETA; a click opens its curves. Hidden while no run is running.
import * as vscode from 'vscode';
import type { RunStore } from '../store/runStore';
import { activeRun, activeRunText } from './activeRun';
import { runProgress } from './progress';
import { runTooltip } from './runsTree';

const TICK_MS = 5000;
const THROTTLE_MS = 1000;

export class RunStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('descent.activeRun', vscode.StatusBarAlignment.Left, 20);
  private readonly subscription: { dispose(): void };
  private readonly ticker: ReturnType<typeof setInterval>;
  private pending: ReturnType<typeof setTimeout> | undefined;
  /** The text shown, or undefined when hidden (tests). */
  text: string | undefined;
  key: string | undefined;

  constructor(private readonly store: RunStore) {
    this.item.name = 'Descent: active run';
    this.subscription = store.onDidChange(() => {
      if (this.pending === undefined) this.pending = setTimeout(() => this.update(), THROTTLE_MS);
    });
    this.ticker = setInterval(() => this.update(), TICK_MS);
    this.ticker.unref?.();
    this.update();
  }

  update(): void {
    if (this.pending !== undefined) clearTimeout(this.pending);
    this.pending = undefined;
    const run = activeRun(this.store.list());
    if (!run) {
      this.text = undefined;
      this.key = undefined;
      this.item.hide();
      return;
    }
    const s = run.summary();
    const progress = runProgress(s.info?.hyperparameters, run.series, true);
    this.text = activeRunText(s, progress);
    this.key = run.key;
    this.item.text = this.text;
    this.item.tooltip = runTooltip(s, 'Click to show its training curves.');
    this.item.command = { command: 'descent.showTrainingCurves', title: 'Show Training Curves', arguments: [run.key] };
    this.item.show();
  }

  dispose(): void {
    if (this.pending !== undefined) clearTimeout(this.pending);
    clearInterval(this.ticker);
    this.subscription.dispose();
    this.item.dispose();
  }
}
