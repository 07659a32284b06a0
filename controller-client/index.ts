// The door of everything that talks to the controller from elsewhere (hosts, swarmctl). Light at load: the host's
// denylist and the types; the rooms that load undici and ws (requests, renewal, channel, CRL refresh) come through
// loadControllerClient(), so an agent or updater without --controller never loads them.
export { HostRevocation } from './host-revocation.js';
export type { HostRevocationOptions } from './host-revocation.js';
export type { ChannelClient, ChannelClientOptions } from './channel-client.js';
export type { ControllerRequest } from './controller-request.js';
export type { ControllerUrls } from './controller-urls.js';
export type { CrlRefresh, CrlRefreshOptions } from './crl-refresh.js';
export type { Renewal, RenewalOptions } from './renewal.js';

/** The modules that dial the controller, loaded when first needed. */
export async function loadControllerClient(): Promise<typeof import('./channel-client.js') & typeof import('./controller-request.js') & typeof import('./crl-refresh.js') & typeof import('./renewal.js') & typeof import('./controller-urls.js')> {
  const [channel, request, crl, renewal, urls] = await Promise.all([
    import('./channel-client.js'), import('./controller-request.js'), import('./crl-refresh.js'), import('./renewal.js'), import('./controller-urls.js'),
  ]);
  return { ...channel, ...request, ...crl, ...renewal, ...urls };
}
