/*
 * The package entry, and the root jsii compiles from: only classes, enums and structs (interfaces of readonly
 * props) belong here, because Python, Java, .NET and Go users see exactly this surface. Plain functions,
 * constants and error classes that only make sense in TypeScript live in `cdk-ip-allowlist/core` (lib/core.ts).
 */
export * from './allowlist-admin-api';
export * from './allowlist-tables';
export * from './ip-allowlist-authorizer';
export * from './ip-allowlisted-api';
export * from './monitoring';
export { Upstream } from './upstream';
export type { HttpUpstreamOptions, LambdaUpstreamOptions, UpstreamIntegrations } from './upstream';
