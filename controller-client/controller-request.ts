// One JSON call to the controller over undici, mapping network, TLS and `{ code, message }` answers to SwarmErrors.
import type { Readable } from 'node:stream';
import { request, type Dispatcher } from 'undici';
import type { z } from 'zod';
import { requireHttpsController } from '../shared/https-url.js';
import { describeRemoteFailure, remoteAnswerError, remoteError } from '../shared/remote-errors.js';
import { formatZodIssues } from '../shared/validation.js';

export interface ControllerRequest {
  baseUrl: string;
  path: string;
  method?: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  body?: unknown;
  dispatcher: Dispatcher;
  timeoutMs?: number;
  /** A raw gzip body streamed as it is read (a release upload), with its own headers; never read whole. */
  upload?: { body: Readable; headers: Record<string, string> };
}

/** Call the controller; a 2xx body is parsed with `schema` (or returned as text with schema undefined). */
export async function callController<S extends z.ZodType>(req: ControllerRequest, schema: S): Promise<z.output<S>>;
export async function callController(req: ControllerRequest, schema?: undefined): Promise<string>;
export async function callController(req: ControllerRequest, schema?: z.ZodType): Promise<unknown> {
  // Every call carries an identity, a token or a CSR, and trusts only a verified controller: never in clear.
  requireHttpsController(req.baseUrl, 'talk to a controller');
  const url = new URL(req.path, req.baseUrl);
  let res: Dispatcher.ResponseData;
  try {
    res = await request(url, {
      method: req.method ?? (req.body === undefined && req.upload === undefined ? 'GET' : 'POST'),
      dispatcher: req.dispatcher,
      headers: req.upload ? { 'content-type': 'application/gzip', ...req.upload.headers } : req.body === undefined ? {} : { 'content-type': 'application/json' },
      ...(req.upload ? { body: req.upload.body } : req.body === undefined ? {} : { body: JSON.stringify(req.body) }),
      headersTimeout: req.timeoutMs ?? 30_000,
      bodyTimeout: req.timeoutMs ?? 30_000,
    });
  } catch (err) {
    throw describeRemoteFailure(err, req.baseUrl);
  }
  let text: string;
  try {
    text = await res.body.text();
  } catch (err) {
    throw describeRemoteFailure(err, req.baseUrl);
  }
  if (res.statusCode >= 400) {
    let parsed: { code?: unknown; message?: unknown } = {};
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch {
      // not our error shape
    }
    if (typeof parsed.code === 'string' && typeof parsed.message === 'string') throw remoteAnswerError({ code: parsed.code, message: parsed.message }, res.statusCode);
    throw remoteError('SWARM_ERR_CONTROLLER_RESPONSE', `controller answered ${res.statusCode} to ${req.method ?? 'GET'} ${req.path}: ${text.slice(0, 200)}`);
  }
  if (!schema) return text;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw remoteError('SWARM_ERR_CONTROLLER_RESPONSE', `controller answered ${req.path} with something that is not JSON`);
  }
  const r = schema.safeParse(json);
  if (!r.success) throw remoteError('SWARM_ERR_CONTROLLER_RESPONSE', `controller answered ${req.path} with an unexpected shape: ${formatZodIssues(r.error)}`);
  return r.data;
}
