import type { Register } from '../context';
import { registerAllowlist } from './allowlist';
import { registerAudit } from './audit';
import { registerCaller } from './caller';
import { registerKeys } from './keys';
import { registerTraffic } from './traffic';

/**
 * Every command group of the CLI, in the order `--help` lists them. A new command is a module exporting a
 * `Register` (see allowlist.ts) and one line here.
 */
export const COMMAND_GROUPS: readonly Register[] = [
  registerAllowlist,
  registerKeys,
  registerAudit,
  registerTraffic,
  registerCaller,
];
