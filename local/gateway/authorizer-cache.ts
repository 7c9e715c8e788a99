import type { AuthorizerAnswer } from './policy';

/**
 * Stage 2b, CUSTOM authorization: the authorizer result cache. API Gateway keeps an authorizer's answer per
 * authorizer, keyed by the identity sources' values (identity-sources.ts), for the authorizer's TTL (0: no cache),
 * counted from when the authorizer RETURNS (a decision that was slow to come back is kept its whole TTL from then).
 * A cached answer is a policy, evaluated again against each request's method ARN (policy.ts).
 * FlushStageAuthorizersCache forgets every cached answer of the stage at once (AWS answers it 202 and applies it
 * asynchronously; here it is immediate).
 */

interface Entry {
  readonly answer: AuthorizerAnswer;
  readonly expiresAt: number;
}

export class AuthorizerResultCache {
  private readonly byAuthorizer = new Map<string, Map<string, Entry>>();

  constructor(private readonly now: () => number) {}

  /** The answer cached for these identity source values, unless the TTL is 0 or it has expired. */
  get(authorizerId: string, ttlSeconds: number, values: readonly string[]): AuthorizerAnswer | undefined {
    if (ttlSeconds <= 0) return undefined;
    const entry = this.byAuthorizer.get(authorizerId)?.get(cacheKey(values));
    return entry && entry.expiresAt > this.now() ? entry.answer : undefined;
  }

  /** Keeps an answer the authorizer has just returned for its TTL (nothing when the TTL is 0). */
  set(authorizerId: string, ttlSeconds: number, values: readonly string[], answer: AuthorizerAnswer): void {
    if (ttlSeconds <= 0) return;
    let perAuthorizer = this.byAuthorizer.get(authorizerId);
    if (!perAuthorizer) this.byAuthorizer.set(authorizerId, (perAuthorizer = new Map<string, Entry>()));
    perAuthorizer.set(cacheKey(values), { answer, expiresAt: this.now() + ttlSeconds * 1000 });
  }

  /** FlushStageAuthorizersCache. */
  flush(): void {
    this.byAuthorizer.clear();
  }
}

function cacheKey(values: readonly string[]): string {
  return values.join('\u0000');
}
