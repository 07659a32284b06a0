// Local requests (`swarm-updater rollback` -> running updater): each request is served exactly once, even when
// two SIGUSR2 handlers run at the same time (one at start, one from the signal).
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../shared/files.js';
import type { OperationRecord } from '../../shared/wire.js';
import { serveLocalRequests } from '../../updater/local-requests.js';
import { tempDir } from '../helpers/pki.js';

describe('local requests', () => {
  it('runs one rollback for one request when two handlers race', async () => {
    const t = await tempDir('swarm-rv-req-');
    try {
      const dir = join(t.path, 'requests');
      await mkdir(dir);
      await writeFileAtomic(join(dir, '0123456789abcdef.json'), JSON.stringify({ kind: 'rollback', at: new Date().toISOString() }));
      let calls = 0;
      const record = { id: 'op-one', kind: 'rollback', state: 'rolled-back' } as unknown as OperationRecord;
      const rollback = async (): Promise<OperationRecord> => {
        calls += 1;
        if (calls > 1) throw Object.assign(new Error('operation op-one is running on this host'), { code: 'SWARM_ERR_UPDATER_BUSY' });
        return record;
      };
      const handlers = { rollback, unmarkBad: () => Promise.reject(new Error('not asked')) };
      await Promise.all([serveLocalRequests(dir, handlers), serveLocalRequests(dir, handlers)]);
      assert.equal(calls, 1, 'one request, one rollback');
      assert.deepEqual(await readdir(dir), ['0123456789abcdef.result']);
      const result = JSON.parse(await readFile(join(dir, '0123456789abcdef.result'), 'utf8')) as { ok: boolean; record?: { id: string } };
      assert.equal(result.ok, true, 'the answer is the rollback itself, not a busy error from the twin');
      assert.equal(result.record?.id, 'op-one');
    } finally {
      await t.cleanup();
    }
  });
});
