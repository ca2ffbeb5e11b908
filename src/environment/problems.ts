// Turns what the probe and nvidia-smi said into problems, each with what to do next. Pure and ordered: errors
// first, then warnings, then information.
import { compareVersions, isParseableVersion } from '../common/version';
import type { GpuReading, InterpreterChoice, Problem, ProbeState } from '../protocol/environment';

export interface DiagnoseInputs {
  trusted: boolean;
  interpreter: InterpreterChoice | null;
  probe: ProbeState;
  gpus: GpuReading;
  minimumTorchVersion: string;
}

/** Oldest Python that current PyTorch releases support (PyTorch 2.5+ needs 3.9). */
export const MINIMUM_PYTHON = '3.9';

const SELECT_INTERPRETER = { title: 'Select Interpreter', command: 'descent.selectInterpreter' };
const OPEN_SETTING = { title: 'Open Setting', command: 'workbench.action.openSettings', args: ['descent.pythonPath'] };
const INSTALL_GUIDE = { title: 'PyTorch Install Guide', command: 'vscode.open', args: ['https://pytorch.org/get-started/locally/'] };

const severityRank = { error: 0, warning: 1, info: 2 } as const;

export function diagnose(i: DiagnoseInputs): Problem[] {
  const out: Problem[] = [];
  if (!i.trusted) {
    out.push({
      code: 'untrusted',
      severity: 'info',
      message: 'This workspace is not trusted, so Descent runs nothing here: no Python, no nvidia-smi, no training. Trust the workspace to check the environment.',
      actions: [{ title: 'Manage Workspace Trust', command: 'workbench.trust.manage' }],
    });
    return out;
  }

  const p = i.probe;
  if (p.status === 'no-interpreter') {
    out.push({ code: 'no-python', severity: 'error', message: p.message, actions: [SELECT_INTERPRETER, OPEN_SETTING] });
  } else if (p.status === 'failed') {
    out.push({
      code: 'probe-failed',
      severity: 'error',
      message: `Could not run Python at ${i.interpreter?.path ?? '(unknown)'}: ${p.message}. Select a working interpreter.`,
      actions: [SELECT_INTERPRETER, OPEN_SETTING],
    });
  } else if (p.status === 'ok') {
    const { python, torch, torchError } = p.report;
    const where = python.executable || i.interpreter?.path || 'this interpreter';
    if (isParseableVersion(python.version) && compareVersions(python.version, MINIMUM_PYTHON) < 0) {
      out.push({
        code: 'python-too-old',
        severity: 'warning',
        message: `Python ${python.version} is too old for current PyTorch releases (they need ${MINIMUM_PYTHON} or newer). Select a newer interpreter.`,
        actions: [SELECT_INTERPRETER],
      });
    }
    if (torch === null) {
      const missing = !torchError || /No module named ['"]?torch['"]?/.test(torchError) || /skipped/.test(torchError);
      out.push(
        missing
          ? {
              code: 'torch-missing',
              severity: 'error',
              message: `PyTorch is not installed in ${where}. Install it into this interpreter, or select one that has it.`,
              actions: [{ title: 'Install PyTorch', command: 'descent.installTorch' }, SELECT_INTERPRETER],
            }
          : {
              code: 'torch-broken',
              severity: 'error',
              message: `PyTorch is installed in ${where} but fails to import: ${torchError}. Reinstall it.`,
              actions: [{ title: 'Reinstall PyTorch', command: 'descent.installTorch', args: ['reinstall'] }, INSTALL_GUIDE],
            },
      );
    } else {
      if (isParseableVersion(torch.version) && compareVersions(torch.version, i.minimumTorchVersion) < 0) {
        out.push({
          code: 'torch-too-old',
          severity: 'warning',
          message: `PyTorch ${torch.version} is older than ${i.minimumTorchVersion}, which Descent's helpers need (torch.func). Upgrade it.`,
          actions: [{ title: 'Upgrade PyTorch', command: 'descent.installTorch', args: ['upgrade'] }],
        });
      }
      const gpuCount = i.gpus.status === 'ok' ? i.gpus.gpus.length : 0;
      const gpuWord = `${gpuCount} NVIDIA GPU${gpuCount === 1 ? '' : 's'}`;
      if (torch.cudaBuild && !torch.cudaAvailable) {
        if (gpuCount === 0) {
          const smi = i.gpus.message ? ` (${i.gpus.message})` : '';
          out.push({
            code: 'cuda-no-driver',
            severity: 'warning',
            message: `This PyTorch is built for CUDA ${torch.cudaBuild}, but no working NVIDIA driver was found${smi}. Training will run on the CPU. Install the NVIDIA driver, or ignore this on a machine without a GPU.`,
            actions: [{ title: 'NVIDIA Drivers', command: 'vscode.open', args: ['https://www.nvidia.com/Download/index.aspx'] }],
          });
        } else {
          const why = torch.cudaError ? `: ${torch.cudaError}` : '';
          out.push({
            code: 'cuda-unusable',
            severity: 'error',
            message: `${gpuWord} found, but PyTorch (CUDA ${torch.cudaBuild}) cannot use them${why}. The driver (${i.gpus.driverVersion ?? 'unknown version'}) may be too old for this CUDA build: update the driver or install a PyTorch built for an older CUDA.`,
            actions: [INSTALL_GUIDE],
          });
        }
      }
      if (gpuCount > 0 && !torch.cudaBuild && !torch.hipBuild) {
        out.push({
          code: 'cpu-build-with-gpu',
          severity: 'warning',
          message: `${gpuWord} found, but PyTorch ${torch.version} is a CPU-only build, so training will not use the GPU. Install a CUDA build of PyTorch.`,
          actions: [INSTALL_GUIDE],
        });
      }
      if (torch.mps.built && !torch.mps.available && python.platform === 'darwin') {
        out.push({
          code: 'mps-unavailable',
          severity: 'info',
          message: 'This PyTorch supports Apple MPS, but MPS is not available (it needs macOS 12.3+ on Apple silicon). Training runs on the CPU.',
          actions: [],
        });
      }
      if (torch.cudaAvailable && i.gpus.status !== 'ok') {
        out.push({
          code: 'no-gpu-monitor',
          severity: 'info',
          message: `PyTorch can use CUDA, but GPU memory and utilisation cannot be shown: ${i.gpus.message ?? 'nvidia-smi gave no reading'}. Set descent.nvidiaSmiPath if nvidia-smi is installed elsewhere.`,
          actions: [{ title: 'Open Setting', command: 'workbench.action.openSettings', args: ['descent.nvidiaSmiPath'] }],
        });
      }
      if (!torch.cudaBuild && !torch.hipBuild && !torch.mps.available && gpuCount === 0) {
        out.push({
          code: 'cpu-only',
          severity: 'info',
          message: `No GPU: training runs on the CPU with PyTorch ${torch.version}. That is fine for course-sized models (MNIST, digits, small CNNs).`,
          actions: [],
        });
      }
    }
  }
  if (i.gpus.status === 'failed' && !out.some((x) => x.code === 'cuda-no-driver' || x.code === 'no-gpu-monitor')) {
    out.push({ code: 'nvidia-smi-failed', severity: 'warning', message: i.gpus.message ?? 'nvidia-smi failed.', actions: [] });
  }
  return out.sort((a, b) => severityRank[a.severity] - severityRank[b.severity]);
}
