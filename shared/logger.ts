// pino loggers with stable field names; secrets are redacted by configuration, not by care.
import { pino, type Logger, type LoggerOptions } from 'pino';

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
}

export function createLogger(options: LogOptions): Logger {
  const config: LoggerOptions = {
    name: options.name,
    level: options.level ?? process.env.SWARM_LOG_LEVEL ?? 'info',
    redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return pino(config, (options.destination ?? process.stderr) as pino.DestinationStream);
}

/** A logger that drops everything (tests and library defaults). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
