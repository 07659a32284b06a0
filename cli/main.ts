#!/usr/bin/env node
// The `swarmctl` bin.
import { main } from '../shared/cli.js';
import { buildSwarmctl } from './program.js';

main(buildSwarmctl());
