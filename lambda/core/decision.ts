import { CompiledAllowlist, compileAllowlist } from './allowlist';
import { ApiErrorSpec, ERRORS } from './errors';
import { entryExpiry } from './expiry';
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
 * Report-only lists, like a shadow rule: the decision above is made from the enforced lists only. A second
 * evaluation (`decideIpWithReport`) treats report-only lists as enforced; when it denies what the real decision
 * allows, the request goes through and is reported as `would_block` with the list that would block it. So a
 * report-only project list does not override an enforced organization list until it is enforced itself.
 *
 * An enabled list with no entries matches nothing, so it blocks every IP. That follows the data literally
 * rather than guessing that an empty list meant "off"; the admin API is where empty enabled lists are prevented.
 *
 * Expiring entries: the time is an argument (`now`, epoch ms), never read here, so every caller that passes the same
 * instant gets the same answer. An entry whose `expiresAt` is at or before `now` is left out of the compiled list;
 * a list whose entries have all expired is an enabled list with no entries (it blocks every IP).
 */

/** An allowlist ready for matching: compile once per load, match on every request. */
export interface CompiledScopeList {
  readonly enabled: boolean;
  /** Evaluated only by the shadow decision (never true with `enabled`). */
  readonly reportOnly: boolean;
  readonly allowlist: CompiledAllowlist;
  /**
   * The earliest `expiresAt` (epoch ms) of the entries compiled in; Infinity when none expires. From then on the
   * compiled list is stale (it still matches an expired entry): compile it again.
   */
  readonly validUntil: number;
  /** This list as the shadow decision sees it: itself, or for a report-only list the same entries enforced. */
  readonly shadow: CompiledScopeList;
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

/** What a report-only list would do: the deny of the shadow decision, when the real decision allows. */
export interface WouldBlock {
  /** The list that would block the IP. */
  readonly scope: Exclude<AllowlistScope, 'none'>;
  /** Which of the project/organization lists the shadow decision applied. */
  readonly effectiveScope: EffectiveScope;
}

export interface ReportedDecision {
  /** The decision: from the enforced lists only, exactly as `decideIp`. */
  readonly decision: IpDecision;
  /** Set when report-only lists, were they enforced, would deny what `decision` allows. */
  readonly wouldBlock: WouldBlock | undefined;
}

/**
 * `decideIp`, plus the shadow decision when any list is report-only. The shadow decision reuses the lists compiled
 * for the real one (no I/O, no compiling); without a report-only list it costs three property reads.
 */
export function decideIpWithReport(lists: DecisionLists<CompiledScopeList>, ip: string): ReportedDecision {
  const decision = decideIp(lists, ip);
  const key = lists.key;
  if (!decision.allowed || !(lists.organization.reportOnly || lists.project.reportOnly || key?.reportOnly === true))
    return { decision, wouldBlock: undefined };
  const shadow = decideIp(
    { organization: lists.organization.shadow, project: lists.project.shadow, key: key?.shadow },
    ip,
  );
  return {
    decision,
    wouldBlock: shadow.allowed ? undefined : { scope: shadow.scope, effectiveScope: shadow.effectiveScope },
  };
}

let emptyAllowlist: CompiledAllowlist | undefined;
let offList: CompiledScopeList | undefined;

/**
 * Compiles one stored list as it stands at `now` (epoch ms): entries expired by then are left out. An off list's
 * entries can never decide anything, so they are not compiled; a report-only list's are (the shadow decision
 * matches them).
 * Throws AllowlistEntryError if an entry of an enforced or report-only list is invalid.
 */
export function compileScopeList(settings: AllowlistSettings, now: number): CompiledScopeList {
  if (!settings.enabled && settings.reportOnly !== true)
    return (offList ??= new ScopeList(false, false, (emptyAllowlist ??= compileAllowlist([])), Infinity));
  let validUntil = Infinity;
  const live: string[] = [];
  for (const entry of settings.entries) {
    const expiry = entryExpiry(entry);
    if (expiry <= now) continue;
    live.push(entry.value);
    validUntil = Math.min(validUntil, expiry);
  }
  const allowlist = compileAllowlist(live);
  if (settings.enabled) return new ScopeList(true, false, allowlist, validUntil);
  return new ScopeList(false, true, allowlist, validUntil, new ScopeList(true, false, allowlist, validUntil));
}

class ScopeList implements CompiledScopeList {
  public readonly shadow: CompiledScopeList;

  constructor(
    public readonly enabled: boolean,
    public readonly reportOnly: boolean,
    public readonly allowlist: CompiledAllowlist,
    public readonly validUntil: number,
    shadow?: CompiledScopeList,
  ) {
    this.shadow = shadow ?? this;
  }
}

/**
 * Decides on stored settings (compiles them first). For one-off checks such as the admin API's "would this IP
 * be allowed?" tool; a hot path should compile once with `compileScopeList` and call `decideIp`.
 */
export function decideIpFromSettings(lists: DecisionLists<AllowlistSettings>, ip: string, now: number): IpDecision {
  return decideIpWithReportFromSettings(lists, ip, now).decision;
}

/**
 * `decideIpWithReport` on stored settings at `now` (epoch ms): what the check tool answers, so it cannot disagree
 * with the authorizer deciding at the same instant.
 */
export function decideIpWithReportFromSettings(
  lists: DecisionLists<AllowlistSettings>,
  ip: string,
  now: number,
): ReportedDecision {
  return decideIpWithReport(
    {
      organization: compileScopeList(lists.organization, now),
      project: compileScopeList(lists.project, now),
      key: lists.key === undefined ? undefined : compileScopeList(lists.key, now),
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
