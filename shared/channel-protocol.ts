// The channel wire protocol between agents/updaters and the controller: every message is a zod schema.
import { z } from 'zod';
import { LIMITS } from './limits.js';
import { AgentHealthSchema, UpdaterStatusSchema } from './wire.js';

/** The WebSocket paths, one per role. */
export const CHANNEL_PATHS = { agent: '/v1/channel/agent', updater: '/v1/channel/updater' } as const;
export type ChannelRole = keyof typeof CHANNEL_PATHS;

/** Largest message either side accepts: the largest valid report with headroom (ws closes a larger one with 1009). */
export const MAX_CHANNEL_MESSAGE_BYTES = LIMITS['channels.message-bytes'].value;

/** Agent -> controller: what it runs, on connect and at each heartbeat. */
export const AgentReportMessageSchema = z.object({
  type: z.literal('report'),
  report: AgentHealthSchema,
  /** Expiry of the certificate the sender holds now (ISO 8601): it may have renewed since connecting. */
  certNotAfter: z.iso.datetime(),
});

/** Updater -> controller. */
export const UpdaterReportMessageSchema = z.object({
  type: z.literal('report'),
  report: UpdaterStatusSchema,
  certNotAfter: z.iso.datetime(),
});

export type AgentReportMessage = z.output<typeof AgentReportMessageSchema>;
export type UpdaterReportMessage = z.output<typeof UpdaterReportMessageSchema>;

export function reportSchemaFor(role: ChannelRole): typeof AgentReportMessageSchema | typeof UpdaterReportMessageSchema {
  return role === 'agent' ? AgentReportMessageSchema : UpdaterReportMessageSchema;
}

/** Controller -> client, first message after the upgrade. */
export const WelcomeMessageSchema = z.object({
  type: z.literal('welcome'),
  /** The identity the controller saw, spiffe://... */
  identity: z.string(),
  /** The heartbeat the controller expects; clients without their own setting use it. */
  heartbeatMs: z.number().int().positive(),
  /** How often the controller pings; a client that hears nothing for 2.5x this reconnects. */
  pingIntervalMs: z.number().int().positive(),
});

/** Controller -> client: a refused message (the channel stays open). */
export const ErrorMessageSchema = z.object({ type: z.literal('error'), code: z.string(), message: z.string() });

/** A certificate serial as hosts compare them: lowercase hex, at most 20 bytes (RFC 5280 §4.1.2.2). */
export const SerialSchema = z.string().regex(/^[0-9a-f]{1,40}$/, { message: 'must be a lowercase hex serial of at most 40 digits' });

/**
 * Controller -> client: serials to refuse from now on. Right after the welcome the controller sends its whole
 * list (in several messages when it is long), then each revocation as it happens. Serials are never taken back.
 */
export const RevokedMessageSchema = z.object({
  type: z.literal('revoked'),
  serials: z.array(SerialSchema).max(LIMITS['revocation.maxSerialsPerMessage'].value),
});
export type RevokedMessage = z.output<typeof RevokedMessageSchema>;

export const ServerMessageSchema = z.discriminatedUnion('type', [WelcomeMessageSchema, ErrorMessageSchema, RevokedMessageSchema]);
export type ServerMessage = z.output<typeof ServerMessageSchema>;
export type WelcomeMessage = z.output<typeof WelcomeMessageSchema>;

/**
 * WebSocket close codes the controller uses (4000-4999 are for applications). `rateLimited`: the channel kept
 * sending past its report budget; the client reconnects with backoff and a fresh budget.
 */
export const CLOSE_CODES = { revoked: 4003, invalidMessage: 4400, shuttingDown: 1001, rateLimited: 4429 } as const;
