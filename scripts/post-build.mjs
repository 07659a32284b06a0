// After tsc: make the four bin entry points executable (tsc does not keep modes), copy the controller's OpenSSL
// settings next to its code, and bundle the dashboard page (cli/dashboard/page: preact + TSX + CSS) with esbuild
// into dist/dashboard: app.js, app.css and index.html.
import { chmodSync, copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bins = ['dist/controller/main.js', 'dist/updater/main.js', 'dist/agent/main.js', 'dist/cli/main.js'];
for (const bin of bins) if (existsSync(join(root, bin))) chmodSync(join(root, bin), 0o755);
// The controller's OpenSSL settings (controller/openssl.cnf) travel with its code: node is started with
// --openssl-config=dist/controller/openssl.cnf (shared/defaults.ts CONTROLLER_RUNTIME).
copyFileSync(join(root, 'controller', 'openssl.cnf'), join(root, 'dist', 'controller', 'openssl.cnf'));

const page = join(root, 'cli', 'dashboard', 'page');
const out = join(root, 'dist', 'dashboard');
mkdirSync(out, { recursive: true });
await build({
  entryPoints: { app: join(page, 'main.tsx') },
  outdir: out,
  bundle: true,
  format: 'esm',
  target: 'es2022',
  platform: 'browser',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
  // Everything the page runs is in these two files: no CDN, no font or image fetched from elsewhere.
  external: [],
});
copyFileSync(join(page, 'index.html'), join(out, 'index.html'));
