import * as crypto from 'node:crypto';
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { AuthorizerReadResult, AuthorizerStore } from '../adapters/dynamodb-store';
import { organizationAllowlistPk, projectAllowlistPk } from '../adapters/schema';
import { ApiKeyRoute, hashApiKey, NO_API_KEY, NOT_A_BEARER_KEY, parseApiKeyRoute, readPresentedApiKey } from '../core/api-key';
import { CompiledScopeList, compileScopeList, decideIp, ipNotAuthorizedError } from '../core/decision';
import { ApiErrorSpec, ERRORS } from '../core/errors';
import { AllowlistSettings, ApiKeyRecord } from '../core/model';
import { TtlCache } from './cache';
import { DEFAULT_API_KEY_HEADER } from './config';

/**
 * The authorizer, built by a factory so that everything with state or side effects (store, clock, logger,
 * metrics, the in-memory cache) is injected and resettable. lambda/authorizer/index.ts wires the real ones.
 *
 * Warm path (key and lists in memory): extract the bearer token, SHA-256 it, two or three Map lookups, one
 * compiled match, and a response object reused per key. Cold path: one BatchGetItem for whatever is missing.
 */

/** The slice of Powertools Logger the authorizer uses (tests may pass any object with these methods). */
export interface AuthorizerLogger {
  warn(message: string, attributes: Record<string, unknown>): void;
  error(message: string, attributes: Record<string, unknown>): void;
}

/** Counters the authorizer reports; see `metrics.ts` for the CloudWatch side. */
export type AuthorizerOutcome = 'allowed' | 'blocked' | 'invalidKey' | 'missingKey' | 'storeError';

export interface AuthorizerMetrics {
  /** Called once per invocation, after the decision. `storeReads` is the number of store calls it made (0 or 1). */
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
}

export interface Authorizer {
  /** The Lambda handler body. Resolves with an Allow or Deny policy; rejects when storage fails (fail closed). */
  handle(event: APIGatewayRequestAuthorizerEvent): Promise<APIGatewayAuthorizerResult>;
  /** Forgets every cached key record and allowlist. */
  resetCache(): void;
  /** Number of cached keys (valid and invalid) and allowlists (for tests and diagnostics). */
  cacheSizes(): { readonly keys: number; readonly allowlists: number };
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

type InvalidKeyDetail = 'malformed' | 'ambiguous' | 'unknown' | 'revoked' | 'route_mismatch';

interface ValidKey {
  readonly valid: true;
  readonly keyId: string;
  readonly organizationId: string;
  readonly projectId: string;
  readonly organizationPk: string;
  readonly projectPk: string;
  /** The key's own list when enabled; undefined when it has none or it is disabled. */
  readonly keyList: CompiledScopeList | undefined;
  /** The Allow response for `allowResource`; a key is nearly always used on one stage, so it is built once. */
  allowResource: string;
  allowResult: APIGatewayAuthorizerResult | undefined;
}

interface InvalidKey {
  readonly valid: false;
  readonly detail: InvalidKeyDetail;
  readonly keyId: string | undefined;
  /** The ids the key's route claims (unverified unless detail is 'revoked'). */
  readonly organizationId: string | undefined;
  readonly projectId: string | undefined;
}

type KeyEntry = ValidKey | InvalidKey;

/**
 * `hashApiKey`, one-shot where the runtime has `crypto.hash` (Node >= 20.12): the same digest without a Hash object
 * per call. Hashing is the largest cost of a warm decision, and this form measured about 40% cheaper.
 */
const keyHashOf: (key: string) => string =
  typeof crypto.hash === 'function' ? (key) => crypto.hash('sha256', key, 'hex') : hashApiKey;

const MALFORMED_KEY: InvalidKey = Object.freeze({
  valid: false,
  detail: 'malformed',
  keyId: undefined,
  organizationId: undefined,
  projectId: undefined,
});

const AMBIGUOUS_KEY: InvalidKey = Object.freeze({ ...MALFORMED_KEY, detail: 'ambiguous' });

export function createAuthorizer(options: AuthorizerOptions): Authorizer {
  const { store, logger, metrics } = options;
  const clock = options.clock ?? Date.now;
  const header = (options.apiKeyHeader ?? DEFAULT_API_KEY_HEADER).toLowerCase();
  const ttl = options.memoryCacheTtlSeconds;
  if (!Number.isInteger(ttl) || ttl < 0) throw new Error(`memoryCacheTtlSeconds must be a whole number >= 0, got ${ttl}`);
  const cacheOptions = { ttlMs: ttl * 1000, maxEntries: options.maxCacheEntries ?? DEFAULT_MAX_CACHE_ENTRIES };
  const keys = new TtlCache<ValidKey>(cacheOptions);
  const invalidKeys = new TtlCache<InvalidKey>(cacheOptions);
  const lists = new TtlCache<CompiledScopeList>(cacheOptions);
  const stage = new StageResource();

  async function handle(event: APIGatewayRequestAuthorizerEvent): Promise<APIGatewayAuthorizerResult> {
    const now = clock();
    const resource = stage.of(event.methodArn);
    const sourceIp = event.requestContext?.identity?.sourceIp ?? '';
    const headerValue = readHeader(event, header);
    if (headerValue === AMBIGUOUS) {
      logDeny(event, sourceIp, ERRORS.invalidApiKey.code, undefined, AMBIGUOUS_KEY);
      metrics?.record('invalidKey', 0, now);
      return deny(resource, ANONYMOUS_PRINCIPAL, ERRORS.invalidApiKey, AMBIGUOUS_KEY);
    }
    const token = readPresentedApiKey(headerValue);
    if (token === NO_API_KEY) {
      logDeny(event, sourceIp, 'missing_api_key', undefined, undefined);
      metrics?.record('missingKey', 0, now);
      return deny(resource, ANONYMOUS_PRINCIPAL, ERRORS.missingApiKey, undefined);
    }
    if (token === NOT_A_BEARER_KEY) {
      logDeny(event, sourceIp, ERRORS.invalidApiKey.code, undefined, MALFORMED_KEY);
      metrics?.record('invalidKey', 0, now);
      return deny(resource, ANONYMOUS_PRINCIPAL, ERRORS.invalidApiKey, MALFORMED_KEY);
    }

    const keyHash = keyHashOf(token);
    let key: KeyEntry | undefined = keys.get(keyHash, now) ?? invalidKeys.get(keyHash, now);
    let organization: CompiledScopeList | undefined;
    let project: CompiledScopeList | undefined;
    if (key !== undefined && key.valid) {
      organization = lists.get(key.organizationPk, now);
      project = lists.get(key.projectPk, now);
    }

    let storeReads = 0;
    if (key === undefined || (key.valid && (organization === undefined || project === undefined))) {
      // Reaching here with a cached key means it is valid and only lists are missing.
      const cachedKey = key as ValidKey | undefined;
      const route: ApiKeyRoute | undefined = cachedKey ?? parseApiKeyRoute(token);
      if (route === undefined) {
        key = MALFORMED_KEY;
      } else {
        if (cachedKey === undefined) {
          // Another key of the same project may have loaded the lists already.
          organization = lists.get(organizationAllowlistPk(route.organizationId), now);
          project = lists.get(projectAllowlistPk(route.organizationId, route.projectId), now);
        }
        storeReads = 1;
        let read: AuthorizerReadResult;
        try {
          read = await store.read({
            keyHash: cachedKey === undefined ? keyHash : undefined,
            organizationId: route.organizationId,
            projectId: route.projectId,
            organizationList: organization === undefined,
            projectList: project === undefined,
          });
          if (cachedKey === undefined) {
            key = toKeyEntry(read.key, route);
            if (key.valid) keys.set(keyHash, key, now);
            else invalidKeys.set(keyHash, key, now);
          } else {
            key = cachedKey;
          }
          // Lists of a route no valid key vouches for are not kept: random forged routes must not fill memory.
          if (key.valid) {
            if (organization === undefined) {
              organization = compileScopeList(requireList(read.organizationList, 'organization'));
              lists.set(key.organizationPk, organization, now);
            }
            if (project === undefined) {
              project = compileScopeList(requireList(read.projectList, 'project'));
              lists.set(key.projectPk, project, now);
            }
          }
        } catch (err) {
          logger.error('authorizer cannot decide: failing closed', {
            reason: ERRORS.authorizerUnavailable.code,
            cause: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
            error: err,
            keyId: cachedKey?.keyId,
            organizationId: route.organizationId,
            projectId: route.projectId,
            sourceIp,
            requestId: event.requestContext?.requestId,
          });
          metrics?.record('storeError', storeReads, now);
          throw new AuthorizerUnavailableError({ cause: err });
        }
      }
    }

    if (!key.valid) {
      logDeny(event, sourceIp, ERRORS.invalidApiKey.code, undefined, key);
      metrics?.record('invalidKey', storeReads, now);
      return deny(resource, key.keyId ?? ANONYMOUS_PRINCIPAL, ERRORS.invalidApiKey, key);
    }

    const decision = decideIp({ organization: organization!, project: project!, key: key.keyList }, sourceIp);
    if (decision.allowed) {
      metrics?.record('allowed', storeReads, now);
      if (key.allowResource !== resource || key.allowResult === undefined) {
        key.allowResult = allow(resource, key);
        key.allowResource = resource;
      }
      return key.allowResult;
    }
    logDeny(event, sourceIp, decision.reason, decision.scope, key);
    metrics?.record('blocked', storeReads, now);
    return deny(resource, key.keyId, ipNotAuthorizedError(decision.scope), key);
  }

  function logDeny(
    event: APIGatewayRequestAuthorizerEvent,
    sourceIp: string,
    reason: string,
    scope: string | undefined,
    key: KeyEntry | undefined,
  ): void {
    logger.warn('request denied', {
      reason,
      detail: key !== undefined && !key.valid ? key.detail : undefined,
      scope,
      keyId: key?.keyId,
      organizationId: key?.organizationId,
      projectId: key?.projectId,
      sourceIp,
      requestId: event.requestContext?.requestId,
    });
  }

  return {
    handle,
    resetCache() {
      keys.clear();
      invalidKeys.clear();
      lists.clear();
    },
    cacheSizes: () => ({ keys: keys.size + invalidKeys.size, allowlists: lists.size }),
  };
}

function requireList(list: AllowlistSettings | undefined, what: string): AllowlistSettings {
  if (list === undefined) throw new Error(`the store did not return the requested ${what} allowlist`);
  return list;
}

function toKeyEntry(record: ApiKeyRecord | null | undefined, route: ApiKeyRoute): KeyEntry {
  const claimed = { keyId: undefined, organizationId: route.organizationId, projectId: route.projectId };
  if (record === undefined) throw new Error('the store did not return the requested key record');
  if (record === null) return { valid: false, detail: 'unknown', ...claimed };
  if (record.organizationId !== route.organizationId || record.projectId !== route.projectId) {
    // Only possible if a record was written under a key of another route: never trust the route over the record.
    return { valid: false, detail: 'route_mismatch', ...claimed, keyId: record.keyId };
  }
  if (record.status !== 'active') return { valid: false, detail: 'revoked', ...claimed, keyId: record.keyId };
  const keyList = record.allowlist?.enabled ? compileScopeList(record.allowlist) : undefined;
  return {
    valid: true,
    keyId: record.keyId,
    organizationId: record.organizationId,
    projectId: record.projectId,
    organizationPk: organizationAllowlistPk(record.organizationId),
    projectPk: projectAllowlistPk(record.organizationId, record.projectId),
    keyList,
    allowResource: '',
    allowResult: undefined,
  };
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
    if (typeof methodArn !== 'string') throw new TypeError('the event has no methodArn: not an API Gateway REQUEST authorizer event');
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

function deny(resource: string, principalId: string, error: ApiErrorSpec, key: KeyEntry | undefined): APIGatewayAuthorizerResult {
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
