import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { MAX_PROPAGATION_DELAY_SECONDS, propagationDelayFault } from '../lib/contract';
import { matchRoute } from './gateway';
import { DEFAULT_PROJECT_ROOT, RunningLocalMode, startLocalMode } from './local-mode';
import { DEFAULT_ADMIN_PORT, DEFAULT_PORT } from './state';

/**
 * `npm start`: runs the example stack on this machine (see docs/local-mode.md) and prints how to call it.
 */

const HELP = `Usage: npm start -- [options]

Runs cdk-ip-allowlist on this machine: DynamoDB Local, the protected API (the allowlist in front of the
example echo Lambda or --upstream) and the admin API, on loopback only, from the synthesized example app.

Options:
  --port N            protected API port (default ${DEFAULT_PORT}; 0 = a free port)
  --admin-port N      admin API port (default ${DEFAULT_ADMIN_PORT}; 0 = a free port)
  --upstream URL      put the allowlist in front of this HTTP service instead of the echo Lambda
  --ttl SECONDS       propagation delay (authorizer cache TTL + decision age bound), 0-${MAX_PROPAGATION_DELAY_SECONDS}
  --in-memory         keep DynamoDB Local's data in memory (nothing survives the run)
  --data-dir DIR      where data, the cloud assembly and state live (default .local)
  --quiet             do not print the access log and the Lambdas' output
  -h, --help          show this help
`;

export interface StartArgs {
  readonly port: number;
  readonly adminPort: number;
  readonly upstreamUrl?: string;
  readonly propagationDelaySeconds?: number;
  readonly inMemory: boolean;
  readonly dataDir?: string;
  readonly quiet: boolean;
  readonly help: boolean;
}

export class UsageError extends Error {}

export function parseStartArgs(argv: readonly string[]): StartArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        port: { type: 'string' },
        'admin-port': { type: 'string' },
        upstream: { type: 'string' },
        ttl: { type: 'string' },
        'in-memory': { type: 'boolean', default: false },
        'data-dir': { type: 'string' },
        quiet: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  const v = parsed.values;
  const port = (name: string, text: string | undefined, fallback: number): number => {
    if (text === undefined) return fallback;
    const n = /^\d+$/.test(text) ? Number(text) : NaN;
    if (!(n >= 0 && n <= 65535))
      throw new UsageError(`--${name} must be a port number from 0 to 65535, got ${JSON.stringify(text)}`);
    return n;
  };
  let upstreamUrl: string | undefined;
  if (v.upstream !== undefined) {
    let u: URL;
    try {
      u = new URL(v.upstream);
    } catch {
      throw new UsageError(`--upstream must be a URL such as http://127.0.0.1:3000, got ${JSON.stringify(v.upstream)}`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:')
      throw new UsageError(`--upstream must be an http(s) URL, got ${v.upstream}`);
    upstreamUrl = v.upstream;
  }
  let propagationDelaySeconds: number | undefined;
  if (v.ttl !== undefined) {
    propagationDelaySeconds = /^\d+$/.test(v.ttl) ? Number(v.ttl) : NaN;
    if (propagationDelayFault(propagationDelaySeconds) !== undefined) {
      throw new UsageError(
        `--ttl must be a whole number of seconds from 0 to ${MAX_PROPAGATION_DELAY_SECONDS}, got ${JSON.stringify(v.ttl)}`,
      );
    }
  }
  return {
    port: port('port', v.port, DEFAULT_PORT),
    adminPort: port('admin-port', v['admin-port'], DEFAULT_ADMIN_PORT),
    upstreamUrl,
    propagationDelaySeconds,
    inMemory: v['in-memory'] ?? false,
    dataDir: v['data-dir'],
    quiet: v.quiet ?? false,
    help: v.help ?? false,
  };
}

/** The lines printed once local mode serves: where everything is and two commands that show the product. */
export function banner(local: RunningLocalMode, args: StartArgs): string[] {
  const samplePath = matchRoute(local.gateway.api.root, '/hello', 'GET') ? '/hello' : '/';
  const authorizer = [...local.gateway.api.authorizers.values()][0];
  const lines = [
    '',
    'cdk-ip-allowlist local mode',
    `  protected API   ${local.url}${local.urlIpv6 ? `   (also ${local.urlIpv6})` : ''}`,
  ];
  if (local.adminUrl) lines.push(`  admin API       ${local.adminUrl}   (no SigV4 locally: callers are local:<user>)`);
  lines.push(
    `  DynamoDB Local  ${local.dynamoDbEndpoint}   (${args.inMemory ? 'in memory' : `data in ${args.dataDir ?? '.local'}/dynamodb`})`,
  );
  if (local.dynamoDbListensOn !== undefined && local.dynamoDbListensOn !== '127.0.0.1') {
    lines.push(`  warning         DynamoDB Local listens on ${local.dynamoDbListensOn}`);
  }
  lines.push(`  upstream        ${args.upstreamUrl ?? 'the example echo Lambda'}`);
  if (authorizer) {
    lines.push(
      `  authorizer      cache TTL ${authorizer.ttlSeconds} s, keyed by ${authorizer.identitySources.map((s) => s.expression).join(' + ')}`,
    );
  }
  if (local.demo) {
    const { key, organizationId, allowedIp } = local.demo;
    const auth = `-H 'Authorization: Bearer ${key}'`;
    lines.push(
      '',
      `Demo: organization ${organizationId} allows only ${allowedIp}. Try:`,
      '',
      `  # 200 from ${allowedIp}:`,
      `  curl -s ${auth} ${local.url}${samplePath}`,
      '',
      '  # 401 ip_not_authorized: same key, from 127.0.0.2 (any 127.x address reaches loopback on Linux):',
      `  curl -s --interface 127.0.0.2 ${auth} ${local.url}${samplePath}`,
    );
    if (local.urlIpv6) lines.push(`  #   or over IPv6 loopback:  curl -s ${auth} ${local.urlIpv6}${samplePath}`);
    if (local.adminUrl) {
      // Another data directory is another instance: point the CLI at it, or it would call the default one.
      const dataDir = args.dataDir === undefined ? '' : ` --data-dir ${shellWord(path.resolve(args.dataDir))}`;
      lines.push(
        '',
        'Manage it with the CLI, e.g.:',
        `  npx cdk-ip-allowlist allowlist show --org ${organizationId}${dataDir}`,
        `  npx cdk-ip-allowlist allowlist add --org ${organizationId} 127.0.0.2 --description "second loopback"${dataDir}`,
      );
    }
  }
  lines.push('');
  return lines;
}

/** A path as one shell word, quoted only when it must be. */
function shellWord(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

/** `CdkIpAllowlistExample-ApiAuthorizerFunctionAFDFA6FD` -> `ApiAuthorizerFunction`. */
function shortName(functionName: string): string {
  return functionName.replace(/^.*?-/, '').replace(/[0-9A-F]{8}$/, '');
}

async function main(argv: readonly string[]): Promise<number> {
  // Local mode's own SDK clients; the warning about this machine's Node version is noise here.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  let args: StartArgs;
  try {
    args = parseStartArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`error: ${err.message}\n\n${HELP}`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(HELP);
    return 0;
  }
  // When npm (our stdout's reader) is gone, writing must not kill us half-way through stopping java.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
  const started = Date.now();
  const say = (line: string) => process.stdout.write(`${line}\n`);

  // The Lambda assets are build output (not in git): bundle them first, as `cdk synth` does through cdk.json.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- scripts/bundle.js is the build's plain CommonJS, without type declarations
  const { bundle } = require(path.join(DEFAULT_PROJECT_ROOT, 'scripts', 'bundle.js')) as {
    bundle: (o: { quiet: boolean }) => Promise<unknown>;
  };
  await bundle({ quiet: true });

  // eslint-disable-next-line prefer-const -- the signal handlers below read it before start-up assigns it; as a const it would still be in its temporal dead zone when a signal arrives during start-up
  let local: RunningLocalMode | undefined;
  // The access log starts once ready, so local mode's own readiness probes do not show.
  let ready = false;
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    say(`\n${signal}: stopping local mode`);
    await local?.stop();
    process.exit(0);
  };
  // A signal during start-up must also stop what has started: remember it and stop once start returns.
  let pendingSignal: string | undefined;
  const onStopRequest = (reason: string) => {
    if (local) void stop(reason);
    else if (pendingSignal) process.exit(130);
    else pendingSignal = reason;
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => onStopRequest(signal));
  // `npm start` runs us under `sh -c`; a SIGTERM sent to npm alone kills that shell but never reaches us. Stop
  // when the parent goes away, so local mode (and its java) cannot outlive the command that started it.
  const parentPid = process.ppid;
  setInterval(() => {
    if (process.ppid !== parentPid) onStopRequest('parent process exited');
  }, 500).unref();

  local = await startLocalMode({
    stateDir: args.dataDir ? path.resolve(args.dataDir) : undefined,
    port: args.port,
    adminPort: args.adminPort,
    inMemory: args.inMemory,
    upstreamUrl: args.upstreamUrl,
    propagationDelaySeconds: args.propagationDelaySeconds,
    log: say,
    lambdaLog: args.quiet ? () => undefined : (fn, line) => say(`  [${shortName(fn)}] ${line}`),
    accessLog: args.quiet ? undefined : (line) => ready && say(`  ${line}`),
  });
  if (pendingSignal) {
    await stop(pendingSignal);
    return 0;
  }
  for (const line of banner(local, args)) say(line);
  ready = true;
  say(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s: serving on ${local.url} (Ctrl-C to stop)`);
  return -1;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      if (code >= 0) process.exit(code);
    },
    (err: unknown) => {
      process.stderr.write(`local mode failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
