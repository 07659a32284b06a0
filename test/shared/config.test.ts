// Config: defaults, one clear error naming the file and field, frozen results; log redaction of secrets.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { z } from 'zod';
import { parseConfig, readConfigFile } from '../../shared/config.js';
import { createLogger } from '../../shared/logger.js';
import { tempDir } from '../helpers/pki.js';

const Schema = z.strictObject({
  listen: z.string().default('0.0.0.0:8766'),
  limits: z.strictObject({ maxEntries: z.number().int().positive().default(100_000) }).prefault({}),
});

describe('config', () => {
  it('applies defaults and freezes deeply', () => {
    const c = parseConfig(Schema, {}, 'updater.json');
    assert.equal(c.listen, '0.0.0.0:8766');
    assert.equal(c.limits.maxEntries, 100_000);
    assert.ok(Object.isFrozen(c) && Object.isFrozen(c.limits));
    assert.throws(() => {
      (c as { listen: string }).listen = 'x';
    }, TypeError);
  });

  it('names the file and the field in one line', () => {
    assert.throws(() => parseConfig(Schema, { limits: { maxEntries: 'many' } }, '/etc/swarm/updater.json'), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'SWARM_ERR_CONFIG_INVALID');
      assert.match(err.message, /^\/etc\/swarm\/updater\.json: limits\.maxEntries: /);
      assert.ok(!err.message.includes('\n'));
      return true;
    });
    assert.throws(() => parseConfig(Schema, { lisen: 'x' }, 'f.json'), /lisen/);
  });

  it('reads files separately: missing, unparseable, optional', async () => {
    const dir = await tempDir();
    try {
      await assert.rejects(readConfigFile(join(dir.path, 'none.json')), { code: 'SWARM_ERR_CONFIG_UNREADABLE' });
      assert.deepEqual(await readConfigFile(join(dir.path, 'none.json'), { optional: true }), {});
      await writeFile(join(dir.path, 'bad.json'), '{ nope');
      await assert.rejects(readConfigFile(join(dir.path, 'bad.json')), { code: 'SWARM_ERR_CONFIG_PARSE' });
    } finally {
      await dir.cleanup();
    }
  });
});

describe('logger', () => {
  it('redacts keys and tokens by configuration', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(chunk.toString());
        cb();
      },
    });
    const log = createLogger({ name: 't', destination: sink });
    log.info({ token: 'abc.secret', host: 'h1', body: { token: 'nested-secret', key: '-----BEGIN PRIVATE KEY-----' } }, 'enroll');
    log.flush();
    await new Promise<void>((resolve) => setImmediate(resolve));
    const out = lines.join('');
    assert.match(out, /"host":"h1"/);
    assert.ok(!out.includes('secret'), out);
    assert.ok(!out.includes('PRIVATE KEY'), out);
    assert.match(out, /\[redacted\]/);
  });
});
