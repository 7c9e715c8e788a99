export * from './allowlist-admin-api';
export * from './allowlist-tables';
export * from './ip-allowlist-authorizer';
export * from './ip-allowlisted-api';
export * from './upstream';
export { gatewayResponseDefinitions, DEFAULT_API_KEY_HEADER } from './gateway-responses';
export type { GatewayResponseDefinition } from './gateway-responses';
export { HANDLER_RUNTIME, HANDLER_ARCHITECTURE } from './handler-function';

// The allowlist core, for tools that validate or test entries the way the authorizer and the admin API do.
export { normalizeAllowlistEntry, compileAllowlist, AllowlistEntryError } from '../lambda/core/allowlist';
export type { CompiledAllowlist } from '../lambda/core/allowlist';
