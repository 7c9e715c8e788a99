import * as crypto from 'node:crypto';
import { isIP } from 'node:net';
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { AUTHORIZER_METRIC_NAMES, DEFAULT_API_KEY_HEADER, MAX_DECISION_AGE_SECONDS } from '../../lib/contract';
import { AuthorizerStore } from '../adapters/dynamodb-store';
import { normalizeIpAddress } from '../core/allowlist';
import { hashApiKey, NO_API_KEY, NOT_A_BEARER_KEY, readPresentedApiKey } from '../core/api-key';
import { decideIpWithReport, ipNotAuthorizedError } from '../core/decision';
import { ApiErrorSpec, ERRORS } from '../core/errors';
import { AllowlistScope } from '../core/model';
import { createKeyLoader, InvalidKey, KeyEntry, Loaded, MALFORMED_KEY, ValidKey } from './loader';
import { TrafficRecorder } from './recorder';

/**
 * The authorizer, built by a factory so that everything with state or side effects (store, clock, logger,
 * metrics, the in-memory cache) is injected and resettable. lambda/authorizer/index.ts wires the real ones.
 *
 * A decision in four steps: read the key from the header; load the key record and its lists (from memory, or one
 * store read: loader.ts); decide on them (the pure core, lambda/core/decision.ts); finish: the one place that records
 * the metric, writes the log line and builds the policy (or fails closed). On the warm path (key and lists in
 * memory) that is a SHA-256, two or three Map lookups, one compiled match and a response object reused per key.
 */

/** The slice of Powertools Logger the authorizer uses (tests may pass any object with these methods). */
export interface AuthorizerLogger {
  warn(message: string, attributes: Record<string, unknown>): void;
  error(message: string, attributes: Record<string, unknown>): void;
}

/** Counters the authorizer reports; see `metrics.ts` for the CloudWatch side. */
export type AuthorizerOutcome = Exclude<keyof typeof AUTHORIZER_METRIC_NAMES, 'storeReads' | 'trafficWriteErrors'>;

export interface AuthorizerMetrics {
  /**
   * Called once per invocation, after the decision. `storeReads` is the number of store calls it made: 0 or 1, or
   * 2 with the in-memory cache off (key item, then lists).
   */
  record(outcome: AuthorizerOutcome, storeReads: number, now: number): void;
}

export interface AuthorizerOptions {
  readonly store: AuthorizerStore;
  readonly logger: AuthorizerLogger;
  /**
   * Lifetime of in-memory key records and compiled allowlists, counted from the start of the read that loaded
   * them. 0 disables the in-memory cache.
   */
  readonly memoryCacheTtlSeconds: number;
  /**
   * The decision age bound B (lib/contract.ts): the authorizer fails closed rather than return a decision whose
   * oldest data was read more than this before it returns. Also the deadline of each store read. At least twice
   * `memoryCacheTtlSeconds`.
   *
   * @default MAX_DECISION_AGE_SECONDS (4)
   */
  readonly maxDecisionAgeSeconds?: number;
  /**
   * Header carrying `Bearer <key>`, matched case-insensitively.
   *
   * @default 'authorization'
   */
  readonly apiKeyHeader?: string;
  /**
   * Milliseconds since the epoch. Injected so tests can move time.
   *
   * @default Date.now
   */
  readonly clock?: () => number;
  /**
   * Upper bound on cached valid keys, and separately on cached invalid (unknown, revoked) keys and on cached
   * allowlists. The separate bound for invalid keys is what keeps a flood of made-up keys, which costs an attacker
   * nothing, from evicting the valid keys of real callers.
   *
   * @default 10000
   */
  readonly maxCacheEntries?: number;
  /**
   * @default - no metrics
   */
  readonly metrics?: AuthorizerMetrics;
  /**
   * Records a sighting of every decision on a valid key (recorder.ts): in memory on every decision, written only by
   * invocations that read the store anyway, never changing a decision and delaying one by at most the recorder's
   * flush bound.
   *
   * @default - nothing is recorded
   */
  readonly traffic?: TrafficRecorder;
}

export interface Authorizer {
  /** The Lambda handler body. Resolves with an Allow or Deny policy; rejects when storage fails (fail closed). */
  handle(event: APIGatewayRequestAuthorizerEvent): Promise<APIGatewayAuthorizerResult>;
  /** Forgets every cached key record and allowlist. */
  resetCache(): void;
  /**
   * Number of cached keys (valid and invalid), allowlists (stored, or vouched for by a valid key) and "no list
   * stored" results for routes no valid key vouched for (for tests and diagnostics).
   */
  cacheSizes(): { readonly keys: number; readonly allowlists: number; readonly absentLists: number };
}

/** Thrown (after one log line) when the decision cannot be made; API Gateway answers 5xx and caches nothing. */
export class AuthorizerUnavailableError extends Error {
  constructor(options?: { cause?: unknown }) {
    // Not "Unauthorized": API Gateway maps exactly that message to a 401, and this must stay a 5xx.
    super(ERRORS.authorizerUnavailable.code, options);
    this.name = 'AuthorizerUnavailableError';
  }
}

/** principalId of a deny that has no key id to name. */
export const ANONYMOUS_PRINCIPAL = 'anonymous';

export const DEFAULT_MAX_CACHE_ENTRIES = 10_000;

/** What the decision came to: the outcome counted, with what its log line and policy name. */
type Verdict =
  | Exclude<Loaded, { readonly outcome: 'valid' }>
  | { readonly outcome: 'allowed'; readonly key: ValidKey; readonly scope: AllowlistScope }
  | { readonly outcome: 'wouldBlock'; readonly key: ValidKey; readonly scope: Exclude<AllowlistScope, 'none'> }
  | {
      readonly outcome: 'blocked';
      readonly key: ValidKey;
      readonly reason: string;
      readonly scope: Exclude<AllowlistScope, 'none'>;
    }
  | { readonly outcome: 'missingKey' };

/** The request as the steps after "read" need it. */
interface Request {
  readonly event: APIGatewayRequestAuthorizerEvent;
  /** The stage-wide resource the policy covers. */
  readonly resource: string;
  readonly sourceIp: string;
  /** When the invocation began: what the metrics count by. */
  readonly now: number;
}

/**
 * `hashApiKey`, one-shot where the runtime has `crypto.hash` (Node >= 20.12): the same digest without a Hash object
 * per call. Hashing is the largest cost of a warm decision, and this form measured about 40% cheaper.
 */
const keyHashOf: (key: string) => string =
  typeof crypto.hash === 'function' ? (key) => crypto.hash('sha256', key, 'hex') : hashApiKey;

const AMBIGUOUS_KEY: InvalidKey = Object.freeze({ ...MALFORMED_KEY, detail: 'ambiguous' });

/** The verdicts on a request that presents no usable key: nothing to load, nothing to decide. */
const NO_KEY: Verdict = Object.freeze({ outcome: 'missingKey' });
const AMBIGUOUS_KEY_HEADER: Verdict = Object.freeze({ outcome: 'invalidKey', key: AMBIGUOUS_KEY, storeReads: 0 });
const NOT_A_BEARER: Verdict = Object.freeze({ outcome: 'invalidKey', key: MALFORMED_KEY, storeReads: 0 });

export function createAuthorizer(options: AuthorizerOptions): Authorizer {
  const { store, logger, metrics, traffic } = options;
  const clock = options.clock ?? Date.now;
  const header = (options.apiKeyHeader ?? DEFAULT_API_KEY_HEADER).toLowerCase();
  const ttl = options.memoryCacheTtlSeconds;
  if (!Number.isInteger(ttl) || ttl < 0)
    throw new Error(`memoryCacheTtlSeconds must be a whole number >= 0, got ${ttl}`);
  const maxAge = options.maxDecisionAgeSeconds ?? MAX_DECISION_AGE_SECONDS;
  if (!Number.isInteger(maxAge) || maxAge < 1)
    throw new Error(`maxDecisionAgeSeconds must be a whole number >= 1, got ${maxAge}`);
  if (ttl * 2 > maxAge) {
    throw new Error(`memoryCacheTtlSeconds (${ttl}) must be at most half of maxDecisionAgeSeconds (${maxAge})`);
  }
  const loader = createKeyLoader({
    store,
    clock,
    memoryCacheTtlSeconds: ttl,
    maxDecisionAgeSeconds: maxAge,
    maxCacheEntries: options.maxCacheEntries ?? DEFAULT_MAX_CACHE_ENTRIES,
  });
  const stage = new StageResource();

  async function handle(event: APIGatewayRequestAuthorizerEvent): Promise<APIGatewayAuthorizerResult> {
    const now = clock();
    const request: Request = {
      event,
      resource: stage.of(event.methodArn),
      sourceIp: event.requestContext?.identity?.sourceIp ?? '',
      now,
    };
    const token = readApiKey(event, header);
    if (typeof token !== 'string') return finish(request, token, 0);
    const loading = loader.load(token, keyHashOf(token), now);
    // Awaited only when it is a promise: the warm path never gives up its turn of the event loop.
    const loaded = loading instanceof Promise ? await loading : loading;
    const verdict = decide(loaded, request.sourceIp);
    if (traffic === undefined) return finish(request, verdict, loaded.storeReads);
    if (loaded.outcome === 'valid') noteSighting(traffic, loaded, verdict, request);
    const result = finish(request, verdict, loaded.storeReads);
    // Only an invocation that read the store writes sightings: the warm path stays without I/O.
    if (loaded.storeReads > 0) await traffic.flush(now);
    return result;
  }

  /** The decision, as its sighting: outcome and the list that decided. */
  function noteSighting(
    recorder: TrafficRecorder,
    loaded: Extract<Loaded, { readonly outcome: 'valid' }>,
    verdict: Verdict,
    request: Request,
  ): void {
    const { sourceIp, now } = request;
    switch (verdict.outcome) {
      case 'allowed':
        return recorder.note(loaded, sourceIp, 'allowed', verdict.scope, now);
      case 'wouldBlock':
        return recorder.note(loaded, sourceIp, 'would_block', verdict.scope, now);
      case 'blocked':
        return recorder.note(loaded, sourceIp, 'blocked', verdict.scope, now);
    }
  }

  /** The one exit: one metric, one log line for anything but a plain Allow, then the policy (or the 5xx error). */
  function finish(request: Request, verdict: Verdict, storeReads: number): APIGatewayAuthorizerResult {
    const { event, resource, sourceIp, now } = request;
    switch (verdict.outcome) {
      case 'allowed':
        metrics?.record('allowed', storeReads, now);
        return allowFor(verdict.key, resource);
      case 'wouldBlock':
        logWouldBlock(event, sourceIp, verdict.scope, verdict.key);
        metrics?.record('wouldBlock', storeReads, now);
        return allowFor(verdict.key, resource);
      case 'blocked':
        logDeny(event, sourceIp, verdict.reason, verdict.scope, verdict.key, 'blocked');
        metrics?.record('blocked', storeReads, now);
        return deny(resource, verdict.key.keyId, ipNotAuthorizedError(verdict.scope), verdict.key);
      case 'invalidKey':
        logDeny(event, sourceIp, ERRORS.invalidApiKey.code, undefined, verdict.key);
        metrics?.record('invalidKey', storeReads, now);
        return deny(resource, verdict.key.keyId ?? ANONYMOUS_PRINCIPAL, ERRORS.invalidApiKey, verdict.key);
      case 'missingKey':
        logDeny(event, sourceIp, ERRORS.missingApiKey.code, undefined, undefined);
        metrics?.record('missingKey', storeReads, now);
        return deny(resource, ANONYMOUS_PRINCIPAL, ERRORS.missingApiKey, undefined);
      case 'storeError': {
        const { cause, keyId, route } = verdict;
        logger.error('authorizer cannot decide: failing closed', {
          reason: ERRORS.authorizerUnavailable.code,
          cause: cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause),
          error: cause,
          keyId,
          organizationId: route.organizationId,
          projectId: route.projectId,
          sourceIp,
          sourceIpFamily: ipFamily(sourceIp),
          requestId: event.requestContext?.requestId,
        });
        metrics?.record('storeError', storeReads, now);
        throw new AuthorizerUnavailableError({ cause });
      }
    }
  }

  /** The Allow of a key, built once per key and stage. */
  function allowFor(key: ValidKey, resource: string): APIGatewayAuthorizerResult {
    if (key.allowResource !== resource || key.allowResult === undefined) {
      key.allowResult = allow(resource, key);
      key.allowResource = resource;
    }
    return key.allowResult;
  }

  /** The blocked line's fields, for a request a report-only list would have blocked (it was let through). */
  function logWouldBlock(
    event: APIGatewayRequestAuthorizerEvent,
    sourceIp: string,
    scope: Exclude<AllowlistScope, 'none'>,
    key: ValidKey,
  ): void {
    logger.warn('request would be denied by a report-only allowlist (allowed)', {
      outcome: 'would_block',
      reason: ipNotAuthorizedError(scope).code,
      scope,
      keyId: key.keyId,
      organizationId: key.organizationId,
      projectId: key.projectId,
      sourceIp,
      sourceIpFamily: ipFamily(sourceIp),
      requestId: event.requestContext?.requestId,
    });
  }

  function logDeny(
    event: APIGatewayRequestAuthorizerEvent,
    sourceIp: string,
    reason: string,
    scope: string | undefined,
    key: KeyEntry | undefined,
    outcome?: 'blocked',
  ): void {
    logger.warn('request denied', {
      // Tells a refusal by an allowlist from a would-block line (the Contributor Insights rule of lib/monitoring.ts).
      outcome,
      reason,
      detail: key !== undefined && !key.valid ? key.detail : undefined,
      scope,
      keyId: key?.keyId,
      organizationId: key?.organizationId,
      projectId: key?.projectId,
      sourceIp,
      sourceIpFamily: ipFamily(sourceIp),
      requestId: event.requestContext?.requestId,
    });
  }

  return {
    handle,
    resetCache: () => loader.reset(),
    cacheSizes: () => loader.sizes(),
  };
}

/** The decision on what was loaded: the pure core's, for a valid key; loading settled anything else. */
function decide(loaded: Loaded, sourceIp: string): Verdict {
  if (loaded.outcome !== 'valid') return loaded;
  const { key, organization, project } = loaded;
  const { decision, wouldBlock } = decideIpWithReport({ organization, project, key: key.keyList }, sourceIp);
  if (!decision.allowed) return { outcome: 'blocked', key, reason: decision.reason, scope: decision.scope };
  return wouldBlock === undefined
    ? { outcome: 'allowed', key, scope: decision.scope }
    : { outcome: 'wouldBlock', key, scope: wouldBlock.scope };
}

/** The presented key, or the verdict on a request without a usable one. */
function readApiKey(event: APIGatewayRequestAuthorizerEvent, header: string): string | Verdict {
  const value = readHeader(event, header);
  if (value === AMBIGUOUS) return AMBIGUOUS_KEY_HEADER;
  const token = readPresentedApiKey(value);
  if (token === NO_API_KEY) return NO_KEY;
  if (token === NOT_A_BEARER_KEY) return NOT_A_BEARER;
  return token;
}

/**
 * The caller's address family as the matcher sees it (IPv4-mapped IPv6 is IPv4), for the log line of a refused
 * request: with a dual-stack API a client may arrive over IPv6 while only its IPv4 egress is allowlisted.
 */
export function ipFamily(ip: string): 'ipv4' | 'ipv6' | undefined {
  const family = isIP(ip);
  if (family === 4) return 'ipv4';
  if (family !== 6) return undefined;
  try {
    return normalizeIpAddress(ip).includes(':') ? 'ipv6' : 'ipv4';
  } catch {
    return 'ipv6';
  }
}

/** The key header was sent more than once with different values. */
const AMBIGUOUS: unique symbol = Symbol('ambiguous header');

/**
 * The header's value, case-insensitively (REST API events keep the client's spelling of header names), or
 * AMBIGUOUS when the request carries it more than once with different values. `headers` holds only one of those
 * values, and which one API Gateway also uses as the cache key is not something to bet an Allow on: such a request
 * is refused instead. `multiValueHeaders` has every value, so it is read first; `headers` serves events without it.
 */
function readHeader(event: APIGatewayRequestAuthorizerEvent, name: string): string | undefined | typeof AMBIGUOUS {
  let value: string | undefined;
  const multi = event.multiValueHeaders;
  if (multi) {
    for (const k in multi) {
      if (k.length !== name.length || k.toLowerCase() !== name) continue;
      for (const v of multi[k] ?? []) {
        if (value === undefined) value = v;
        else if (v !== value) return AMBIGUOUS;
      }
    }
    if (value !== undefined) return value;
  }
  const headers = event.headers;
  if (headers) {
    for (const k in headers) {
      if (k.length !== name.length || k.toLowerCase() !== name) continue;
      const v = headers[k];
      if (v === undefined || v === null) continue;
      if (value === undefined) value = v;
      else if (v !== value) return AMBIGUOUS;
    }
  }
  return value;
}

/**
 * `arn:aws:execute-api:REGION:ACCOUNT:API/STAGE/*\/*` from a methodArn `...:API/STAGE/VERB/path`. A decision is
 * cached by API Gateway per key and IP and reused for every method and path of the stage, so it must cover the
 * stage, never the one method it was made for. The last stage is remembered: one API calls this per request.
 */
class StageResource {
  private prefix = '';
  private resource = '';

  of(methodArn: string): string {
    if (typeof methodArn !== 'string')
      throw new TypeError('the event has no methodArn: not an API Gateway REQUEST authorizer event');
    const first = methodArn.indexOf('/');
    const second = first < 0 ? -1 : methodArn.indexOf('/', first + 1);
    if (second < 0) throw new TypeError(`methodArn has no stage: ${methodArn}`);
    if (second !== this.prefix.length || !methodArn.startsWith(this.prefix)) {
      this.prefix = methodArn.slice(0, second);
      this.resource = `${this.prefix}/*/*`;
    }
    return this.resource;
  }
}

function policy(effect: 'Allow' | 'Deny', resource: string): APIGatewayAuthorizerResult['policyDocument'] {
  return { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: effect, Resource: resource }] };
}

function allow(resource: string, key: ValidKey): APIGatewayAuthorizerResult {
  return deepFreeze({
    principalId: key.keyId,
    policyDocument: policy('Allow', resource),
    context: { organizationId: key.organizationId, projectId: key.projectId, apiKeyId: key.keyId },
  });
}

function deny(
  resource: string,
  principalId: string,
  error: ApiErrorSpec,
  key: KeyEntry | undefined,
): APIGatewayAuthorizerResult {
  const context: Record<string, string> = {
    errorMessage: error.message,
    errorType: error.type,
    errorCode: error.code,
  };
  // Ids go into the context only once the key record has vouched for them.
  if (key !== undefined && (key.valid || key.detail === 'revoked')) {
    if (key.keyId !== undefined) context.apiKeyId = key.keyId;
    if (key.organizationId !== undefined) context.organizationId = key.organizationId;
    if (key.projectId !== undefined) context.projectId = key.projectId;
  }
  return { principalId, policyDocument: policy('Deny', resource), context };
}

/** The Allow result is shared by every request of a key, so nothing downstream may change it. */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
