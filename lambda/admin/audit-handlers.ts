import { AdminDependencies, AdminRequest, AdminResponse } from './context';
import { DEFAULT_PAGE_SIZE } from './contract/schemas';
import { auditEventView, decodeCursor, encodeCursor } from './views';

/**
 * The most JSON a page carries: a record of a large list can take ~800 KB once decompressed, and a Lambda
 * response is at most 6 MB, so a page stops early (with a cursor) rather than fail.
 */
export const AUDIT_PAGE_BUDGET_BYTES = 4 * 1024 * 1024;

/**
 * GET audit_log: an organization's changes, newest first, `limit` per page (fewer when the records are large:
 * see AUDIT_PAGE_BUDGET_BYTES), `cursor` for the next page.
 */
export async function listAuditLog(deps: AdminDependencies, req: AdminRequest<'listAuditLog'>): Promise<AdminResponse> {
  const organizationId = req.params.org!;
  const { limit = DEFAULT_PAGE_SIZE, cursor } = req.input.query;
  const start = cursor === undefined ? undefined : decodeCursor(cursor, { organizationId, eventId: undefined });
  const page = await deps.store.listAuditEvents(organizationId, limit, start);
  const data: ReturnType<typeof auditEventView>[] = [];
  let bytes = 0;
  for (const event of page.items) {
    const view = auditEventView(event);
    bytes += Buffer.byteLength(JSON.stringify(view), 'utf8');
    if (data.length > 0 && bytes > AUDIT_PAGE_BUDGET_BYTES) {
      const last = data[data.length - 1];
      return {
        statusCode: 200,
        body: {
          object: 'list',
          data,
          next_cursor: encodeCursor({ organizationId: { S: organizationId }, eventId: { S: last.id } }),
        },
      };
    }
    data.push(view);
  }
  return { statusCode: 200, body: { object: 'list', data, next_cursor: encodeCursor(page.lastEvaluatedKey) } };
}
