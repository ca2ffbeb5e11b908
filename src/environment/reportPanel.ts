// Descent: Show Environment Report — the same facts as the Environment view, in a webview, with a sparkline of
// GPU utilisation.
import * as vscode from 'vscode';
import { SinglePanel } from '../common/webview/panelHost';
import type { EnvironmentReportToHost, EnvironmentReportToWebview } from '../protocol/environment';
import { runProblemAction } from './actions';
import type { EnvironmentService } from './environmentService';

export const ENVIRONMENT_REPORT_VIEW_TYPE = 'descent.environmentReport';

export function createEnvironmentReport(extensionUri: vscode.Uri, service: EnvironmentService) {
  const panel = new SinglePanel<EnvironmentReportToWebview, EnvironmentReportToHost>(extensionUri, {
    viewType: ENVIRONMENT_REPORT_VIEW_TYPE,
    title: 'Descent: Environment',
    app: 'environment',
    snapshot: () => ({ type: 'snapshot', snapshot: service.snapshot, history: service.gpuHistory() }),
    onMessage: (m) => {
      if (m.type === 'refresh') void service.refresh();
      else if (m.type === 'runAction') {
        // The webview names a problem and a button; the action itself comes from the host's own snapshot.
        const action = service.snapshot.problems.find((p) => p.code === m.problemCode)?.actions[m.actionIndex];
        if (action) void runProblemAction(action);
      }
    },
    onVisibilityChanged: (visible) => {
      service.setVisible(ENVIRONMENT_REPORT_VIEW_TYPE, visible);
      if (visible) void service.ensureLoaded();
    },
  });
  const subscriptions = vscode.Disposable.from(
    panel,
    service.onDidChange(() => panel.current?.sendSnapshot()),
    service.onDidReadGpus(({ reading, point }) => {
      if (point) panel.current?.post({ type: 'gpuReading', reading, point });
    }),
  );
  return { show: () => panel.show(), panel, dispose: () => subscriptions.dispose() };
}
