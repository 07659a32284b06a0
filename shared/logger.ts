// pino loggers with stable field names; secrets are redacted by configuration, not by care.
import { createRequire } from 'node:module';
import { pino, type Logger, type LoggerOptions } from 'pino';
import { useColor } from './terminal.js';

export type { Logger } from 'pino';

/** Paths pino censors wherever they appear (keys, tokens, signatures' private halves). */
export const REDACT_PATHS: readonly string[] = [
  'key', 'privateKey', 'token', 'joinToken', 'password', 'secret',
  '*.key', '*.privateKey', '*.token', '*.joinToken', '*.password', '*.secret',
  '*.*.key', '*.*.privateKey', '*.*.token', '*.*.joinToken',
  'req.headers.authorization', 'req.headers["x-swarm-join-token"]', 'req.headers.cookie',
];

export interface LogOptions {
  name: string;
  level?: string;
  /** Where to write; defaults to stderr so stdout stays for command output. */
  destination?: NodeJS.WritableStream;
  /** 'json' (one object a line: journald, files, pipes) or 'pretty' (a person at a terminal). Default: SWARM_LOG_FORMAT, else pretty on a TTY. */
  format?: 'json' | 'pretty';
}

/** How logs are written: JSON everywhere but a terminal, where a person reads them. */
export function logFormat(destination: NodeJS.WritableStream, env: NodeJS.ProcessEnv = process.env): 'json' | 'pretty' {
  if (env.SWARM_LOG_FORMAT === 'json' || env.SWARM_LOG_FORMAT === 'pretty') return env.SWARM_LOG_FORMAT;
  return (destination as { isTTY?: boolean }).isTTY === true ? 'pretty' : 'json';
}

export function createLogger(options: LogOptions): Logger {
  const config: LoggerOptions = {
    name: options.name,
    level: options.level ?? process.env.SWARM_LOG_LEVEL ?? 'info',
    redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  const destination = options.destination ?? process.stderr;
  if ((options.format ?? logFormat(destination)) === 'json') return pino(config, destination as pino.DestinationStream);
  // pino-pretty only on a terminal: loaded here so daemons under systemd (JSON to the journal) never load it.
  const pretty = createRequire(import.meta.url)('pino-pretty') as (o: Record<string, unknown>) => pino.DestinationStream;
  return pino(config, pretty({
    destination, sync: true, colorize: useColor(destination), translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname', singleLine: true,
  }));
}

/** A logger that drops everything (tests and library defaults). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
