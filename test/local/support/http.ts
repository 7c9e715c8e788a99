import * as http from 'node:http';

/** One real HTTP request, optionally from a chosen local source address (127.0.0.2, ::1, ...). */
export interface CallOptions {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  /** Source address of the TCP connection. */
  readonly localAddress?: string;
}

export interface CallResult {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly text: string;
  /** The body parsed as JSON (undefined if it is not JSON). */
  readonly json: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- the parsed body of any response; tests assert on it field by field
}

export function call(url: string, options: CallOptions = {}): Promise<CallResult> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        hostname: u.hostname.replace(/^\[|\]$/g, ''),
        port: u.port,
        path: `${u.pathname}${u.search}`,
        method: options.method ?? 'GET',
        headers: options.headers,
        localAddress: options.localAddress,
        // A fresh connection per call: the source address is a property of the connection.
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

export function bearer(key: string): Record<string, string> {
  return { Authorization: `Bearer ${key}` };
}
