// After tsc: make the four bin entry points executable (tsc does not keep modes).
import { chmodSync, existsSync } from 'node:fs';
const bins = ['dist/controller/main.js', 'dist/updater/main.js', 'dist/agent/main.js', 'dist/cli/main.js'];
for (const bin of bins) if (existsSync(bin)) chmodSync(bin, 0o755);
