import { projectScope } from '../adapters/schema';
import { generateApiKey } from '../core/api-key';
import { ApiKeyRecord } from '../core/model';
import { findUnsafeCharacter, unsafeCharacterReason } from '../core/text';
import { auditEvent } from './audit';
import { resourcePath } from './contract/paths';
import { MAX_KEY_NAME_LENGTH } from '../../lib/contract';
import { DEFAULT_PAGE_SIZE } from './contract/schemas';
import { AdminDependencies, AdminRequest, AdminResponse } from './context';
import { apiKeyAlreadyRevoked, apiKeyNotFound, badRequest, invalidValue } from './errors';
import { apiKeySnapshot, apiKeyView, decodeCursor, encodeCursor } from './views';
import { clock, propagate, withConflictRetry } from './writes';

/**
 * API keys of a project: create (the secret is returned once and only its hash is stored), list, get, revoke.
 * Creation and revocation are audited like every other change.
 */

/** The key as a resource of the API's tree: its audit target. */
function keyTarget(key: Pick<ApiKeyRecord, 'organizationId' | 'projectId' | 'keyId'>): string {
  return resourcePath({ org: key.organizationId, project: key.projectId, keyId: key.keyId });
}

export async function createApiKey(deps: AdminDependencies, req: AdminRequest<'createApiKey'>): Promise<AdminResponse> {
  const name = req.input.body.name.trim();
  if (name.length === 0 || name.length > MAX_KEY_NAME_LENGTH) {
    throw invalidValue('name', `name must be 1 to ${MAX_KEY_NAME_LENGTH} characters, got ${name.length}.`);
  }
  const unsafe = findUnsafeCharacter(name);
  if (unsafe)
    throw badRequest(
      'invalid_characters',
      `Invalid name: ${unsafeCharacterReason(unsafe)}. Nothing was changed.`,
      'name',
    );
  const organizationId = req.params.org!;
  const projectId = req.params.project!;
  const generated = generateApiKey({ organizationId, projectId });
  const now = new Date(clock(deps)).toISOString();
  const record: ApiKeyRecord = {
    keyHash: generated.keyHash,
    keyId: generated.keyId,
    organizationId,
    projectId,
    name,
    status: 'active',
    redactedValue: generated.redactedValue,
    createdAt: now,
    createdBy: req.actor,
  };
  const audit = auditEvent(req, now, {
    organizationId,
    action: 'api_key.create',
    scope: 'key',
    target: keyTarget(record),
    before: null,
    after: apiKeySnapshot(record),
  });
  // 256 random bits: a hash collision (the only conflict possible) does not happen; no retry needed.
  await deps.store.createApiKey(record, audit);
  const propagation = await propagate(deps, clock(deps), req.deadlineMs);
  return { statusCode: 201, body: { ...apiKeyView(record), key: generated.key, propagation } };
}

export async function listApiKeys(deps: AdminDependencies, req: AdminRequest<'listApiKeys'>): Promise<AdminResponse> {
  const organizationId = req.params.org!;
  const projectId = req.params.project!;
  const { limit = DEFAULT_PAGE_SIZE, cursor } = req.input.query;
  const start =
    cursor === undefined
      ? undefined
      : decodeCursor(cursor, {
          projectScope: projectScope(organizationId, projectId),
          keyId: undefined,
          keyHash: undefined,
        });
  const page = await deps.store.listApiKeys(organizationId, projectId, limit, start);
  return {
    statusCode: 200,
    body: { object: 'list', data: page.items.map(apiKeyView), next_cursor: encodeCursor(page.lastEvaluatedKey) },
  };
}

async function findKey(deps: AdminDependencies, req: AdminRequest): Promise<ApiKeyRecord> {
  const key = await deps.store.findApiKey(req.params.org!, req.params.project!, req.params.keyId!);
  if (!key) throw apiKeyNotFound(req.params.keyId!);
  return key;
}

export async function getApiKey(deps: AdminDependencies, req: AdminRequest): Promise<AdminResponse> {
  return { statusCode: 200, body: apiKeyView(await findKey(deps, req)) };
}

/** Revoking stops the key at the authorizer within the propagation delay (seconds, when the flush succeeds). */
export async function revokeApiKey(deps: AdminDependencies, req: AdminRequest): Promise<AdminResponse> {
  // Re-read on a conflict: it may be a concurrent revoke (then 409) or a transient transaction conflict.
  const revoked = await withConflictRetry(deps, async () => {
    const key = await findKey(deps, req);
    if (key.status === 'revoked') throw apiKeyAlreadyRevoked(key.keyId);
    const now = new Date(clock(deps)).toISOString();
    const next: ApiKeyRecord = { ...key, status: 'revoked', revokedAt: now };
    await deps.store.revokeApiKey(
      key,
      now,
      auditEvent(req, now, {
        organizationId: key.organizationId,
        action: 'api_key.revoke',
        scope: 'key',
        target: keyTarget(key),
        before: apiKeySnapshot(key),
        after: apiKeySnapshot(next),
      }),
    );
    return next;
  });
  const propagation = await propagate(deps, clock(deps), req.deadlineMs);
  return { statusCode: 200, body: { ...apiKeyView(revoked), propagation } };
}
