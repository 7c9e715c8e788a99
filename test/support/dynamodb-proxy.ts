import { randomBytes } from 'node:crypto';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';

/**
 * A loopback proxy in front of DynamoDB Local that injects, per DynamoDB operation (the `X-Amz-Target` header),
 * the faults a Lambda meets on a real network and a real table:
 * - a reply held (the request was applied; the answer is late, maybe after the client gave up), or held until
 *   some time after another operation's reply;
 * - a reply dropped: the connection is reset after DynamoDB applied the request;
 * - a request held before it reaches DynamoDB (delivered even if the client gave up meanwhile), or refused (the
 *   connection is reset and DynamoDB never sees it), or answered in DynamoDB's place with an error (a refusal
 *   such as `ThrottlingException`);
 * - a request whose ClientRequestToken is replaced, as if DynamoDB had forgotten it (tokens last 10 minutes);
 * - BatchGetItem answered with keys left unprocessed (what DynamoDB does when it throttles part of a batch).
 * Everything else passes through unchanged, so the SDK client on the other side is the real one with its real
 * retries, timeouts and parsing.
 */

export interface ProxyFault {
  /** The DynamoDB operation it applies to, e.g. `BatchGetItem`, `TransactWriteItems`. */
  readonly operation: string;
  /** Only requests whose JSON body contains this text (e.g. a table name). @default - every request of the operation */
  readonly bodyIncludes?: string;
  /** How many matching requests it applies to. @default - all of them */
  times?: number;
  /** Milliseconds the reply is held back (counted from when the request arrived). @default 0 */
  readonly delayMs?: number;
  /**
   * Hold the reply until this long after the next reply to `operation` has been sent (e.g. 300 ms after a commit
   * was acknowledged), and at least `delayMs` after the request.
   *
   * @default - not held for another operation
   */
  readonly releaseAfter?: { readonly operation: string; readonly delayMs: number };
  /**
   * BatchGetItem only: leave the keys of every table whose name does not contain this text unprocessed; the other
   * tables' items are DynamoDB Local's answer.
   *
   * @default - nothing left unprocessed
   */
  readonly unprocessedExcept?: string;
  /** Reset the client's connection instead of delivering DynamoDB's reply (DynamoDB did apply the request). */
  readonly dropReply?: boolean;
  /** Forward the request to DynamoDB only this many ms after it arrived, even if the client gave up meanwhile. */
  readonly holdRequestMs?: number;
  /** Reset the client's connection without forwarding the request: DynamoDB never sees it. */
  readonly refuse?: boolean;
  /** Answer in DynamoDB's place with this error (HTTP 400) without forwarding, e.g. `ThrottlingException`. */
  readonly refuseWith?: string;
  /**
   * With `refuseWith: 'TransactionCanceledException'`: the cancellation reason codes, one per transaction item
   * (e.g. `['TransactionConflict', 'None']`), as DynamoDB sends them.
   *
   * @default - no reasons
   */
  readonly cancellationReasons?: readonly string[];
  /** Replace the request's ClientRequestToken with a fresh one of the same length (DynamoDB forgot the token). */
  readonly forgetToken?: boolean;
}

export interface ProxiedExchange {
  readonly operation: string;
  /** The request body as forwarded (after any rewrite). */
  readonly body: string;
  /** Clock time when the request arrived and when its reply was sent (or abandoned by the client). */
  readonly requestAt: number;
  replyAt?: number;
}

export interface DynamoDbProxy {
  readonly endpoint: string;
  /** Faults in force, first match wins; edit freely (or use inject/clear). */
  faults: ProxyFault[];
  /** Every request seen, in arrival order. */
  readonly exchanges: ProxiedExchange[];
  /** Resolves when the next request for `operation` arrives. */
  nextRequest(operation: string): Promise<ProxiedExchange>;
  /** Adds a fault after the others. */
  inject(fault: ProxyFault): void;
  /** Removes every fault. */
  clear(): void;
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
    const t = setTimeout(
      () => {
        timers.delete(t);
        fn();
      },
      Math.max(0, ms),
    );
    timers.add(t);
  };

  const proxy: DynamoDbProxy = {
    endpoint: '',
    faults: [],
    exchanges: [],
    nextRequest: (operation) => new Promise((resolve) => waiters.push({ operation, resolve })),
    inject: (fault) => proxy.faults.push({ ...fault }),
    clear: () => {
      proxy.faults = [];
    },
    close: () => Promise.resolve(),
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body = Buffer.concat(chunks);
      const operation =
        String(req.headers['x-amz-target'] ?? '')
          .split('.')
          .pop() ?? '';
      const text = body.toString('utf8');
      const fault = proxy.faults.find(
        (f) =>
          f.operation === operation &&
          (f.times === undefined || f.times > 0) &&
          (f.bodyIncludes === undefined || text.includes(f.bodyIncludes)),
      );
      if (fault && fault.times !== undefined) fault.times -= 1;
      if (fault?.forgetToken) {
        body = Buffer.from(
          text.replace(
            /("ClientRequestToken":")([^"]+)"/,
            (_m, p: string, token: string) =>
              `${p}${randomBytes(token.length).toString('hex').slice(0, token.length)}"`,
          ),
          'utf8',
        );
      }
      const exchange: ProxiedExchange = { operation, body: body.toString('utf8'), requestAt: clock() };
      proxy.exchanges.push(exchange);
      for (let i = waiters.length - 1; i >= 0; i--) {
        if (waiters[i].operation === operation) waiters.splice(i, 1)[0].resolve(exchange);
      }
      if (fault?.refuse) {
        req.socket.destroy();
        return;
      }

      const arrived = Date.now();
      const released = fault?.releaseAfter
        ? nextReply(fault.releaseAfter.operation).then(
            () => new Promise<void>((r) => later(fault.releaseAfter!.delayMs, r)),
          )
        : Promise.resolve();
      const send = (status: number, headers: http.OutgoingHttpHeaders, payload: Buffer) => {
        void released.then(() =>
          later((fault?.delayMs ?? 0) - (Date.now() - arrived), () => {
            exchange.replyAt = clock();
            for (let i = replyWaiters.length - 1; i >= 0; i--) {
              if (replyWaiters[i].operation === operation) replyWaiters.splice(i, 1)[0].resolve();
            }
            if (res.destroyed) return;
            if (fault?.dropReply) {
              res.socket?.destroy();
              return;
            }
            res.writeHead(status, headers);
            res.end(payload);
          }),
        );
      };

      if (fault?.refuseWith) {
        const reasons = fault.cancellationReasons?.map((Code) =>
          Code === 'None' ? { Code } : { Code, Message: `${Code} injected by the test proxy` },
        );
        const payload = Buffer.from(
          JSON.stringify({
            __type: `com.amazonaws.dynamodb.v20120810#${fault.refuseWith}`,
            message: 'injected by the test proxy',
            ...(reasons ? { CancellationReasons: reasons } : {}),
          }),
        );
        send(400, { 'content-type': 'application/x-amz-json-1.0', 'content-length': String(payload.length) }, payload);
        return;
      }

      let forwardBody = body;
      let unprocessed: Record<string, unknown> | undefined;
      if (fault?.unprocessedExcept !== undefined) {
        const items = (JSON.parse(body.toString('utf8')) as { RequestItems: Record<string, unknown> }).RequestItems;
        const kept = Object.fromEntries(Object.entries(items).filter(([t]) => t.includes(fault.unprocessedExcept!)));
        unprocessed = Object.fromEntries(Object.entries(items).filter(([t]) => !t.includes(fault.unprocessedExcept!)));
        if (Object.keys(kept).length === 0) {
          const payload = Buffer.from(JSON.stringify({ Responses: {}, UnprocessedKeys: unprocessed }));
          send(
            200,
            { 'content-type': 'application/x-amz-json-1.0', 'content-length': String(payload.length) },
            payload,
          );
          return;
        }
        forwardBody = Buffer.from(JSON.stringify({ RequestItems: kept }));
      }
      const headers = { ...req.headers, 'content-length': String(forwardBody.length) };
      const forward = () => {
        const request = http.request(
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
        request.on('error', () => res.destroy());
        request.end(forwardBody);
      };
      // A held request reaches DynamoDB even if the client has given up on it by then: that is the fault.
      if (fault?.holdRequestMs) later(fault.holdRequestMs, forward);
      else forward();
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
