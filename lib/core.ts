/*
 * `cdk-ip-allowlist/core`: the TypeScript-only part of the package, outside the jsii surface (package.json
 * "exports"). Free functions, constants and an `Error` subclass cannot cross into Python, Java, .NET or Go, so
 * they are not exported from the package root (lib/index.ts).
 *
 * The build bundles this entry with esbuild into dist/lib/core.js (scripts/build.js), so the allowlist core's
 * own dependency (ipaddr.js) is inlined rather than installed.
 */

// The allowlist core, for tools that validate or test entries the way the authorizer and the admin API do.
export {
  normalizeAllowlistEntry,
  compileAllowlist,
  familiesCoveredBy,
  AllowlistEntryError,
} from '../lambda/core/allowlist';
export type { CompiledAllowlist, FamilyCover } from '../lambda/core/allowlist';

export { gatewayResponseDefinitions } from './gateway-responses';
export { DEFAULT_API_KEY_HEADER } from './contract';
export type { GatewayResponseDefinition } from './gateway-responses';
export { HANDLER_RUNTIME, HANDLER_ARCHITECTURE } from './handler-function';
export { UPSTREAM_CONTEXT_HEADERS } from './upstream';
