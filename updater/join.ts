// `swarm-updater join`: enroll this host with a join token (contract; the controller issue implements it).

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

export async function joinCluster(_options: JoinOptions): Promise<JoinResult> {
  throw new Error('joinCluster: not built yet (controller issue)');
}
