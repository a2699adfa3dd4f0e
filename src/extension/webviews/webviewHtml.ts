/**
 * The HTML shell of every webview page: a CSP that blocks everything, then
 * allows styles and images from the extension and only scripts carrying this
 * page's random nonce; the shared stylesheet media/webview.css, the page's own
 * from media/ and one bundle from dist/webview/. Payloads never go into this HTML: pages render them as text.
 */
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';

export function webviewHtml(webview: vscode.Webview, extensionUri: vscode.Uri, page: { bundle: string; stylesheet: string; title: string }): string {
  const nonce = randomBytes(16).toString('base64');
  const script = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview', page.bundle));
  const style = (name: string) => webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'media', name));
  const csp = [
    "default-src 'none'",
    `style-src ${webview.cspSource}`,
    `script-src 'nonce-${nonce}'`,
    `img-src ${webview.cspSource} data:`,
    `font-src ${webview.cspSource}`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${style('webview.css')}">
<link rel="stylesheet" href="${style(page.stylesheet)}">
<title>${page.title}</title>
</head>
<body>
<div id="app"></div>
<script nonce="${nonce}" src="${script}"></script>
</body>
</html>`;
}
