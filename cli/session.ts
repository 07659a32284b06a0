// A swarmctl session: the controller URL, the operator identity (renewed when < 1/3 is left) and a dispatcher.
import type { Command } from 'commander';
import type { Dispatcher } from 'undici';
import { z } from 'zod';
import { loadControllerClient, type ControllerRequest } from '../controller-client/index.js';
import { UsageError } from '../shared/cli.js';
import { DEFAULT_CONTROLLER_URL } from '../shared/defaults.js';
import { HttpsUrlListSchema } from '../shared/https-url.js';
import { loadTlsMaterial, type TlsMaterial } from '../shared/tls.js';
import { cliError } from './errors.js';
import { printLine, type Out } from './output.js';

export interface CliIo {
  stdout: Out;
  stderr: Out;
  env: Record<string, string | undefined>;
}

export interface GlobalOptions {
  /** The first controller URL (what the session names in messages and join commands). */
  controller: string;
  /** Every controller URL in order (--controller repeated, or SWARMCTL_CONTROLLER with commas); controller is the first. */
  controllers: readonly string[];
  identity: string | undefined;
  json: boolean;
}

const GlobalSchema = z.object({
  controller: HttpsUrlListSchema,
  identity: z.string().min(1).optional(),
  json: z.boolean(),
});

export function globalOptions(cmd: Command, env: CliIo['env']): GlobalOptions {
  const o = cmd.optsWithGlobals<{ controller?: string[]; identity?: string; json?: boolean }>();
  const r = GlobalSchema.safeParse({
    controller: o.controller ?? (env.SWARMCTL_CONTROLLER || DEFAULT_CONTROLLER_URL),
    identity: o.identity ?? (env.SWARMCTL_IDENTITY || undefined),
    json: o.json ?? false,
  });
  if (!r.success) throw new UsageError(`--controller (or SWARMCTL_CONTROLLER): ${r.error.issues[0]?.message ?? 'invalid'}`);
  return { controller: r.data.controller[0]!, controllers: r.data.controller, identity: r.data.identity, json: r.data.json };
}

export class Session {
  readonly options: GlobalOptions;
  readonly material: TlsMaterial;
  readonly #dispatcher: Dispatcher;
  /** The index of the controller that last answered: later requests of this command go there first. */
  #answered = 0;

  private constructor(options: GlobalOptions, material: TlsMaterial, dispatcher: Dispatcher) {
    this.options = options;
    this.material = material;
    this.#dispatcher = dispatcher;
  }

  /** Load the operator identity; renew it first when less than a third of its lifetime is left. */
  static async open(options: GlobalOptions, io: CliIo): Promise<Session> {
    if (!options.identity) {
      throw cliError('SWARM_ERR_CLI_NO_IDENTITY', 'no operator identity: pass --identity DIR or set SWARMCTL_IDENTITY (a directory with ca.crt, operator.crt, operator.key)');
    }
    let material = await loadTlsMaterial(options.identity, 'operator');
    if (material.identity.role !== 'operator') {
      throw cliError('SWARM_ERR_CLI_NO_IDENTITY', `${options.identity}/operator.crt is a ${material.identity.role} identity, not an operator one`);
    }
    if (material.notAfter <= Date.now()) {
      // The controller would only say "no client certificate": name the real cause and the way out.
      throw cliError('SWARM_ERR_CLI_IDENTITY_EXPIRED', `operator certificate ${options.identity}/operator.crt (${material.identity.name}) expired at ${new Date(material.notAfter).toISOString()}; get a new identity from another operator (swarmctl operator add NAME --out DIR) or on the controller host (swarm-controller issue-operator)`);
    }
    const { lifetimeLeft, renewIdentity } = await loadControllerClient();
    if (lifetimeLeft(material.cert, Date.now()) < 1 / 3) {
      try {
        material = await renewIdentity({ controllerUrl: options.controllers, pkiDir: options.identity, base: 'operator', material });
        io.stderr.write(`swarmctl: renewed the operator certificate in ${options.identity} (valid until ${new Date(material.notAfter).toISOString()})\n`);
      } catch (err) {
        printLine(io.stderr, `swarmctl: could not renew the operator certificate (${(err as Error).message}); using the current one`);
      }
    }
    // undici loads here, not at swarmctl's start: --help, completion and release build never pay for it.
    const { buildDispatcher } = await import('../shared/dispatcher.js');
    return new Session(options, material, buildDispatcher(material, { expect: { role: 'controller' }, connections: 4 }));
  }

  /**
   * One request: to the controller that last answered, and, only when it cannot be reached (refused, connect
   * timeout, TLS handshake), to the next URL in order, each at most once. A controller that answered, even with an
   * error, is never asked again elsewhere: a write is not done twice. An upload's body is read once: not retried.
   */
  async call<S extends z.ZodType>(req: Omit<ControllerRequest, 'baseUrl' | 'dispatcher'>, schema: S): Promise<z.output<S>> {
    const { callController, tryControllersInOrder } = await loadControllerClient();
    const urls = req.upload ? [this.baseUrl] : this.preferredUrls();
    return tryControllersInOrder(urls, async (baseUrl) => {
      const answer = await callController({ ...req, baseUrl, dispatcher: this.#dispatcher }, schema);
      this.#answered = this.options.controllers.indexOf(baseUrl);
      return answer;
    });
  }

  /** The URL of the controller that last answered (the first one before any answer). */
  get baseUrl(): string {
    return this.options.controllers[this.#answered] ?? this.options.controller;
  }

  /** Every URL, the one that last answered first, then the others in the order given. */
  preferredUrls(): readonly string[] {
    const all = this.options.controllers;
    return [...all.slice(this.#answered), ...all.slice(0, this.#answered)];
  }

  /** Move on to the next controller (an event stream that failed): later requests go there first. */
  failOver(): void {
    this.#answered = (this.#answered + 1) % this.options.controllers.length;
  }

  /** The mTLS client, for calls that are not one JSON answer (event streams). */
  get dispatcher(): Dispatcher {
    return this.#dispatcher;
  }

  async close(): Promise<void> {
    await this.#dispatcher.close();
  }
}

/** Run fn with a session and close it whatever happens. */
export async function withSession<T>(cmd: Command, io: CliIo, fn: (s: Session) => Promise<T>): Promise<T> {
  const session = await Session.open(globalOptions(cmd, io.env), io);
  try {
    return await fn(session);
  } finally {
    await session.close();
  }
}
