// `swarm-updater join`: enroll this host with a join token, pinning the controller's CA by its hash.
import { assertNoIdentity, createCsr, generateKeyPair, parseCaHash, pkiError, preparePkiDir, writeIdentityFiles } from '../pki/index.js';
import { X509Certificate } from 'node:crypto';
import { Agent } from 'undici';
import { loadControllerClient } from '../controller-client/index.js';
import { remoteError } from '../shared/remote-errors.js';
import { EnrollResponseSchema, nameFromJoinToken } from '../shared/enroll-protocol.js';
import { UsageError } from '../shared/cli.js';
import { checkHttpsUrl } from '../shared/https-url.js';
import { checkServerIdentity, checkTlsMaterial } from '../shared/tls.js';
import { TLS_POLICY } from '../shared/tls-policy.js';
import { fetchPinnedCa } from './join-ca.js';

export interface JoinOptions {
  /** One URL or several (replicas): the first reached serves the CA and the enrollment. */
  controllerUrl: string | readonly string[];
  token: string;
  caHash: string;
  pkiDir: string;
  /** Cap on the GET /v1/pki/ca answer (default LIMITS['join.caAnswerBytes']). */
  maxCaAnswerBytes?: number;
}

export interface JoinResult {
  cluster: string;
  name: string;
}

/** The cluster a CA certificate roots (its URI SAN spiffe://<cluster>). */
function clusterOfCa(caPem: string): string {
  const m = /^URI:spiffe:\/\/([a-z0-9.-]+)$/.exec(new X509Certificate(caPem).subjectAltName ?? '');
  if (!m) throw pkiError('SWARM_ERR_CA_HASH_MISMATCH', 'the controller served a CA that does not name a Swarm cluster');
  return m[1]!;
}

/**
 * Everything that can fail on this host happens before the token leaves it: the PKI directory is probed and
 * both keys are made first, then the CA is fetched without trusting it and accepted only as the one pinned
 * certificate, then enrollment runs over TLS with that certificate as the only trust root.
 */
export async function joinCluster(options: JoinOptions): Promise<JoinResult> {
  // Over plain http the token (and the CSRs) would travel in clear to whoever answers: anyone on the path
  // could enroll their own keys under this host's name.
  const urls: string[] = [];
  for (const given of typeof options.controllerUrl === 'string' ? [options.controllerUrl] : options.controllerUrl) {
    const checked = checkHttpsUrl(given);
    if (!checked.ok) throw new UsageError(`--controller must be an https:// URL (the join token must not travel in clear), got ${given}`);
    urls.push(checked.url);
  }
  if (urls.length === 0) throw new UsageError('--controller is required');
  const caHash = parseCaHash(options.caHash);
  const name = nameFromJoinToken(options.token);
  if (!name) throw new UsageError('the join token is malformed (expected NAME.SECRET, as printed by swarmctl host add)');

  // 1. The directory and the keys: a run that cannot write its files (not root, a bad --pki-dir) must fail
  // here, with the token unspent.
  await assertNoIdentity(options.pkiDir, ['updater', 'agent']);
  await preparePkiDir(options.pkiDir);
  const [updaterKey, agentKey] = await Promise.all([generateKeyPair(), generateKeyPair()]);
  const updaterCsr = createCsr({ keyPem: updaterKey.privateKeyPem, publicKeyPem: updaterKey.publicKeyPem, commonName: name });
  const agentCsr = createCsr({ keyPem: agentKey.privateKeyPem, publicKeyPem: agentKey.publicKeyPem, commonName: name });

  // 2. The CA: exactly one certificate, the pinned one; from here on caPem is that certificate alone.
  // Only a controller that cannot be reached moves join to the next URL: a wrong CA or a refused token does not.
  const { callController, tryControllersInOrder } = await loadControllerClient();
  let controllerUrl = urls[0]!;
  const ca = await tryControllersInOrder(urls, async (url) => {
    const fetched = await fetchPinnedCa({ controllerUrl: url, caHash, ...(options.maxCaAnswerBytes ? { maxBytes: options.maxCaAnswerBytes } : {}) });
    controllerUrl = url;
    return fetched;
  });
  const caPem = ca.pem;
  const cluster = clusterOfCa(caPem);

  // 3. Enroll with the pinned CA as the only trust root, and only a controller identity of that cluster accepted.
  const pinned = new Agent({
    connections: 1,
    connect: {
      ca: caPem,
      rejectUnauthorized: true,
      ...TLS_POLICY,
      checkServerIdentity: (_host, cert) => checkServerIdentity(cert, cluster, { role: 'controller' }),
    },
  });
  let res;
  try {
    res = await tryControllersInOrder([controllerUrl, ...urls.filter((u) => u !== controllerUrl)], (baseUrl) => callController({ baseUrl, path: '/v1/enroll', body: { token: options.token, name, updaterCsr, agentCsr }, dispatcher: pinned }, EnrollResponseSchema));
  } finally {
    await pinned.close();
  }

  // 4. Check what came back is ours before writing anything.
  for (const [role, cert, key] of [['updater', res.updater, updaterKey], ['agent', res.agent, agentKey]] as const) {
    const got = checkTlsMaterial({ ca: caPem, cert, key: key.privateKeyPem }, role, cluster).identity;
    if (got.role !== role || got.name !== name) {
      throw remoteError('SWARM_ERR_CONTROLLER_RESPONSE', `the controller issued ${got.role}/${got.name} instead of ${role}/${name}; refusing it`);
    }
  }
  await writeIdentityFiles(options.pkiDir, 'updater', { caPem, certPem: res.updater, keyPem: updaterKey.privateKeyPem });
  await writeIdentityFiles(options.pkiDir, 'agent', { caPem, certPem: res.agent, keyPem: agentKey.privateKeyPem });
  return { cluster, name };
}
