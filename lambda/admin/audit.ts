import { AuditEvent, newEventId } from '../adapters/admin-store';
import type { AdminRequest, AuditDraft } from './context';

/**
 * The audit record of a write, built in one place: the write says what changed (`AuditDraft`); who, when, the event
 * id and the request id come from the request and the commit time, the same way for every write.
 */
export function auditEvent(req: Pick<AdminRequest, 'actor' | 'requestId'>, now: string, draft: AuditDraft): AuditEvent {
  return { ...draft, eventId: newEventId(now), at: now, actor: req.actor, requestId: req.requestId };
}
