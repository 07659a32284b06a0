// shared/: what every part uses: errors, identities, config, logging, clock, ids, files, TLS and HTTP edges, CLI.
export * from './errors.js';
export * from './names.js';
export * from './identity.js';
export * from './clock.js';
export * from './ids.js';
export * from './files.js';
export * from './validation.js';
export * from './config.js';
export * from './logger.js';
export * from './tls.js';
export * from './http.js';
export * from './server.js';
export * from './cli.js';
export * from './release-manifest.js';
export * from './wire.js';
export * from './channel-client.js';
export * from './renewal.js';
