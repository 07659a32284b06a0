// `swarm-updater join`: enroll this host with a join token, pinning the controller's CA by its hash.
import { X509Certificate } from 'node:crypto';
import { Agent } from 'undici';
// pki/ files imported directly (not pki/index.js): the index loads the CRL signer, which a joining host never needs.
import { createCsr } from '../pki/csr.js';
import { pkiError } from '../pki/errors.js';
import { matchesCaHash, parseCaHash } from '../pki/fingerprint.js';
import { generateKeyPair } from '../pki/keys.js';
import { assertNoIdentity, writeIdentityFiles } from '../pki/pki-dir.js';
import { callController } from '../shared/controller-request.js';
import { remoteError } from '../shared/remote-errors.js';
import { EnrollResponseSchema, nameFromJoinToken } from '../shared/enroll-protocol.js';
import { UsageError } from '../shared/cli.js';
import { checkServerIdentity, checkTlsMaterial } from '../shared/tls.js';
import { TLS_POLICY } from '../shared/tls-policy.js';

export interface JoinOptions {
  controllerUrl: string;
  token: string;
  caHash: string;
  pkiDir: string;
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
 * Fetch the CA without trusting it, pin it by the hash, then enroll over TLS with that CA as the only
 * trust root: both keys are generated here and never leave the host.
 */
export async function joinCluster(options: JoinOptions): Promise<JoinResult> {
  // Over plain http the token (and the CSRs) would travel in clear to whoever answers: anyone on the path
  // could enroll their own keys under this host's name.
  if (!/^https:\/\//i.test(options.controllerUrl)) {
    throw new UsageError(`--controller must be an https:// URL (the join token must not travel in clear), got ${options.controllerUrl}`);
  }
  const caHash = parseCaHash(options.caHash);
  const name = nameFromJoinToken(options.token);
  if (!name) throw new UsageError('--token is not a join token (expected NAME.SECRET, as printed by swarmctl host add)');
  await assertNoIdentity(options.pkiDir, ['updater', 'agent']);

  // 1. The CA, over an unauthenticated connection: only the pinned hash makes it trustworthy.
  const insecure = new Agent({ connect: { ...TLS_POLICY, rejectUnauthorized: false }, connections: 1 });
  let caPem: string;
  try {
    caPem = await callController({ baseUrl: options.controllerUrl, path: '/v1/pki/ca', dispatcher: insecure });
  } finally {
    await insecure.close();
  }
  let matches: boolean;
  try {
    matches = matchesCaHash(caPem, caHash);
  } catch {
    matches = false;
  }
  if (!matches) {
    throw pkiError('SWARM_ERR_CA_HASH_MISMATCH', `the controller at ${options.controllerUrl} serves a CA that does not match ${caHash}; check --ca-hash (or someone is in the middle)`);
  }
  const cluster = clusterOfCa(caPem);

  // 2. Keys and CSRs, made here.
  const [updaterKey, agentKey] = await Promise.all([generateKeyPair(), generateKeyPair()]);
  const updaterCsr = createCsr({ keyPem: updaterKey.privateKeyPem, publicKeyPem: updaterKey.publicKeyPem, commonName: name });
  const agentCsr = createCsr({ keyPem: agentKey.privateKeyPem, publicKeyPem: agentKey.publicKeyPem, commonName: name });

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
    res = await callController({ baseUrl: options.controllerUrl, path: '/v1/enroll', body: { token: options.token, name, updaterCsr, agentCsr }, dispatcher: pinned }, EnrollResponseSchema);
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
