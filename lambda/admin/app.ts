import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import {
  ItemTooLargeError,
  StoreUnavailableError,
  WriteConflictError,
  WriteOutcomeUnknownError,
} from '../adapters/admin-store';
import {
  addAllowlistEntries,
  checkIp,
  deleteAllowlistEntry,
  deleteAllowlistEntryByQuery,
  disableAllowlist,
  enableAllowlist,
  getAllowlist,
  replaceAllowlist,
} from './allowlist-handlers';
import { previewAllowlist } from './preview-handlers';
import { createApiKey, getApiKey, listApiKeys, revokeApiKey } from './api-key-handlers';
import { listAuditLog } from './audit-handlers';
import { AdminDependencies, AdminRequest, AdminResponse } from './context';
import {
  AdminError,
  allowlistTooLarge,
  internalError,
  storageUnavailable,
  tooMuchContention,
  writeOutcomeUnknown,
} from './errors';
import { clock, propagate, worstCaseDelaySeconds } from './writes';
import { callerIdentity, parseBody, parseIfMatch, parseInput, parseQuery } from './request';
import { listTraffic } from './traffic-handlers';
import { whoami } from './whoami';
import { OperationName, matchRoute, routingPath } from './routes';

/**
 * The admin API as one function from API Gateway proxy event to response: route, check the input, run the
 * handler, map errors. Dependencies are injected (lambda/admin/index.ts builds the real ones once per
 * container), so tests run this exact code against DynamoDB Local.
 */

type Handler<K extends OperationName> = (deps: AdminDependencies, req: AdminRequest<K>) => Promise<AdminResponse>;

/** Every operation of the contract has its handler, typed by its schemas: the compiler checks this map is complete. */
const HANDLERS: { readonly [K in OperationName]: Handler<K> } = {
  getAllowlist,
  replaceAllowlist,
  addAllowlistEntries,
  deleteAllowlistEntry,
  deleteAllowlistEntryByQuery,
  enableAllowlist,
  disableAllowlist,
  checkIp,
  previewAllowlist,
  createApiKey,
  listApiKeys,
  getApiKey,
  revokeApiKey,
  listAuditLog,
  listTraffic,
  whoami,
};

/** A PUT of a full list must fit: at least 64 KiB, and 1 KiB per allowed entry beyond that. */
export function bodyLimitBytes(maxEntries: number): number {
  return Math.max(64 * 1024, maxEntries * 1024);
}

const JSON_HEADERS = { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' };

/** The part of the Lambda context the handler reads. */
export interface InvocationContext {
  getRemainingTimeInMillis(): number;
}

/**
 * Time kept between the planned end of a request and the Lambda timeout: for serializing and returning the
 * response, and for the clock differences of a container that was frozen.
 */
export const RESPONSE_MARGIN_MS = 1000;

export type AdminHandler = (event: APIGatewayProxyEvent, context?: InvocationContext) => Promise<APIGatewayProxyResult>;

export function createAdminHandler(deps: AdminDependencies): AdminHandler {
  return async (event, context) => {
    const method = (event.httpMethod ?? '').toUpperCase();
    const path = routingPath(event);
    const requestId = event.requestContext?.requestId;
    let deadlineMs: number | undefined;
    try {
      const { route, params } = matchRoute(method, path);
      const query = parseQuery(event, route);
      const body = parseBody(event, route, bodyLimitBytes(deps.config.maxEntries));
      const ifMatch = route.versioned ? parseIfMatch(event) : undefined;
      deadlineMs = context ? clock(deps) + context.getRemainingTimeInMillis() - RESPONSE_MARGIN_MS : undefined;
      const actor = callerIdentity(event);
      const res = await run(route.operation, deps, {
        route,
        params,
        ifMatch,
        actor,
        sourceIp: event.requestContext?.identity?.sourceIp ?? undefined,
        requestId,
        deadlineMs,
        raw: { query, body },
      });
      if (route.write) {
        deps.logger.info('admin change', {
          operation: route.operation,
          path,
          actor,
          status: res.statusCode,
        });
        if (res.statusCode < 400) deps.metrics?.record('write');
      }
      return respond(res.statusCode, res.body, res.headers);
    } catch (err) {
      // A change that may have committed is propagated like one that did (a flush is harmless if nothing was
      // written): a disable or revoke that was saved must not wait for the gateway TTL because its answer was lost.
      const error =
        err instanceof WriteOutcomeUnknownError
          ? writeOutcomeUnknown(
              err.organizationId,
              err.eventId,
              await propagate(deps, clock(deps), deadlineMs),
              worstCaseDelaySeconds(deps.config),
            )
          : toAdminError(err);
      if (error.statusCode >= 500) {
        deps.logger.error('admin request failed', { method, path, requestId, error: describe(err) });
        deps.metrics?.record('failure');
      }
      return respond(error.statusCode, error, error.headers);
    }
  };
}

/** Parses the operation's input with its schemas and runs its handler. */
function run<K extends OperationName>(
  operation: K,
  deps: AdminDependencies,
  req: Omit<AdminRequest<K>, 'input'> & {
    readonly raw: { readonly query: Record<string, string>; readonly body: unknown };
  },
): Promise<AdminResponse> {
  const { raw, ...rest } = req;
  const handler: Handler<K> = HANDLERS[operation];
  return handler(deps, { ...rest, input: parseInput(operation, raw.query, raw.body) });
}

function toAdminError(err: unknown): AdminError {
  if (err instanceof AdminError) return err;
  if (err instanceof ItemTooLargeError) {
    return allowlistTooLarge(err.message);
  }
  if (err instanceof StoreUnavailableError) return storageUnavailable();
  // A write without a retry loop (create-key) that lost a transaction conflict: known not applied, like a 409.
  if (err instanceof WriteConflictError) return tooMuchContention();
  return internalError();
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

function respond(
  statusCode: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): APIGatewayProxyResult {
  return { statusCode, headers: { ...JSON_HEADERS, ...headers }, body: JSON.stringify(body) };
}
