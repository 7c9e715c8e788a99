import { randomUUID } from 'node:crypto';
import type * as http from 'node:http';

/**
 * Stage 0 and the last stage: the HTTP exchange with the client. API Gateway reads the request first (a body over
 * 10 MB is REQUEST_TOO_LARGE before anything else runs) and takes the client's IP from the TCP connection, and it
 * writes the reply after every other stage. The stages in between (routing.ts, identity-sources.ts,
 * custom-authorizer.ts, integrations.ts, gateway-responses.ts) see only `RequestInfo` and return a `Reply`.
 */

export interface RequestInfo {
  readonly requestId: string;
  readonly httpMethod: string;
  readonly path: string;
  readonly rawQuery: string;
  /** As sent (original case), each name once with its last value, as API Gateway's `headers`. */
  readonly headers: Record<string, string>;
  readonly multiValueHeaders: Record<string, string[]>;
  readonly lowerHeaders: Record<string, string>;
  readonly query: Record<string, string>;
  readonly multiQuery: Record<string, string[]>;
  readonly sourceIp: string;
  readonly userAgent: string | undefined;
  readonly body: Buffer;
  readonly requestTimeEpoch: number;
  readonly host: string;
}

export interface Reply {
  readonly statusCode: number;
  readonly headers: Record<string, string | string[]>;
  readonly body: Buffer | string;
}

/** API Gateway's payload limit. */
const MAX_BODY_BYTES = 10 * 1024 * 1024;

/** API Gateway reports plain IPv4 for IPv4 clients; Node reports them IPv4-mapped on dual-stack sockets. */
export function normalizeSourceIp(remoteAddress: string | undefined): string {
  if (!remoteAddress) return '';
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(remoteAddress);
  return m ? m[1] : remoteAddress;
}

/** The request as the later stages see it, or 'tooLarge'. The client's IP is the TCP peer: no header changes it. */
export async function readRequest(req: http.IncomingMessage): Promise<RequestInfo | 'tooLarge'> {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) tooLarge = true;
    else chunks.push(chunk);
  }
  if (tooLarge) return 'tooLarge';
  const url = new URL(req.url ?? '/', 'http://local');
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  const lowerHeaders: Record<string, string> = {};
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i];
    const value = req.rawHeaders[i + 1];
    headers[name] = value;
    (multiValueHeaders[name] ??= []).push(value);
    const lower = name.toLowerCase();
    lowerHeaders[lower] = lowerHeaders[lower] === undefined ? value : `${lowerHeaders[lower]},${value}`;
  }
  const query: Record<string, string> = {};
  const multiQuery: Record<string, string[]> = {};
  for (const [k, v] of url.searchParams) {
    query[k] = v;
    (multiQuery[k] ??= []).push(v);
  }
  let path = url.pathname;
  try {
    path = decodeURI(path);
  } catch {
    // Keep the raw path when it is not valid percent-encoding.
  }
  return {
    requestId: randomUUID(),
    httpMethod: (req.method ?? 'GET').toUpperCase(),
    path,
    rawQuery: url.search.slice(1),
    headers,
    multiValueHeaders,
    lowerHeaders,
    query,
    multiQuery,
    sourceIp: normalizeSourceIp(req.socket.remoteAddress),
    userAgent: lowerHeaders['user-agent'],
    body: Buffer.concat(chunks),
    requestTimeEpoch: Date.now(),
    host: lowerHeaders.host ?? 'localhost',
  };
}

export function sendReply(res: http.ServerResponse, reply: Reply): void {
  if (res.headersSent) return;
  const body = typeof reply.body === 'string' ? Buffer.from(reply.body, 'utf8') : reply.body;
  res.writeHead(reply.statusCode, { ...reply.headers, 'content-length': String(body.length) });
  res.end(body);
}

/** A JSON answer of the emulator's own (what local mode cannot emulate), not one of API Gateway's responses. */
export function jsonReply(statusCode: number, body: unknown, requestId: string): Reply {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', 'x-amzn-requestid': requestId },
    body: JSON.stringify(body),
  };
}
