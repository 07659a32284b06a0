// The Examples section of every swarmctl command's help, in one table so a reviewer sees them together.
import { EXAMPLE_CONTROLLER_URL } from '../shared/defaults.js';

export const SWARMCTL_EXAMPLES: Readonly<Record<string, readonly string[]>> = {
  '': [
    `export SWARMCTL_CONTROLLER=${EXAMPLE_CONTROLLER_URL} SWARMCTL_IDENTITY=~/.swarm/admin`,
    'swarmctl host list',
    'swarmctl --json status',
  ],
  'host add': [
    'swarmctl host add sensor-a --address 10.0.4.21 --label site=lab',
    'swarmctl host add sensor-c --token-ttl 2d        # a sensor shipped pre-provisioned',
    'swarmctl --json host add sensor-b        # token, CA hash and join command for scripts',
  ],
  'host list': ['swarmctl host list', 'swarmctl host list --selector site=lab,tier!=canary --wide', 'swarmctl --json host list | jq -r \'.[] | select(.online | not) | .name\''],
  'host show': ['swarmctl host show sensor-a', 'swarmctl --json host show sensor-a'],
  'host set-address': ['swarmctl host set-address sensor-a 10.0.4.22', 'swarmctl host set-address sensor-a sensor-a.lab:9766'],
  'token list': ['swarmctl token list'],
  'token revoke': ['swarmctl token revoke sensor-b        # the printed join command stops working'],
  'host remove': ['swarmctl host remove sensor-a        # revokes its certificates and closes its channels now'],
  'host label': ['swarmctl host label sensor-a site=lab tier=edge', 'swarmctl host label sensor-a tier-        # remove the label tier'],
  'operator add': ['swarmctl operator add carol --out ./carol-identity'],
  'operator remove': ['swarmctl operator remove carol        # revokes carol\'s certificates at once'],
  'cert list': ['swarmctl cert list', 'swarmctl cert list --role operator --all'],
  status: ['swarmctl status', 'swarmctl --json status'],
  audit: ['swarmctl audit --limit 20', 'swarmctl audit --since 2h --json', 'swarmctl audit --follow'],
  completion: ['eval "$(swarmctl completion bash)"', 'swarmctl completion zsh > "${fpath[1]}/_swarmctl"', 'swarmctl completion fish > ~/.config/fish/completions/swarmctl.fish'],
};
