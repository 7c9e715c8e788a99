import { CompiledAllowlist, compileAllowlist } from './allowlist';
import { ApiErrorSpec, ERRORS } from './errors';
import { AllowlistScope, AllowlistSettings } from './model';

/**
 * The IP decision, as pure functions over plain data. Shared by the authorizer (which compiles each list once
 * per load and calls `decideIp` per request) and the admin API's check tool (which calls `decideIpFromSettings`
 * with the stored, uncompiled settings).
 *
 * The rule, as in the feature we model:
 * 1. If the project's list is enabled, only the project's entries apply.
 * 2. Otherwise, if the organization's list is enabled, only the organization's entries apply.
 * 3. Otherwise the IP is not restricted.
 * The two lists are never merged. Then, if the key has an enabled list of its own, the IP must ALSO match it:
 * a key list can only narrow, never widen.
 *
 * An enabled list with no entries matches nothing, so it blocks every IP. That follows the data literally
 * rather than guessing that an empty list meant "off"; the admin API is where empty enabled lists are prevented.
 */

/** An allowlist ready for matching: compile once per load, match on every request. */
export interface CompiledScopeList {
  readonly enabled: boolean;
  readonly allowlist: CompiledAllowlist;
}

/** The lists that apply to one key. `key` is absent when the key has no list of its own. */
export interface DecisionLists<L> {
  readonly organization: L;
  readonly project: L;
  readonly key?: L;
}

/** The list among organization/project that governs a key: the project's if enabled, else the org's, else none. */
export type EffectiveScope = Exclude<AllowlistScope, 'key'>;

export interface AllowDecision {
  readonly allowed: true;
  /** Which of the project/organization lists applied ('none': neither is enabled). */
  readonly scope: EffectiveScope;
  /** The most specific canonical entry of the applied list that matched; undefined when scope is 'none'. */
  readonly matchedEntry: string | undefined;
  /** The entry of the key's own list that matched; undefined when the key has no enabled list. */
  readonly keyMatchedEntry: string | undefined;
}

export interface DenyDecision {
  readonly allowed: false;
  /** The list that blocked the IP. */
  readonly scope: Exclude<AllowlistScope, 'none'>;
  readonly reason: 'ip_not_authorized';
  /** Which of the project/organization lists applied (it may have let the IP through when `scope` is 'key'). */
  readonly effectiveScope: EffectiveScope;
}

export type IpDecision = AllowDecision | DenyDecision;

export function effectiveScope(organizationEnabled: boolean, projectEnabled: boolean): EffectiveScope {
  if (projectEnabled) return 'project';
  if (organizationEnabled) return 'organization';
  return 'none';
}

/** Decides on compiled lists. `ip` is API Gateway's `sourceIp`; an unparseable ip matches no list. */
export function decideIp(lists: DecisionLists<CompiledScopeList>, ip: string): IpDecision {
  const scope = effectiveScope(lists.organization.enabled, lists.project.enabled);
  let matchedEntry: string | undefined;
  if (scope !== 'none') {
    matchedEntry = (scope === 'project' ? lists.project : lists.organization).allowlist.match(ip);
    if (matchedEntry === undefined)
      return { allowed: false, scope, reason: 'ip_not_authorized', effectiveScope: scope };
  }
  let keyMatchedEntry: string | undefined;
  const key = lists.key;
  if (key !== undefined && key.enabled) {
    keyMatchedEntry = key.allowlist.match(ip);
    if (keyMatchedEntry === undefined) {
      return { allowed: false, scope: 'key', reason: 'ip_not_authorized', effectiveScope: scope };
    }
  }
  return { allowed: true, scope, matchedEntry, keyMatchedEntry };
}

let emptyAllowlist: CompiledAllowlist | undefined;

/**
 * Compiles one stored list. A disabled list's entries can never decide anything, so they are not compiled.
 * Throws AllowlistEntryError if an entry of an enabled list is invalid.
 */
export function compileScopeList(settings: AllowlistSettings): CompiledScopeList {
  if (!settings.enabled) return { enabled: false, allowlist: (emptyAllowlist ??= compileAllowlist([])) };
  return { enabled: true, allowlist: compileAllowlist(settings.entries.map((e) => e.value)) };
}

/**
 * Decides on stored settings (compiles them first). For one-off checks such as the admin API's "would this IP
 * be allowed?" tool; a hot path should compile once with `compileScopeList` and call `decideIp`.
 */
export function decideIpFromSettings(lists: DecisionLists<AllowlistSettings>, ip: string): IpDecision {
  return decideIp(
    {
      organization: compileScopeList(lists.organization),
      project: compileScopeList(lists.project),
      key: lists.key === undefined ? undefined : compileScopeList(lists.key),
    },
    ip,
  );
}

/** The client-facing error of a deny, from the one table of error bodies. */
export function ipNotAuthorizedError(scope: DenyDecision['scope']): ApiErrorSpec {
  switch (scope) {
    case 'project':
      return ERRORS.ipNotAuthorizedProject;
    case 'organization':
      return ERRORS.ipNotAuthorizedOrganization;
    case 'key':
      return ERRORS.ipNotAuthorizedKey;
  }
}
