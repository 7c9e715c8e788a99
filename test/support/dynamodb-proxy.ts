import * as http from 'node:http';
import { AddressInfo } from 'node:net';

/**
 * A loopback HTTP proxy in front of DynamoDB Local that injects the faults a real table shows under load, per
 * DynamoDB operation (the `X-Amz-Target` header): replies held for a while, and BatchGetItem answered with every
 * key left unprocessed (what DynamoDB does when it throttles). Everything else passes through unchanged, so the
 * SDK client on the other side is the real one with its real retries, aborts and parsing.
 */

export interface ProxyFault {
  /** The DynamoDB operation it applies to, e.g. `BatchGetItem`. */
  readonly operation: string;
  /** Milliseconds the reply is held back (counted from when the request arrived). @default 0 */
  readonly delayMs?: number;
  /**
   * BatchGetItem only: leave the keys of every table whose name does not contain this text unprocessed (what
   * DynamoDB does when it throttles part of a batch); the other tables' items are DynamoDB Local's answer.
   *
   * @default - nothing left unprocessed
   */
  readonly unprocessedExcept?: string;
  /**
   * Hold the reply until this long after the next reply to `operation` has been sent (e.g. 300 ms after a commit
   * was acknowledged), and at least `delayMs` after the request.
   *
   * @default - not held for another operation
   */
  readonly releaseAfter?: { readonly operation: string; readonly delayMs: number };
  /** How many matching requests it applies to. @default - all of them */
  times?: number;
}

export interface ProxiedExchange {
  readonly operation: string;
  /** Clock time when the request arrived and when its reply was sent (or abandoned by the client). */
  readonly requestAt: number;
  replyAt?: number;
}

export interface DynamoDbProxy {
  readonly endpoint: string;
  /** Faults in force, first match wins; edit freely. */
  faults: ProxyFault[];
  /** Every request seen, in arrival order. */
  readonly exchanges: ProxiedExchange[];
  /** Resolves when the next request for `operation` arrives. */
  nextRequest(operation: string): Promise<ProxiedExchange>;
  close(): Promise<void>;
}

export async function startDynamoDbProxy(upstream: string, clock: () => number = Date.now): Promise<DynamoDbProxy> {
  const target = new URL(upstream);
  const agent = new http.Agent({ keepAlive: true });
  const timers = new Set<NodeJS.Timeout>();
  const waiters: Array<{ operation: string; resolve: (e: ProxiedExchange) => void }> = [];
  const replyWaiters: Array<{ operation: string; resolve: () => void }> = [];
  const nextReply = (operation: string) => new Promise<void>((resolve) => replyWaiters.push({ operation, resolve }));
  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, Math.max(0, ms));
    timers.add(t);
  };

  const proxy: DynamoDbProxy = {
    endpoint: '',
    faults: [],
    exchanges: [],
    nextRequest: (operation) => new Promise((resolve) => waiters.push({ operation, resolve })),
    close: async () => undefined,
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const operation = String(req.headers['x-amz-target'] ?? '').split('.').pop() ?? '';
      const exchange: ProxiedExchange = { operation, requestAt: clock() };
      proxy.exchanges.push(exchange);
      const fault = proxy.faults.find((f) => f.operation === operation && (f.times === undefined || f.times > 0));
      if (fault && fault.times !== undefined) fault.times -= 1;
      const arrived = Date.now();
      const released = fault?.releaseAfter
        ? nextReply(fault.releaseAfter.operation).then(() => new Promise<void>((r) => later(fault.releaseAfter!.delayMs, r)))
        : Promise.resolve();
      const send = (status: number, headers: http.OutgoingHttpHeaders, payload: Buffer) => {
        void released.then(() =>
          later((fault?.delayMs ?? 0) - (Date.now() - arrived), () => {
            exchange.replyAt = clock();
            for (let i = replyWaiters.length - 1; i >= 0; i--) {
              if (replyWaiters[i].operation === operation) replyWaiters.splice(i, 1)[0].resolve();
            }
            if (res.destroyed) return;
            res.writeHead(status, headers);
            res.end(payload);
          }),
        );
      };
      for (let i = waiters.length - 1; i >= 0; i--) {
        if (waiters[i].operation === operation) waiters.splice(i, 1)[0].resolve(exchange);
      }

      let forwardBody = body;
      let unprocessed: Record<string, unknown> | undefined;
      if (fault?.unprocessedExcept !== undefined) {
        const items = (JSON.parse(body.toString('utf8')) as { RequestItems: Record<string, unknown> }).RequestItems;
        const kept = Object.fromEntries(Object.entries(items).filter(([t]) => t.includes(fault.unprocessedExcept!)));
        unprocessed = Object.fromEntries(Object.entries(items).filter(([t]) => !t.includes(fault.unprocessedExcept!)));
        if (Object.keys(kept).length === 0) {
          const payload = Buffer.from(JSON.stringify({ Responses: {}, UnprocessedKeys: unprocessed }));
          send(200, { 'content-type': 'application/x-amz-json-1.0', 'content-length': String(payload.length) }, payload);
          return;
        }
        forwardBody = Buffer.from(JSON.stringify({ RequestItems: kept }));
      }
      const headers = { ...req.headers, 'content-length': String(forwardBody.length) };
      const forward = http.request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers, agent },
        (up) => {
          const parts: Buffer[] = [];
          up.on('data', (c: Buffer) => parts.push(c));
          up.on('end', () => {
            let payload = Buffer.concat(parts);
            const upHeaders = { ...up.headers };
            if (unprocessed && up.statusCode === 200) {
              const answer = JSON.parse(payload.toString('utf8')) as Record<string, unknown>;
              payload = Buffer.from(JSON.stringify({ ...answer, UnprocessedKeys: unprocessed }));
              delete upHeaders['x-amz-crc32'];
              upHeaders['content-length'] = String(payload.length);
            }
            send(up.statusCode ?? 502, upHeaders, payload);
          });
        },
      );
      forward.on('error', () => res.destroy());
      forward.end(forwardBody);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  (proxy as { endpoint: string }).endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = () =>
    new Promise<void>((resolve) => {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      server.closeAllConnections();
      agent.destroy();
      server.close(() => resolve());
    });
  return proxy;
}
