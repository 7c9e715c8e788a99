import * as ipaddr from 'ipaddr.js';
import { extractBearerToken, hashApiKey, parseApiKeyRoute } from '../lambda/core/api-key';
import type { AllowlistEntry, AllowlistSettings, ApiKeyRecord } from '../lambda/core/model';

/**
 * The obvious implementation the product is measured against: every request parses every entry with ipaddr.js
 * and scans the whole list. It is given the same preloaded data as the real handler's warm cache (no storage)
 * and does the same per-request work around the match (bearer token, route, SHA-256 of the key, effective-list
 * rule, policy), so the ratio isolates what compiling the allowlist buys.
 */

/** Most specific entry containing `ip`, parsing each entry on the spot. */
export function naiveMatch(entries: readonly (string | AllowlistEntry)[], ip: string): string | undefined {
  let caller: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    // process() turns IPv4-mapped IPv6 into IPv4, as API Gateway's sourceIp may be either.
    caller = ipaddr.process(ip);
  } catch {
    return undefined;
  }
  let best: string | undefined;
  let bestPrefix = -1;
  for (const item of entries) {
    const entry = typeof item === 'string' ? item : item.value;
    // The family is picked by hand: ipaddr.parseCIDR tries IPv6 first and throws for every IPv4 entry, which
    // would make this baseline about 15 times slower still and the comparison flattering.
    const [network, prefix] = entry.includes(':') ? ipaddr.IPv6.parseCIDR(entry) : ipaddr.IPv4.parseCIDR(entry);
    if (network.kind() !== caller.kind()) continue;
    if (caller.match(network, prefix) && prefix > bestPrefix) {
      best = entry;
      bestPrefix = prefix;
    }
  }
  return best;
}

export interface NaiveData {
  readonly key: ApiKeyRecord;
  readonly organization: AllowlistSettings;
  readonly project: AllowlistSettings;
}

export interface NaiveEvent {
  readonly headers: Record<string, string | undefined> | null;
  readonly methodArn: string;
  readonly requestContext: { readonly identity: { readonly sourceIp: string } };
}

export interface NaivePolicy {
  readonly principalId: string;
  readonly policyDocument: {
    readonly Version: string;
    readonly Statement: { readonly Action: string; readonly Effect: 'Allow' | 'Deny'; readonly Resource: string }[];
  };
  readonly context: Record<string, string>;
}

function stageWildcard(methodArn: string): string {
  // arn:aws:execute-api:region:account:apiId/stage/METHOD/path -> .../apiId/stage/*/*
  const parts = methodArn.split('/');
  return `${parts[0]}/${parts[1]}/*/*`;
}

/** A whole naive decision over preloaded data (keyed by key hash). */
export function naiveDecide(
  event: NaiveEvent,
  data: ReadonlyMap<string, NaiveData>,
  header = 'authorization',
): NaivePolicy {
  let raw: string | undefined;
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (name.toLowerCase() === header) raw = value;
  }
  const token = extractBearerToken(raw);
  const route = token === undefined ? undefined : parseApiKeyRoute(token);
  const found = token === undefined || route === undefined ? undefined : data.get(hashApiKey(token));
  const resource = stageWildcard(event.methodArn);
  const deny = (code: string): NaivePolicy => ({
    principalId: found?.key.keyId ?? 'anonymous',
    policyDocument: {
      Version: '2012-10-17',
      Statement: [{ Action: 'execute-api:Invoke', Effect: 'Deny', Resource: resource }],
    },
    context: { errorCode: code },
  });
  if (!found || found.key.status !== 'active') return deny('invalid_api_key');
  const ip = event.requestContext.identity.sourceIp;
  const list = found.project.enabled ? found.project : found.organization.enabled ? found.organization : undefined;
  if (list && naiveMatch(list.entries, ip) === undefined) return deny('ip_not_authorized');
  if (found.key.allowlist?.enabled && naiveMatch(found.key.allowlist.entries, ip) === undefined)
    return deny('ip_not_authorized');
  return {
    principalId: found.key.keyId,
    policyDocument: {
      Version: '2012-10-17',
      Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: resource }],
    },
    context: { organizationId: found.key.organizationId, projectId: found.key.projectId, apiKeyId: found.key.keyId },
  };
}
