import { createHash, randomBytes } from 'node:crypto';
import { isValidId } from './model';

/**
 * API key format: `sk-<route>.<secret>`
 *
 * - `route` is base64url(`<organizationId>/<projectId>`). It is not secret (ids are not secrets); it lets the
 *   authorizer fetch the key record AND both allowlists in one DynamoDB BatchGetItem (one round trip on a cold
 *   decision) instead of reading the key first and the lists second. A forged route gains nothing: the key
 *   record is found by the hash of the whole string and must name the same organization and project.
 * - `secret` is 32 random bytes (256 bits) in base64url: 43 characters.
 *
 * Only `hashApiKey(key)` is ever stored; only the key id is ever logged.
 */

const KEY_PATTERN = /^sk-([A-Za-z0-9_-]{2,172})\.([A-Za-z0-9_-]{43})$/;
const SECRET_BYTES = 32;

export interface ApiKeyRoute {
  readonly organizationId: string;
  readonly projectId: string;
}

export interface GeneratedApiKey {
  /** The secret, shown to its owner once. */
  readonly key: string;
  readonly keyHash: string;
  readonly keyId: string;
  readonly redactedValue: string;
}

export function generateApiKey(route: ApiKeyRoute): GeneratedApiKey {
  if (!isValidId(route.organizationId) || !isValidId(route.projectId)) {
    throw new Error(`invalid organization or project id: ${route.organizationId}/${route.projectId}`);
  }
  const routePart = Buffer.from(`${route.organizationId}/${route.projectId}`, 'utf8').toString('base64url');
  const key = `sk-${routePart}.${randomBytes(SECRET_BYTES).toString('base64url')}`;
  return { key, keyHash: hashApiKey(key), keyId: generateKeyId(), redactedValue: redactApiKey(key) };
}

/** `key_` + 96 random bits. Public identifier of a key: safe to log and to show. */
export function generateKeyId(): string {
  return `key_${randomBytes(12).toString('base64url')}`;
}

/** Hex SHA-256 of the whole key string: the only form in which a key is stored. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** `sk-...` plus the last four characters of the secret. */
export function redactApiKey(key: string): string {
  return `sk-...${key.slice(-4)}`;
}

/**
 * The organization and project a well-formed key claims, or undefined for anything that is not a key of ours
 * (such input is rejected without touching storage).
 */
export function parseApiKeyRoute(key: string): ApiKeyRoute | undefined {
  const m = KEY_PATTERN.exec(key);
  if (!m) return undefined;
  const decoded = Buffer.from(m[1], 'base64url').toString('utf8');
  const slash = decoded.indexOf('/');
  if (slash < 0) return undefined;
  const organizationId = decoded.slice(0, slash);
  const projectId = decoded.slice(slash + 1);
  if (!isValidId(organizationId) || !isValidId(projectId)) return undefined;
  return { organizationId, projectId };
}

/**
 * What an Authorization-style header value presents:
 * - `NO_API_KEY`: no header, a blank one, or the `Bearer` scheme with nothing after it: no key was given at all;
 * - `NOT_A_BEARER_KEY`: something else was given (another scheme such as `Basic x`, or `Bearer` followed by more
 *   than one word): a credential was presented, and it is not an API key of ours, so it is an invalid key;
 * - otherwise the bearer token itself.
 * The scheme is case-insensitive (RFC 7235); surrounding whitespace is ignored.
 */
export const NO_API_KEY: unique symbol = Symbol('no API key');
export const NOT_A_BEARER_KEY: unique symbol = Symbol('not a bearer key');

export function readPresentedApiKey(
  headerValue: string | undefined,
): string | typeof NO_API_KEY | typeof NOT_A_BEARER_KEY {
  if (headerValue === undefined) return NO_API_KEY;
  const m = /^\s*Bearer(?:\s+(\S+))?\s*$/i.exec(headerValue);
  if (m) return m[1] ?? NO_API_KEY;
  return /^\s*$/.test(headerValue) ? NO_API_KEY : NOT_A_BEARER_KEY;
}

/** The bearer token from an Authorization-style header value, or undefined when it presents none (see above). */
export function extractBearerToken(headerValue: string | undefined): string | undefined {
  const presented = readPresentedApiKey(headerValue);
  return typeof presented === 'string' ? presented : undefined;
}
