import * as http from 'node:http';

/**
 * The upstream of the end-to-end benchmark: the smallest useful HTTP service (a fixed JSON body), in its own
 * process, so "direct" and "through the gateway" hit the same server and the gateway's cost is the difference.
 * Prints its URL on stdout once listening.
 */
const body = Buffer.from('{"ok":true,"service":"bench-upstream"}');
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(body.length) });
    res.end(body);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}` })}\n`);
});
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// Never outlive the benchmark that started it.
process.on('disconnect', stop);
