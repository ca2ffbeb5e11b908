import assert from 'node:assert/strict';
import { test } from 'node:test';
import { contentSecurityPolicy, escapeHtml, makeNonce, renderWebviewHtml } from '../../src/common/webview/html';

test('CSP: nothing by default, scripts only by nonce, no inline or eval', () => {
  const csp = contentSecurityPolicy('https://x.vscode-cdn.net', 'N0nce');
  assert.match(csp, /^default-src 'none'/);
  assert.match(csp, /script-src 'nonce-N0nce'(;|$)/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/);
});

test('HTML: every script carries the nonce; title is escaped', () => {
  const html = renderWebviewHtml({
    cspSource: 'https://x.vscode-cdn.net',
    nonce: 'abc',
    title: '<img src=x onerror=alert(1)>',
    scriptUri: 'https://x/app.js',
    styleUri: 'https://x/app.css',
    codiconUri: 'https://x/codicon.css',
  });
  const scripts = html.match(/<script[^>]*>/g)!;
  assert.equal(scripts.length, 1);
  assert.ok(scripts.every((s) => s.includes('nonce="abc"')));
  assert.ok(html.includes('&lt;img src=x onerror=alert(1)&gt;'));
  assert.ok(!html.includes('<img'));
  assert.ok(html.includes('id="vscode-codicon-stylesheet"'));
});

test('nonces are fresh and long enough', () => {
  const a = makeNonce();
  assert.ok(a.length >= 24);
  assert.notEqual(a, makeNonce());
  assert.equal(escapeHtml(`"'&`), '&quot;&#39;&amp;');
});
