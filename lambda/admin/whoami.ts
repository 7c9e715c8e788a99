import { normalizeIpAddress } from '../core/allowlist';
import type { AdminDependencies, AdminRequest, AdminResponse } from './context';
import type { WhoamiView } from './contract/schemas';

/**
 * `GET /v1/whoami`: the caller as this API sees it, for the first question of every "why am I blocked?": the
 * source address API Gateway reports (`requestContext.identity.sourceIp`, the TCP peer, never a header) and the
 * IAM principal that signed the request. Reads nothing from storage and writes nothing.
 *
 * The address is the one the admin API sees. The protected API sees the same one only when the client reaches
 * both the same way (same network path, same IP address type): docs/doctor.md says when they differ.
 */

/** The response body (contract/schemas.ts `Whoami`). `ip` and `family` are null when API Gateway reports something that is not an address. */
export type { WhoamiView };

export function whoamiView(sourceIp: string | undefined, principal: string): WhoamiView {
  let ip: string | null = null;
  try {
    ip = sourceIp === undefined ? null : normalizeIpAddress(sourceIp);
  } catch {
    // API Gateway's console test invocations report `test-invoke-source-ip`: not an address, and said so (null).
  }
  return {
    object: 'whoami',
    sourceIp: sourceIp ?? null,
    ip,
    family: ip === null ? null : ip.includes(':') ? 'ipv6' : 'ipv4',
    principal,
  };
}

export function whoami(_deps: AdminDependencies, req: AdminRequest<'whoami'>): Promise<AdminResponse> {
  return Promise.resolve({ statusCode: 200, body: whoamiView(req.sourceIp, req.actor) });
}
