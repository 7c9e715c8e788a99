import * as os from 'node:os';
import { jsonReply, Reply, RequestInfo } from './http-io';
import type { RequestContext } from './request-context';

/**
 * Stage 2, AWS_IAM authorization, NOT emulated: API Gateway would check the request's SigV4 signature and fill
 * `$context.identity` with the signer. Local mode checks no signature; the caller is `local:<user>`, the user named
 * by the `x-local-user` header or else the OS user, so that the admin API's audit log has an actor.
 */

/** Fills in the caller; a reply when `x-local-user` is not a name the audit log could hold. */
export function applyLocalIamCaller(
  info: RequestInfo,
  requestContext: RequestContext,
  accountId: string,
  defaultLocalUser: string | undefined,
): Reply | undefined {
  const user = info.lowerHeaders['x-local-user'] ?? defaultLocalUser ?? safeOsUser();
  if (!/^[A-Za-z0-9_.@+=,-]{1,64}$/.test(user)) {
    return jsonReply(
      400,
      { message: 'x-local-user must be 1-64 characters of letters, digits and _.@+=,-' },
      info.requestId,
    );
  }
  const identity = requestContext.identity;
  identity.userArn = `local:${user}`;
  identity.user = user;
  identity.caller = user;
  identity.accountId = accountId;
  identity.accessKey = 'local';
  return undefined;
}

function safeOsUser(): string {
  try {
    return os.userInfo().username || 'developer';
  } catch {
    return 'developer';
  }
}
