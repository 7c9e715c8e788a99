import { AdminDependencies, AdminRequest, AdminResponse } from './context';
import { parseLimit } from './request';
import { auditEventView, decodeCursor, encodeCursor } from './views';

/** GET audit_log: an organization's changes, newest first, `limit` per page, `cursor` for the next page. */
export async function listAuditLog(deps: AdminDependencies, req: AdminRequest): Promise<AdminResponse> {
  const organizationId = req.params.org!;
  const limit = parseLimit(req.query);
  const start =
    req.query.cursor === undefined
      ? undefined
      : decodeCursor(req.query.cursor, { organizationId, eventId: undefined });
  const page = await deps.store.listAuditEvents(organizationId, limit, start);
  return {
    statusCode: 200,
    body: { object: 'list', data: page.items.map(auditEventView), next_cursor: encodeCursor(page.lastEvaluatedKey) },
  };
}
