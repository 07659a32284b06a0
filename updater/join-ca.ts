// The first step of a join: fetch the controller's CA over an unauthenticated connection and accept exactly the one pinned certificate.
import { pkiError } from '../pki/index.js';
import { createHash, timingSafeEqual } from 'node:crypto';
import { TLS_POLICY } from '../shared/tls-policy.js';
import { Agent, request, type Dispatcher } from 'undici';
import { LIMITS } from '../shared/limits.js';
import { parseSingleCertificate, type SingleCertificate } from '../shared/pem.js';
import { requireHttpsController } from '../shared/https-url.js';
import { describeRemoteFailure, remoteError } from '../shared/remote-errors.js';

export interface FetchCaOptions {
  controllerUrl: string;
  /** The pin, already validated: `sha256:<64 lowercase hex>`. */
  caHash: string;
  maxBytes?: number;
  timeoutMs?: number;
}

/** Read a body, giving up (and dropping the connection) past maxBytes. */
async function readCapped(body: Dispatcher.ResponseData['body'], maxBytes: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > maxBytes) {
      body.destroy();
      throw pkiError('SWARM_ERR_CA_ANSWER_INVALID', `${what} answered more than ${maxBytes} bytes for GET /v1/pki/ca (a CA certificate is ~2 KiB); refusing it, nothing was trusted or sent. Check --controller: someone may be in the middle`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/**
 * GET /v1/pki/ca and return the certificate only if the answer is exactly one PEM certificate whose
 * SHA-256 is the pin. Nothing but this certificate is ever trusted or written: an answer carrying the real
 * CA plus another one (a bundle), or anything after it, is refused whole.
 */
export async function fetchPinnedCa(options: FetchCaOptions): Promise<SingleCertificate> {
  // Checked here too, not only by join's flag: the answer is read before anything is trusted, and in clear anyone on
  // the path could also watch which host is joining.
  requireHttpsController(options.controllerUrl, 'fetch the CA');
  const maxBytes = options.maxBytes ?? LIMITS['join.caAnswerBytes'].value;
  const timeoutMs = options.timeoutMs ?? LIMITS['join.caAnswerTimeout'].value;
  const where = `the controller at ${options.controllerUrl}`;
  // Unauthenticated on purpose: only the pinned hash makes what comes back trustworthy.
  const insecure = new Agent({ connect: { ...TLS_POLICY, rejectUnauthorized: false }, connections: 1 });
  let text: string;
  try {
    let res: Dispatcher.ResponseData;
    try {
      res = await request(new URL('/v1/pki/ca', options.controllerUrl), {
        method: 'GET', dispatcher: insecure, headersTimeout: timeoutMs, bodyTimeout: timeoutMs, signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw describeRemoteFailure(err, options.controllerUrl);
    }
    if (res.statusCode !== 200) {
      await res.body.dump().catch(() => undefined);
      throw remoteError('SWARM_ERR_CONTROLLER_RESPONSE', `${where} answered ${res.statusCode} to GET /v1/pki/ca; check --controller`);
    }
    const declared = Number(res.headers['content-length'] ?? NaN);
    if (declared > maxBytes) {
      res.body.destroy();
      throw pkiError('SWARM_ERR_CA_ANSWER_INVALID', `${where} announced ${declared} bytes for GET /v1/pki/ca (the cap is ${maxBytes}); refusing it, nothing was trusted or sent. Check --controller: someone may be in the middle`);
    }
    let raw: Buffer;
    try {
      raw = await readCapped(res.body, maxBytes, where);
    } catch (err) {
      if ((err as { code?: string }).code === 'SWARM_ERR_CA_ANSWER_INVALID') throw err;
      throw describeRemoteFailure(err, options.controllerUrl);
    }
    text = raw.toString('utf8');
  } finally {
    await insecure.destroy().catch(() => undefined);
  }

  const single = parseSingleCertificate(text);
  if (!single.ok) {
    throw pkiError('SWARM_ERR_CA_ANSWER_INVALID', `${where} answered GET /v1/pki/ca with an answer that ${single.reason}; refusing it, nothing was trusted or sent. Check --controller: someone may be in the middle`);
  }
  const got = Buffer.from(`sha256:${createHash('sha256').update(single.cert.der).digest('hex')}`);
  const want = Buffer.from(options.caHash);
  if (got.length !== want.length || !timingSafeEqual(got, want)) {
    throw pkiError('SWARM_ERR_CA_HASH_MISMATCH', `${where} serves a CA that does not match ${options.caHash}; check --ca-hash (or someone is in the middle)`);
  }
  return single.cert;
}
