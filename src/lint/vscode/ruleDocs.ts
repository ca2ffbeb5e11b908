// A rule's explanation as Markdown (what the descent-rule: file system serves, e.g. to a text editor or search).
import type { RuleMeta } from '../types';

export function ruleMarkdown(m: RuleMeta): string {
  return [
    `# ${m.id} · ${m.name}`,
    '',
    `**${m.summary}**`,
    '',
    `Group: ${m.group} · default severity: ${m.defaultSeverity}${m.fixable ? ' · quick fix available' : ''}`,
    '',
    '## Why it hurts training',
    '',
    m.why,
    '',
    '## Wrong',
    '',
    '```python',
    m.wrong.trimEnd(),
    '```',
    '',
    '## Right',
    '',
    '```python',
    m.right.trimEnd(),
    '```',
    '',
    '## Concept',
    '',
    m.concept,
    '',
    `Silence it on one line with \`# descent: ignore[${m.id}]\`, in a file with \`# descent: ignore-file[${m.id}]\`, or everywhere with the setting \`"descent.lint.rules": { "${m.id}": "off" }\`.`,
    '',
  ].join('\n');
}
