import { randomBytes } from 'node:crypto';
import { createServer, Server, Socket, connect } from 'node:net';
import { freePort } from './dynamodb-local';

/**
 * A loopback TCP proxy in front of DynamoDB Local that injects the network faults a Lambda meets: a reply held
 * (the request reached DynamoDB and was applied; the answer is late), a reply dropped (connection reset after the
 * request was applied), a request held before it reaches DynamoDB, and a request whose ClientRequestToken is
 * replaced (as if DynamoDB had forgotten it: the token is remembered for 10 minutes).
 *
 * It works at the TCP level but frames the client's HTTP/1.1 requests (headers + Content-Length body) so a fault
 * can target one DynamoDB operation (`X-Amz-Target`). The SDK sends one request at a time per connection, so the
 * bytes DynamoDB sends back on a connection are the reply to the last request forwarded on it.
 */

export type DynamoDbOperation = 'TransactWriteItems' | 'GetItem' | 'Query' | 'BatchGetItem' | string;

export interface ProxyFault {
  /** The operation it applies to. */
  readonly operation: DynamoDbOperation;
  /** Only requests whose JSON body contains this text (e.g. a table name). @default - every request of the operation */
  readonly bodyIncludes?: string;
  /** How many matching requests it applies to (then it is spent). @default Infinity */
  readonly times?: number;
  /** Deliver DynamoDB's reply this many ms late (the client may have given up by then). */
  readonly holdReplyMs?: number;
  /** Reset the client's connection instead of delivering DynamoDB's reply (DynamoDB did process the request). */
  readonly dropReply?: boolean;
  /** Forward the request to DynamoDB only this many ms later, even if the client gave up meanwhile. */
  readonly holdRequestMs?: number;
  /** Reset the client's connection without forwarding the request: DynamoDB never sees it. */
  readonly refuse?: boolean;
  /** Answer in DynamoDB's place with this error (HTTP 400) without forwarding: a refusal, e.g. `ThrottlingException`. */
  readonly refuseWith?: string;
  /** Replace the request's ClientRequestToken with a fresh one of the same length (DynamoDB forgot the token). */
  readonly forgetToken?: boolean;
}

export interface ProxiedRequest {
  readonly operation: string;
  readonly body: string;
}

export interface DynamoDbProxy {
  /** Point an SDK client here. */
  readonly endpoint: string;
  /** Every request that passed through, in order (after any rewrite). */
  readonly requests: ProxiedRequest[];
  /** Adds a fault; faults are matched in the order added. */
  inject(fault: ProxyFault): void;
  /** Removes every fault. */
  clear(): void;
  close(): Promise<void>;
}

interface ActiveFault extends ProxyFault {
  remaining: number;
}

export async function startDynamoDbProxy(upstreamEndpoint: string): Promise<DynamoDbProxy> {
  const upstream = new URL(upstreamEndpoint);
  const faults: ActiveFault[] = [];
  const requests: ProxiedRequest[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };

  const takeFault = (operation: string, body: string): ProxyFault | undefined => {
    const f = faults.find(
      (x) => x.operation === operation && x.remaining > 0 && (x.bodyIncludes === undefined || body.includes(x.bodyIncludes)),
    );
    if (f) f.remaining -= 1;
    return f;
  };

  const server: Server = createServer((client) => {
    sockets.add(client);
    const server = connect(Number(upstream.port), upstream.hostname);
    sockets.add(server);
    let pending = Buffer.alloc(0);
    let current: ProxyFault | undefined;
    const closeBoth = () => {
      client.destroy();
      server.destroy();
    };
    client.on('close', () => {
      sockets.delete(client);
      // A held request is still delivered after the client left: that is the fault it models.
      if (!current?.holdRequestMs) server.destroy();
    });
    server.on('close', () => {
      sockets.delete(server);
      client.destroy();
    });
    client.on('error', () => undefined);
    server.on('error', () => client.destroy());

    server.on('data', (chunk: Buffer) => {
      const fault = current;
      if (fault?.dropReply) {
        closeBoth();
        return;
      }
      if (fault?.holdReplyMs) {
        later(fault.holdReplyMs, () => {
          if (!client.destroyed) client.write(chunk);
        });
        return;
      }
      if (!client.destroyed) client.write(chunk);
    });

    client.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      for (;;) {
        const headerEnd = pending.indexOf('\r\n\r\n');
        if (headerEnd < 0) return;
        const head = pending.subarray(0, headerEnd).toString('latin1');
        const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
        const total = headerEnd + 4 + length;
        if (pending.length < total) return;
        let body = pending.subarray(headerEnd + 4, total).toString('utf8');
        pending = pending.subarray(total);
        const operation = /\r\nx-amz-target:\s*DynamoDB_\d+\.(\w+)/i.exec(head)?.[1] ?? '';
        const fault = takeFault(operation, body);
        current = fault;
        if (fault?.forgetToken) {
          body = body.replace(/("ClientRequestToken":")([^"]+)"/, (_m, p: string, token: string) => `${p}${randomBytes(token.length).toString('hex').slice(0, token.length)}"`);
        }
        requests.push({ operation, body });
        if (fault?.refuse) {
          closeBoth();
          return;
        }
        if (fault?.refuseWith) {
          const answer = JSON.stringify({ __type: `com.amazonaws.dynamodb.v20120810#${fault.refuseWith}`, message: 'injected by the test proxy' });
          client.write(
            `HTTP/1.1 400 Bad Request\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: ${Buffer.byteLength(answer)}\r\n` +
              `x-amzn-RequestId: proxy\r\n\r\n${answer}`,
          );
          current = undefined;
          continue;
        }
        const bytes = Buffer.concat([Buffer.from(head + '\r\n\r\n', 'latin1'), Buffer.from(body, 'utf8')]);
        if (fault?.holdRequestMs) later(fault.holdRequestMs, () => !server.destroyed && server.write(bytes));
        else server.write(bytes);
      }
    });
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    inject(fault) {
      faults.push({ ...fault, remaining: fault.times ?? Infinity });
    },
    clear() {
      faults.splice(0);
    },
    close() {
      timers.forEach(clearTimeout);
      timers.clear();
      sockets.forEach((s) => s.destroy());
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
