import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Harness } from '../../lambda/admin/fixtures';

/**
 * The real admin handler of a test harness (on DynamoDB Local) behind a loopback HTTP server, so the CLI runs
 * in-process against it with `--endpoint`, without local mode's synth.
 */
export interface AdminServer {
  readonly endpoint: string;
  close(): Promise<void>;
}

export async function serveAdminHarness(h: Harness): Promise<AdminServer> {
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const query = Object.fromEntries(url.searchParams.entries());
      void h
        .call(req.method ?? 'GET', url.pathname, {
          body: body === '' ? undefined : body,
          query: Object.keys(query).length ? query : undefined,
          headers: req.headers['if-match'] ? { 'If-Match': String(req.headers['if-match']) } : undefined,
        })
        .then((reply) => {
          res.writeHead(reply.status, { 'content-type': 'application/json' });
          res.end(JSON.stringify(reply.body));
        });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((r) => server.close(() => r())),
  };
}
