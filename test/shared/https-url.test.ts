// The one controller-URL rule: https only, a host, no credentials, one spelling.
import assert from 'node:assert/strict';
import { checkHttpsUrl, httpsUrl, HttpsUrlSchema, requireHttpsController } from '../../shared/https-url.js';

describe('shared/https-url', () => {
  it('accepts https URLs and normalises them without a trailing slash', () => {
    const cases: Array<[string, string]> = [
      ['https://controller.example:8770', 'https://controller.example:8770'],
      ['https://controller.example:8770/', 'https://controller.example:8770'],
      ['https://controller.example:8770///', 'https://controller.example:8770'],
      ['HTTPS://Controller.Example:8770', 'https://controller.example:8770'],
      ['https://[::1]:8770/', 'https://[::1]:8770'],
      ['https://10.0.0.5', 'https://10.0.0.5'],
    ];
    for (const [input, want] of cases) assert.deepEqual(checkHttpsUrl(input), { ok: true, url: want }, input);
    assert.equal(HttpsUrlSchema.parse('https://c:8770/'), 'https://c:8770');
  });

  it('refuses anything but https, a URL without a host and credentials', () => {
    for (const bad of ['http://c:8770', 'ws://c', 'wss://c', 'ftp://c', 'c:8770', 'controller', '', 'https://', 'https://u:p@c:8770', 'https://u@c', 'https://c:99999']) {
      const v = checkHttpsUrl(bad);
      assert.equal(v.ok, false, bad);
      assert.equal(HttpsUrlSchema.safeParse(bad).success, false, bad);
    }
  });

  it('says what a controller URL must be, and why when the caller says it', () => {
    const r = HttpsUrlSchema.safeParse('http://c:8770');
    assert.equal(r.success, false);
    assert.match(r.error!.issues[0]!.message, /^must be an https:\/\/ URL, for example https:\/\/controller\.example:8770$/);
    const j = httpsUrl('the join token must not travel in clear').safeParse('http://c');
    assert.match(j.error!.issues[0]!.message, /https:\/\/ URL.*\(the join token must not travel in clear\)$/);
  });

  it('requireHttpsController refuses with SWARM_ERR_CONTROLLER_UNTRUSTED', () => {
    assert.doesNotThrow(() => requireHttpsController('https://c:8770', 'test'));
    for (const bad of ['http://c:8770', 'not a url', 'ws://c']) {
      assert.throws(() => requireHttpsController(bad, 'fetch the CRL'), (err: NodeJS.ErrnoException) => err.code === 'SWARM_ERR_CONTROLLER_UNTRUSTED' && /refusing to fetch the CRL without TLS/.test(err.message), bad);
    }
  });
});
