// `npm run bench -- <name> [args]`: runs bench/<name>.js and prints its result as one JSON document.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const BENCHES = ['pki', 'install', 'updater', 'agent', 'channels', 'rollout', 'dashboard', 'replicas'];

interface BenchModule {
  run(args: string[]): Promise<Record<string, unknown>>;
}

async function main(): Promise<number> {
  const [name, ...args] = process.argv.slice(2);
  const names = name ? [name] : BENCHES.filter((b) => existsSync(join(here, `${b}.js`)));
  if (name && !BENCHES.includes(name)) {
    process.stderr.write(`bench: unknown benchmark "${name}"; pick one of ${BENCHES.join(', ')}\n`);
    return 2;
  }
  const results: Record<string, unknown> = {};
  for (const n of names) {
    const mod = (await import(join(here, `${n}.js`))) as BenchModule;
    results[n] = await mod.run(args);
  }
  process.stdout.write(`${JSON.stringify(name ? results[name] : results, null, 2)}\n`);
  return 0;
}

main().then((code) => process.exit(code), (err: unknown) => {
  process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
