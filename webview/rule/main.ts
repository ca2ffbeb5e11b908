// Explanation page of one lint rule: what is wrong, why it hurts training, a wrong and a right example, and the
// course concept it relates to. Text from the rule's metadata is set as text; only `code` and **bold** spans
// of its Markdown are turned into elements.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '../common/base.css';
import './rule.css';
import type { RuleExplanationToHost, RuleExplanationToWebview } from '../../src/protocol/lint';
import { h } from '../common/dom';
import { connectToHost } from '../common/host';

const app = document.getElementById('app')!;

/** Inline Markdown subset: `code`, **bold**, *emphasis*; everything else stays text. */
export function inlineMarkdown(text: string): Node[] {
  const out: Node[] = [];
  const re = /`([^`]+)`|\*\*([^*]+)\*\*|\*([^*]+)\*/g;
  let last = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m.index > last) out.push(document.createTextNode(text.slice(last, m.index)));
    out.push(m[1] !== undefined ? h('code', {}, m[1]) : m[2] !== undefined ? h('strong', {}, m[2]) : h('em', {}, m[3] ?? ''));
    last = m.index + m[0].length;
  }
  if (last < text.length) out.push(document.createTextNode(text.slice(last)));
  return out;
}

function paragraphs(markdown: string): HTMLElement[] {
  return markdown
    .split(/\n\s*\n/)
    .map((p) => p.trim())
    .filter(Boolean)
    .map((p) => h('p', {}, ...inlineMarkdown(p.replace(/\s*\n\s*/g, ' '))));
}

function example(title: string, code: string, kind: 'wrong' | 'right'): HTMLElement {
  return h('section', { class: `example ${kind}` }, h('h2', {}, title), h('pre', {}, h('code', { class: 'language-python' }, code.trimEnd())));
}

const host = connectToHost<RuleExplanationToWebview, RuleExplanationToHost>((m) => {
  if (m.type === 'unknownRule') {
    app.replaceChildren(h('h1', {}, `No lint rule ${m.id}`), h('p', { class: 'muted' }, 'Run "Descent: Explain Lint Rule" to see every rule.'));
  } else {
    const r = m.rule;
    const settings = h('vscode-button', { secondary: true, icon: 'settings-gear' }, 'Rule settings');
    settings.addEventListener('click', () => host.post({ type: 'openSettings' }));
    app.replaceChildren(
      h('header', {}, h('h1', {}, h('span', { class: 'rule-id' }, r.id), ' ', r.name), h('span', { class: `severity ${r.defaultSeverity}`, title: 'default severity' }, r.defaultSeverity)),
      h('p', { class: 'summary' }, ...inlineMarkdown(r.summary)),
      h('p', { class: 'muted' }, `Group: ${r.group}${r.fixable ? ' · a quick fix is available (light bulb, or Ctrl+. on the squiggle)' : ''}`),
      h('section', {}, h('h2', {}, 'Why it hurts training'), ...paragraphs(r.why)),
      h('div', { class: 'examples' }, example('Wrong', r.wrong, 'wrong'), example('Right', r.right, 'right')),
      h('section', { class: 'concept' }, h('h2', {}, 'The concept'), ...paragraphs(r.concept)),
      h(
        'section',
        {},
        h('h2', {}, 'Silencing it'),
        h(
          'p',
          {},
          'On one line: ',
          h('code', {}, `# descent: ignore[${r.id}]`),
          '. In a whole file: ',
          h('code', {}, `# descent: ignore-file[${r.id}]`),
          '. Everywhere: ',
          h('code', {}, `"descent.lint.rules": { "${r.id}": "off" }`),
          ' in settings, or ',
          h('code', {}, `ignore = ["${r.id}"]`),
          ' under ',
          h('code', {}, '[tool.descent.lint]'),
          ' in pyproject.toml.',
        ),
        settings,
      ),
    );
  }
  app.dataset.state = 'ready';
  app.setAttribute('aria-busy', 'false');
});
