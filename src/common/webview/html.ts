// The HTML shell of every Descent webview: strict CSP (nothing but our own files and nonce'd scripts), theme
// variables from VS Code, one app bundle from dist/webview.
import { randomBytes } from 'node:crypto';

export function makeNonce(): string {
  return randomBytes(18).toString('base64');
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export interface WebviewHtmlParts {
  /** webview.cspSource */
  cspSource: string;
  nonce: string;
  title: string;
  /** URIs (already converted with asWebviewUri) of the app's script, its stylesheet and the codicon stylesheet. */
  scriptUri: string;
  styleUri: string;
  codiconUri: string;
}

export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `img-src ${cspSource} data: blob:`,
    `style-src ${cspSource} 'nonce-${nonce}'`,
    `font-src ${cspSource}`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
}

export function renderWebviewHtml(p: WebviewHtmlParts): string {
  const a = (s: string) => escapeHtml(s);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${a(contentSecurityPolicy(p.cspSource, p.nonce))}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${a(p.codiconUri)}" id="vscode-codicon-stylesheet" nonce="${a(p.nonce)}">
<link rel="stylesheet" href="${a(p.styleUri)}" nonce="${a(p.nonce)}">
<title>${a(p.title)}</title>
</head>
<body>
<div id="app" data-state="loading" aria-busy="true"></div>
<script nonce="${a(p.nonce)}" src="${a(p.scriptUri)}"></script>
</body>
</html>`;
}
