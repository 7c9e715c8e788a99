import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunningLocalMode } from '../local/local-mode';
import { extractBearerToken, hashApiKey } from '../lambda/core/api-key';

/**
 * Runs local mode (`startLocalMode`, what `npm start` runs) in its own process for the end-to-end and cache
 * benchmarks, so the load generator in the parent does not share an event loop with the gateway. Talks to the
 * parent over IPC:
 * - it counts the authorizer Lambda's invocations per (API key, source IP) by wrapping the authorizer runner's
 *   `invoke` (the gateway also keeps a total in `gateway.stats`, reported beside it);
 * - the gateway's cache clock is `Date.now() + offset`, and `advance` moves the offset, so TTL windows can be
 *   crossed without waiting them out in real time.
 */

type Command =
  | { cmd: 'start'; upstreamUrl: string; dynamoDbEndpoint?: string; propagationDelaySeconds?: number }
  | { cmd: 'stats' }
  | { cmd: 'advance'; ms: number }
  | { cmd: 'stop' };

let running: RunningLocalMode | undefined;
let offsetMs = 0;
const perPair = new Map<string, number>();
// Inside the project (as `npm start`'s .local/ is): the synthesized Lambdas resolve '@aws-sdk/*' from its node_modules.
const localDir = path.resolve(__dirname, '..', '.local');
fs.mkdirSync(localDir, { recursive: true });
const stateDir = fs.mkdtempSync(path.join(localDir, 'bench-'));

function send(message: unknown): void {
  process.send?.(message);
}

async function start(c: Extract<Command, { cmd: 'start' }>): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- local mode is loaded only when the parent asks this child to start it, so the child's own start-up is not measured with it
  const { startLocalMode } = require('../local/local-mode') as typeof import('../local/local-mode');
  running = await startLocalMode({
    upstreamUrl: c.upstreamUrl,
    dynamoDbEndpoint: c.dynamoDbEndpoint,
    propagationDelaySeconds: c.propagationDelaySeconds,
    inMemory: true,
    port: 0,
    adminPort: 0,
    stateDir,
    writeState: false,
    seed: false,
    tablePrefix: `bench${process.pid}`,
    log: (line) => process.stderr.write(`[local] ${line}\n`),
    // The Lambdas' own output (deny lines, EMF metrics) would drown the bench's; BENCH_LOCAL_DEBUG=1 shows it.
    lambdaLog: process.env.BENCH_LOCAL_DEBUG ? (fn, line) => process.stderr.write(`[${fn}] ${line}\n`) : () => {},
    now: () => Date.now() + offsetMs,
  });
  const api = running.gateway.api;
  const authorizers = [...api.authorizers.values()];
  if (authorizers.length !== 1)
    throw new Error(`expected one authorizer on the data-plane API, found ${authorizers.length}`);
  const authorizer = authorizers[0];
  const runner = running.runners.get(authorizer.functionLogicalId);
  if (!runner) throw new Error(`no runner for the authorizer Lambda ${authorizer.functionLogicalId}`);
  const invoke = runner.invoke.bind(runner);
  runner.invoke = (event: unknown) => {
    const e = event as { headers?: Record<string, string>; requestContext?: { identity?: { sourceIp?: string } } };
    const auth = Object.entries(e.headers ?? {}).find(([k]) => k.toLowerCase() === 'authorization')?.[1] ?? '';
    // The key's hash, never the key: this ends up in the results file.
    const token = extractBearerToken(auth);
    const pair = `${token === undefined ? 'none' : hashApiKey(token).slice(0, 16)}|${e.requestContext?.identity?.sourceIp ?? ''}`;
    perPair.set(pair, (perPair.get(pair) ?? 0) + 1);
    return invoke(event);
  };
  send({
    type: 'ready',
    url: running.url,
    adminUrl: running.adminUrl,
    ttlSeconds: authorizer.ttlSeconds,
    identitySources: authorizer.identitySources.map((s) => `${s.kind}:${s.name}`),
    authorizerFunction: authorizer.functionLogicalId,
  });
}

async function stop(): Promise<void> {
  try {
    await running?.stop();
  } finally {
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
}

process.on('message', (raw: Command) => {
  const reply = (p: Promise<unknown>) =>
    p.catch((err: unknown) =>
      send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
    );
  switch (raw.cmd) {
    case 'start':
      void reply(start(raw));
      break;
    case 'stats':
      send({
        type: 'stats',
        gateway: running ? { ...running.gateway.stats } : undefined,
        perPair: Object.fromEntries(perPair),
      });
      break;
    case 'advance':
      offsetMs += raw.ms;
      send({ type: 'advanced', offsetMs });
      break;
    case 'stop':
      void reply(stop().then(() => send({ type: 'stopped' })));
      break;
  }
});
// If the parent dies, stop DynamoDB Local and the workers rather than leave them behind.
process.on('disconnect', () => {
  void stop().finally(() => process.exit(0));
});
