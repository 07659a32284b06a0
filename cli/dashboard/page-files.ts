// The built page (dist/dashboard: index.html, app.js, app.css), read once when the dashboard starts.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cliError } from '../errors.js';

export interface PageFile {
  readonly type: string;
  readonly body: Buffer;
}

/** Where `npm run build` writes the page: dist/dashboard, beside dist/cli. */
export const PAGE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dashboard');

const FILES: Readonly<Record<string, string>> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
};

/** Every file of the page, by name; throws SWARM_ERR_DASHBOARD_PAGE_MISSING when the page was not built. */
export function loadPageFiles(dir: string = PAGE_DIR): ReadonlyMap<string, PageFile> {
  const files = new Map<string, PageFile>();
  for (const [name, type] of Object.entries(FILES)) {
    try {
      files.set(name, { type, body: readFileSync(join(dir, name)) });
    } catch (err) {
      throw cliError('SWARM_ERR_DASHBOARD_PAGE_MISSING', `the dashboard page is not built (${join(dir, name)}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}); run npm run build`, { cause: err });
    }
  }
  return files;
}
