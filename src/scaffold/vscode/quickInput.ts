// A multi-step quick input: pickers and input boxes with a step counter and a Back button.
import * as vscode from 'vscode';

export const BACK = Symbol('back');
export type Step<T> = T | typeof BACK | undefined;

export interface PickItem<T> extends vscode.QuickPickItem {
  value: T;
}

interface Common {
  title: string;
  step: number;
  totalSteps: number;
  placeholder?: string;
}

function backButtons(step: number): vscode.QuickInputButton[] {
  return step > 1 ? [vscode.QuickInputButtons.Back] : [];
}

/** One pick; `active` is highlighted so Enter takes it. Resolves BACK on the Back button, undefined on Escape. */
export function pickOne<T>(c: Common & { items: PickItem<T>[]; active?: T }): Promise<Step<T>> {
  return new Promise((resolve) => {
    const qp = vscode.window.createQuickPick<PickItem<T>>();
    Object.assign(qp, { title: c.title, step: c.step, totalSteps: c.totalSteps, placeholder: c.placeholder ?? '', ignoreFocusOut: true, matchOnDetail: true });
    qp.items = c.items;
    qp.buttons = backButtons(c.step);
    const active = c.items.find((i) => i.value === c.active) ?? c.items[0];
    if (active) qp.activeItems = [active];
    let done = false;
    const finish = (v: Step<T>) => {
      if (done) return;
      done = true;
      resolve(v);
      qp.dispose();
    };
    qp.onDidTriggerButton((b) => b === vscode.QuickInputButtons.Back && finish(BACK));
    qp.onDidAccept(() => qp.selectedItems[0] && finish(qp.selectedItems[0].value));
    qp.onDidHide(() => finish(undefined));
    qp.show();
  });
}

/** Several picks, `selected` checked beforehand. */
export function pickMany<T>(c: Common & { items: PickItem<T>[]; selected: T[] }): Promise<Step<T[]>> {
  return new Promise((resolve) => {
    const qp = vscode.window.createQuickPick<PickItem<T>>();
    Object.assign(qp, { title: c.title, step: c.step, totalSteps: c.totalSteps, placeholder: c.placeholder ?? '', ignoreFocusOut: true, canSelectMany: true });
    qp.items = c.items;
    qp.selectedItems = c.items.filter((i) => c.selected.includes(i.value));
    qp.buttons = backButtons(c.step);
    let done = false;
    const finish = (v: Step<T[]>) => {
      if (done) return;
      done = true;
      resolve(v);
      qp.dispose();
    };
    qp.onDidTriggerButton((b) => b === vscode.QuickInputButtons.Back && finish(BACK));
    qp.onDidAccept(() => finish(qp.selectedItems.map((i) => i.value)));
    qp.onDidHide(() => finish(undefined));
    qp.show();
  });
}

/** A text entry prefilled with `value`; `validate` returns a message while the text cannot be used. */
export function inputText(c: Common & { value: string; prompt: string; validate: (text: string) => string | undefined }): Promise<Step<string>> {
  return new Promise((resolve) => {
    const box = vscode.window.createInputBox();
    Object.assign(box, { title: c.title, step: c.step, totalSteps: c.totalSteps, value: c.value, prompt: c.prompt, placeholder: c.placeholder ?? '', ignoreFocusOut: true });
    box.buttons = backButtons(c.step);
    let done = false;
    const finish = (v: Step<string>) => {
      if (done) return;
      done = true;
      resolve(v);
      box.dispose();
    };
    box.onDidChangeValue((text) => (box.validationMessage = c.validate(text)));
    box.onDidTriggerButton((b) => b === vscode.QuickInputButtons.Back && finish(BACK));
    box.onDidAccept(() => {
      const problem = c.validate(box.value);
      if (problem) box.validationMessage = problem;
      else finish(box.value.trim());
    });
    box.onDidHide(() => finish(undefined));
    box.show();
  });
}
