/**
 * The admin API's resource paths, built in one place: the route templates (`{org}` placeholders), the audit log's
 * `target` (`organizations/acme/ip_allowlist`), the CLI's request paths and the construct's grant ARNs are the same
 * tree, so they are one function.
 *
 * No imports: the CLI bundles this file without pulling in zod or the handlers, and lib/ ships it into a consumer's
 * `cdk synth`. Not exported from lib/index.ts: jsii allows only classes, interfaces, enums and structs at the root.
 */

/** A resource of the tree: an organization, one of its projects, or one of a project's API keys. */
export interface ResourceRef {
  readonly org: string;
  readonly project?: string;
  readonly keyId?: string;
}

/** What below the resource: its allowlist, a project's key collection, an organization's audit log or traffic. */
export type ResourceLeaf = 'ip_allowlist' | 'api_keys' | 'audit_log' | 'traffic';

export const API_VERSION_PREFIX = '/v1';

/**
 * The admin route that tells callers who they are (source address and IAM principal). Not under an organization:
 * every grant includes it (lib/allowlist-admin-api.ts), as STS GetCallerIdentity needs no permission, because it
 * tells callers only about themselves.
 */
export const WHOAMI_PATH = `${API_VERSION_PREFIX}/whoami`;

/**
 * The path of a resource relative to `/v1`, without a leading slash (`organizations/acme/projects/web/ip_allowlist`).
 * Each id is percent-encoded unless `raw` (route templates, whose `{org}` must stay as written); valid ids
 * (`[A-Za-z0-9_-]`) are the same either way, so the audit target of a valid request is its URL path.
 */
export function resourcePath(ref: ResourceRef, leaf?: ResourceLeaf, { raw = false } = {}): string {
  if (ref.keyId !== undefined && ref.project === undefined) throw new Error('an API key path needs its project too');
  const id = raw ? (s: string) => s : encodeURIComponent;
  let path = `organizations/${id(ref.org)}`;
  if (ref.project !== undefined) path += `/projects/${id(ref.project)}`;
  if (ref.keyId !== undefined) path += `/api_keys/${id(ref.keyId)}`;
  return leaf ? `${path}/${leaf}` : path;
}

/** The URL path of a resource below the API's root (`/v1/organizations/acme/ip_allowlist`). */
export function resourceUrlPath(ref: ResourceRef, leaf?: ResourceLeaf, options?: { raw?: boolean }): string {
  return `${API_VERSION_PREFIX}/${resourcePath(ref, leaf, options)}`;
}
