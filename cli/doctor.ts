import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { DEFAULT_ADMIN_PORT, DEFAULT_PORT } from '../local/state';
import { AdminApiError, AdminClient, AllowlistTarget, Propagation } from './admin-client';
import { UsageError } from './context';
import { resolveEndpointSource } from './endpoint';
import { fetchWhoami, WhoamiView } from './whoami';

/**
 * `cdk-ip-allowlist doctor`: proves a deployment (or local mode) works end to end, with an organization and
 * project of its own that it removes afterwards, and measures how long each change takes to show on the protected
 * API against what the write promised. One line per check, pass or fail with the figure measured; see
 * docs/doctor.md for what each line means and how to read a failure.
 *
 * Timing is measured from the moment a write's answer arrives to the moment the first request showing the change
 * was sent. The answer comes after the commit the promise counts from, and a request is decided after it is sent,
 * so an old answer to a request sent later than the promise is a real broken promise; a breach shorter than the
 * write's own latency can go unseen.
 */

/** Requests to the protected API while waiting for a change: at most 5 a second. */
export const POLL_INTERVAL_MS = 200;
/** How long past the promised delay doctor keeps waiting for a change before it calls it missing. */
export const MARGIN_SECONDS = 10;
/** Requests that must still show the change after the first one did: a flapping answer is not a change. */
const CONFIRMATIONS = 2;
/** Documentation address (RFC 5737): on no real client, so a list holding only it refuses everybody. */
export const DOCUMENTATION_ENTRY = '192.0.2.1/32';

export interface DoctorOptions {
  /** Base URL of the protected API (with the stage). */
  readonly endpoint: string;
  readonly adminEndpoint: string;
  /** @default '/' */
  readonly path?: string;
  /** @default - a new `doctor-<random>` */
  readonly organizationId?: string;
  readonly region?: string;
  readonly profile?: string;
  /** @default POLL_INTERVAL_MS */
  readonly pollIntervalMs?: number;
  /** @default MARGIN_SECONDS */
  readonly marginSeconds?: number;
  /** Stops waiting (then cleans up) when aborted, e.g. on Ctrl-C. */
  readonly signal?: AbortSignal;
}

export interface DoctorCheck {
  readonly id: string;
  readonly title: string;
  readonly ok: boolean;
  /** What was measured, in words. */
  readonly detail: string;
  /** The same, for machines. */
  readonly figures: Readonly<Record<string, unknown>>;
}

export interface DoctorReport {
  readonly ok: boolean;
  readonly endpoint: string;
  readonly adminEndpoint: string;
  readonly path: string;
  readonly organizationId: string;
  readonly projectId: string;
  readonly checks: readonly DoctorCheck[];
}

/** One answer of the protected API. */
interface Answer {
  readonly status: number;
  /** `error.code` of our JSON error shape, if any. */
  readonly code?: string;
  readonly ms: number;
}

/** What a write promised: its answer's `propagation`, and when the answer arrived. */
interface Write {
  readonly label: string;
  readonly propagation?: Propagation;
  readonly answeredAt: number;
}

interface Observation {
  readonly shown: boolean;
  /** Since the write's answer: when the first request that showed the change was sent. */
  readonly firstShownMs?: number;
  /** Since the write's answer: when the last request that did not show it was sent. */
  readonly lastOldMs?: number;
  readonly requests: number;
  /** Answers by `status code`, e.g. `{"401 ip_not_authorized": 3, "200": 2}`. */
  readonly seen: Readonly<Record<string, number>>;
  readonly last?: Answer;
}

const CHECK_TITLES = {
  admin: 'admin API answers',
  write: 'caller may write',
  missingKey: 'no key: 401 missing_api_key',
  invalidKey: 'made-up key: 401 invalid_api_key',
  freshKey: 'fresh key, no list: 2xx',
  ipBlocked: `key list ${DOCUMENTATION_ENTRY} only: 401 ip_not_authorized`,
  ipAllowed: 'key list + your address: 2xx',
  flushed: 'writes answered flushed: true',
  cleanup: 'cleanup: key revoked, list removed',
} as const;
type CheckId = keyof typeof CHECK_TITLES;
/** The order of the report; the propagation lines (one per write that changes an answer) go before cleanup. */
const ORDER: readonly CheckId[] = ['admin', 'write', 'missingKey', 'invalidKey', 'freshKey', 'ipBlocked', 'ipAllowed'];

export async function runDoctor(options: DoctorOptions): Promise<DoctorReport> {
  const run = new DoctorRun(options);
  try {
    await run.checks();
  } catch (err) {
    // A check's own failures are recorded by the check; this is anything else (a bug, an abort).
    run.fail('error', 'unexpected failure', errorText(err));
  } finally {
    await run.cleanup();
  }
  return run.report();
}

class DoctorRun {
  readonly path: string;
  readonly org: string;
  readonly project: string;
  private readonly admin: AdminClient;
  private readonly api: ProtectedApi;
  private readonly results = new Map<string, DoctorCheck>();
  private readonly propagationIds: string[] = [];
  private readonly writes: Write[] = [];
  private key?: { readonly id: string; readonly secret: string };
  private keyListChanged = false;

  constructor(private readonly options: DoctorOptions) {
    this.path = options.path ?? '/';
    const suffix = randomBytes(4).toString('hex');
    this.org = options.organizationId ?? `doctor-${suffix}`;
    this.project = `doctor-${suffix}`;
    this.admin = new AdminClient({ endpoint: options.adminEndpoint, region: options.region, profile: options.profile });
    this.api = new ProtectedApi(options.endpoint, this.path);
  }

  async checks(): Promise<void> {
    const me = await this.whoami();
    if (!me) return;
    const missing = await this.api.get(undefined);
    this.check('missingKey', isRefusal(missing, 'missing_api_key'), `got ${describe(missing)}`, answerFigures(missing));
    const madeUp = await this.api.get(madeUpKey(this.org, this.project));
    this.check('invalidKey', isRefusal(madeUp, 'invalid_api_key'), `got ${describe(madeUp)}`, answerFigures(madeUp));

    const key = await this.createKey();
    if (!key) return;
    const fresh = await this.observe(this.writes[0], isAllowed, '2xx');
    const inherited = fresh.shown ? undefined : await this.inheritedRefusal(fresh, me);
    this.check(
      'freshKey',
      fresh.shown,
      inherited ? `${shownLine(fresh)}: ${inherited}` : shownLine(fresh),
      observationFigures(fresh),
    );
    if (!fresh.shown) return;

    const target: AllowlistTarget = { org: this.org, project: this.project, keyId: key.id };
    this.keyListChanged = true;
    // Forced: the fresh key's requests just went through from this address, so the lockout guard would refuse the
    // very lockout this check exists to observe (the key, its project and the list are doctor's own, removed below).
    const blockWrite = await this.write('key list set', () =>
      this.admin.replaceAllowlist(
        target,
        [{ value: DOCUMENTATION_ENTRY, description: 'cdk-ip-allowlist doctor' }],
        true,
        undefined,
        true,
      ),
    );
    const blocked = await this.observe(blockWrite, (a) => isRefusal(a, 'ip_not_authorized'), '401 ip_not_authorized');
    this.check('ipBlocked', blocked.shown, shownLine(blocked), observationFigures(blocked));

    if (me.ip === null) {
      this.check(
        'ipAllowed',
        false,
        `the admin API reported no address for you (sourceIp ${JSON.stringify(me.sourceIp)})`,
      );
      return;
    }
    const myIp = me.ip;
    const allowWrite = await this.write('your address added', () =>
      this.admin.addEntries(target, [{ value: myIp, description: 'cdk-ip-allowlist doctor: whoami' }]),
    );
    const allowed = await this.observe(allowWrite, isAllowed, '2xx');
    this.check(
      'ipAllowed',
      allowed.shown,
      allowed.shown
        ? `${shownLine(allowed)}, with ${myIp} added`
        : `${shownLine(allowed)}, with ${myIp} (the address the admin API sees) added: the protected API sees you ` +
            'as another address (see docs/doctor.md)',
      { ...observationFigures(allowed), addedIp: myIp },
    );
  }

  /**
   * Why a fresh key was refused ip_not_authorized, when the cause is not the deployment: a key with no list of its
   * own follows its organization's enabled list (doctor's project has none), and an --org whose list excludes the
   * caller refuses doctor too. Undefined when that is not it, or cannot be told.
   */
  private async inheritedRefusal(fresh: Observation, me: WhoamiView): Promise<string | undefined> {
    if (fresh.last?.code !== 'ip_not_authorized') return undefined;
    try {
      const { body: list } = await this.admin.getAllowlist({ org: this.org });
      if (!list.enabled) return undefined;
      const where = `organization ${this.org}'s allowlist is enabled`;
      const fix =
        'a key with no list of its own follows it: run doctor with an --org whose list allows you, or without --org';
      if (me.ip === null) return `${where}; ${fix}`;
      const { body: checked } = await this.admin.check({ org: this.org, project: this.project }, me.ip);
      if (!checked.allowed) return `${where} and does not allow ${me.ip} (you, as the admin API sees you); ${fix}`;
      return `${where} and allows ${me.ip}, the address the admin API sees: the protected API sees you as another (see docs/doctor.md)`;
    } catch {
      // The explanation is a courtesy: the line fails with its figures either way.
      return undefined;
    }
  }

  /** Revokes the key (after emptying its list) and checks both; then judges every write's flush. */
  async cleanup(): Promise<void> {
    const key = this.key;
    if (!key) {
      this.check('cleanup', true, 'nothing to remove: no key was created');
    } else {
      const target: AllowlistTarget = { org: this.org, project: this.project, keyId: key.id };
      const problems: string[] = [];
      try {
        // Emptied and disabled first: a revoked key's list can no longer be changed.
        if (this.keyListChanged)
          await this.write('key list removed', () => this.admin.replaceAllowlist(target, [], false));
        const revoked = await this.write('key revocation', () => this.admin.revokeKey(this.org, this.project, key.id));
        // Not interruptible: after a Ctrl-C, the cleanup is still checked.
        const gone = await this.observe(revoked, (a) => isRefusal(a, 'invalid_api_key'), '401 invalid_api_key', false);
        if (!gone.shown) problems.push(`the revoked key still got ${describe(gone.last)}`);
        const [stored, list] = await Promise.all([
          this.admin.getKey(this.org, this.project, key.id),
          this.admin.getAllowlist(target),
        ]);
        if (stored.body.status !== 'revoked') problems.push(`the key is ${stored.body.status}`);
        // `mode`, not `enabled`: a report-only list is not enforced, but it is not cleaned up either.
        if (list.body.mode !== 'off' || list.body.entries.length > 0) {
          problems.push(`its list is in mode ${list.body.mode} with ${list.body.entries.length} entries`);
        }
      } catch (err) {
        problems.push(errorText(err));
      }
      this.check(
        'cleanup',
        problems.length === 0,
        problems.length === 0
          ? `key ${key.id} revoked and refused, its list emptied and disabled (the audit log of ${this.org} keeps the record)`
          : `${problems.join('; ')}. Revoke it by hand: cdk-ip-allowlist keys revoke --org ${this.org} --project ${this.project} ${key.id}`,
        { keyId: key.id, problems },
      );
    }
    if (this.writes.length === 0) return;
    const unflushed = this.writes.filter((w) => w.propagation?.flushed !== true);
    const promises = [...new Set(unflushed.map((w) => w.propagation?.maxDelaySeconds ?? 'none'))].join(' or ');
    this.check(
      'flushed',
      unflushed.length === 0,
      unflushed.length === 0
        ? `all ${this.writes.length} writes`
        : `${unflushed.length} of ${this.writes.length} writes answered flushed: false, maxDelaySeconds ${promises} ` +
            `(${unflushed.map((w) => w.label).join(', ')}): the authorizer cache flush failed, so a change may wait ` +
            'for the cache TTL',
      { writes: this.writes.map((w) => ({ label: w.label, ...w.propagation })) },
    );
  }

  report(): DoctorReport {
    const ids = [...ORDER, 'flushed', ...this.propagationIds, 'cleanup', 'error'];
    const checks: DoctorCheck[] = [];
    for (const id of ids) {
      const found = this.results.get(id);
      if (found) checks.push(found);
      else if (id in CHECK_TITLES) {
        // Not reached because an earlier check failed: reported, so a short report is never mistaken for a pass.
        checks.push({
          id,
          title: CHECK_TITLES[id as CheckId],
          ok: false,
          detail: 'not run: an earlier check failed',
          figures: {},
        });
      }
    }
    return {
      ok: checks.every((c) => c.ok),
      endpoint: this.options.endpoint,
      adminEndpoint: this.options.adminEndpoint,
      path: this.path,
      organizationId: this.org,
      projectId: this.project,
      checks,
    };
  }

  fail(id: string, title: string, detail: string): void {
    this.results.set(id, { id, title, ok: false, detail, figures: {} });
  }

  private check(id: CheckId, ok: boolean, detail: string, figures: Record<string, unknown> = {}): void {
    this.results.set(id, { id, title: CHECK_TITLES[id], ok, detail, figures });
  }

  private async whoami(): Promise<WhoamiView | undefined> {
    const start = performance.now();
    try {
      const me = await fetchWhoami(this.admin);
      const took = performance.now() - start;
      this.check('admin', true, `GET /v1/whoami in ${ms(took)}: ${me.principal} from ${me.ip ?? me.sourceIp}`, {
        ms: round(took),
        ...me,
      });
      return me;
    } catch (err) {
      this.check('admin', false, `GET /v1/whoami failed: ${errorText(err)}`, { error: errorText(err) });
      return undefined;
    }
  }

  private async createKey(): Promise<{ id: string; secret: string } | undefined> {
    const start = performance.now();
    try {
      const created = await this.write('key creation', async () => {
        const res = await this.admin.createKey(this.org, this.project, 'doctor');
        this.key = { id: res.body.id, secret: res.body.key };
        return res;
      });
      const took = created.answeredAt - start;
      this.check('write', true, `created key ${this.key!.id} in ${this.org}/${this.project} in ${ms(took)}`, {
        ms: round(took),
        organizationId: this.org,
        projectId: this.project,
        keyId: this.key!.id,
      });
      return this.key;
    } catch (err) {
      this.check(
        'write',
        false,
        `creating a key in ${this.org}/${this.project} failed: ${errorText(err)}${writeHint(err, this.org)}`,
        {
          error: errorText(err),
        },
      );
      return undefined;
    }
  }

  private async write(label: string, send: () => Promise<{ body: { propagation?: Propagation } }>): Promise<Write> {
    const res = await send();
    const write = { label, propagation: res.body.propagation, answeredAt: performance.now() };
    this.writes.push(write);
    return write;
  }

  /** Polls the protected API with the key until the change shows, and records the write's propagation line. */
  private async observe(
    write: Write,
    isChange: (a: Answer) => boolean,
    want: string,
    interruptible = true,
  ): Promise<Observation> {
    const promised = write.propagation?.maxDelaySeconds;
    const giveUpMs = ((promised ?? 0) + (this.options.marginSeconds ?? MARGIN_SECONDS)) * 1000;
    const seen = await this.api.poll(this.key!.secret, write.answeredAt, isChange, {
      giveUpMs,
      intervalMs: this.options.pollIntervalMs ?? POLL_INTERVAL_MS,
      signal: interruptible ? this.options.signal : undefined,
    });
    const id = `propagation:${write.label}`;
    this.propagationIds.push(id);
    const figures = {
      promisedSeconds: promised ?? null,
      firstShownSeconds: seconds(seen.firstShownMs),
      lastOldSeconds: seconds(seen.lastOldMs),
      requests: seen.requests,
      seen: seen.seen,
    };
    let ok: boolean;
    let detail: string;
    if (promised === undefined) {
      [ok, detail] = [false, 'the write answered no propagation: nothing to measure against'];
    } else if (!seen.shown) {
      [ok, detail] = [false, `${want} not seen within ${fmt(giveUpMs)} of the answer (promised ${promised} s)`];
    } else {
      // Broken only when a request sent after the promised delay still got the old answer.
      ok = seen.lastOldMs === undefined || seen.lastOldMs < promised * 1000;
      detail =
        `${want} ${fmt(seen.firstShownMs!)} after the answer, promised within ${promised} s` +
        (ok ? '' : `: a request sent ${fmt(seen.lastOldMs!)} after it still got the old answer`);
    }
    this.results.set(id, { id, title: `propagation after ${write.label}`, ok, detail, figures });
    return seen;
  }
}

/** The protected API, one GET route of it, with or without a key. */
class ProtectedApi {
  private readonly url: URL;

  constructor(endpoint: string, path: string) {
    const base = new URL(endpoint);
    this.url = new URL(base.toString());
    this.url.pathname = `${base.pathname.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
  }

  async get(key: string | undefined): Promise<Answer> {
    const start = performance.now();
    const res = await fetch(this.url, {
      headers: key === undefined ? {} : { authorization: `Bearer ${key}` },
      redirect: 'manual',
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    let code: string | undefined;
    try {
      const parsed = JSON.parse(text) as { error?: { code?: unknown } };
      if (typeof parsed?.error?.code === 'string') code = parsed.error.code;
    } catch {
      // Not our error shape (an upstream's own answer): the status says enough.
    }
    return { status: res.status, code, ms: performance.now() - start };
  }

  /**
   * Requests at most one per `intervalMs` until `isChange` holds for CONFIRMATIONS + 1 answers in a row, or
   * `giveUpMs` after `since` has passed. A change that flips back is not counted as shown.
   */
  async poll(
    key: string,
    since: number,
    isChange: (a: Answer) => boolean,
    limits: { readonly giveUpMs: number; readonly intervalMs: number; readonly signal?: AbortSignal },
  ): Promise<Observation> {
    const seen: Record<string, number> = {};
    let requests = 0;
    let firstShownMs: number | undefined;
    let lastOldMs: number | undefined;
    let streak = 0;
    let last: Answer | undefined;
    while (!limits.signal?.aborted) {
      const sentAt = performance.now() - since;
      if (sentAt > limits.giveUpMs && streak === 0) break;
      last = await this.get(key);
      requests += 1;
      const label = last.code ? `${last.status} ${last.code}` : String(last.status);
      seen[label] = (seen[label] ?? 0) + 1;
      if (isChange(last)) {
        if (streak === 0) firstShownMs = sentAt;
        if (++streak > CONFIRMATIONS) break;
      } else {
        lastOldMs = sentAt;
        streak = 0;
        firstShownMs = undefined;
      }
      await sleep(Math.max(0, limits.intervalMs - (performance.now() - since - sentAt)));
    }
    return { shown: streak > 0 && firstShownMs !== undefined, firstShownMs, lastOldMs, requests, seen, last };
  }
}

function isAllowed(a: Answer): boolean {
  return a.status >= 200 && a.status < 300;
}

function isRefusal(a: Answer, code: string): boolean {
  return a.status === 401 && a.code === code;
}

/** A key of the right shape for the doctor's own project, with a secret nobody was given. */
function madeUpKey(org: string, project: string): string {
  return `sk-${Buffer.from(`${org}/${project}`, 'utf8').toString('base64url')}.${randomBytes(32).toString('base64url')}`;
}

function describe(a: Answer | undefined): string {
  if (!a) return 'no answer';
  return `${a.status}${a.code ? ` ${a.code}` : ''} in ${ms(a.ms)}`;
}

function shownLine(o: Observation): string {
  if (o.shown) return `${describe(o.last)}, ${fmt(o.firstShownMs!)} after the write's answer (${o.requests} requests)`;
  return `got ${describe(o.last)} (${formatSeen(o.seen)} over ${o.requests} requests)`;
}

function formatSeen(seen: Readonly<Record<string, number>>): string {
  return Object.entries(seen)
    .map(([label, n]) => `${n}× ${label}`)
    .join(', ');
}

function answerFigures(a: Answer): Record<string, unknown> {
  return { status: a.status, code: a.code ?? null, ms: round(a.ms) };
}

function observationFigures(o: Observation): Record<string, unknown> {
  return {
    status: o.last?.status ?? null,
    code: o.last?.code ?? null,
    firstShownSeconds: seconds(o.firstShownMs),
    requests: o.requests,
    seen: o.seen,
  };
}

function writeHint(err: unknown, org: string): string {
  if (err instanceof AdminApiError && err.status === 403) {
    return `. Your principal needs the admin API's grantWrite for ${org} (or for every organization), or pass --org with one it may write`;
  }
  return '';
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

const round = (n: number) => Math.round(n);
const ms = (n: number) => `${Math.round(n)} ms`;
const fmt = (n: number) => `${(n / 1000).toFixed(2)} s`;
const seconds = (n: number | undefined) => (n === undefined ? null : Math.round(n) / 1000);
const sleep = (n: number) => new Promise<void>((resolve) => setTimeout(resolve, n));

export function formatDoctorReport(report: DoctorReport): string {
  const width = Math.max(...report.checks.map((c) => c.title.length));
  const lines = report.checks.map((c) => `${c.ok ? 'PASS' : 'FAIL'}  ${c.title.padEnd(width)}  ${c.detail}`);
  const passed = report.checks.filter((c) => c.ok).length;
  lines.push(
    `${report.ok ? 'ok' : 'FAILED'}: ${passed} of ${report.checks.length} checks passed ` +
      `(${report.endpoint}${report.path === '/' ? '' : ` path ${report.path}`}, organization ${report.organizationId})`,
  );
  return `${lines.join('\n')}\n`;
}

/** What doctor was given: the protected API's and the admin API's URLs, or where to find them. */
export interface DoctorTargets {
  /** --endpoint: the protected API. */
  readonly endpoint?: string;
  readonly adminEndpoint?: string;
  readonly dataDir?: string;
}

/**
 * Both URLs from the same source, so doctor never checks one instance's admin API against another's protected
 * API: --endpoint for the protected API when given; else, when the admin API is a local mode's (--data-dir,
 * CDK_IP_ALLOWLIST_DATA_DIR, the project's .local, or a URL that is one of theirs), that local mode's protected
 * API. A remote admin API without --endpoint is bad usage: doctor cannot know which protected API it guards.
 * A value that is not an http(s) URL is bad usage too, naming the option it came from.
 */
export function resolveDoctorEndpoints(
  targets: DoctorTargets,
  io: { readonly env: Readonly<Record<string, string | undefined>>; readonly cwd: string },
): { readonly endpoint: string; readonly adminEndpoint: string } {
  if (targets.endpoint !== undefined) requireHttpUrl(targets.endpoint, '--endpoint');
  const admin = resolveEndpointSource(targets.adminEndpoint, io, targets.dataDir, '--admin-endpoint');
  requireHttpUrl(admin.adminUrl, admin.source);
  const endpoint = targets.endpoint ?? admin.localApiUrl;
  if (endpoint === undefined)
    throw new UsageError(
      `the admin API ${admin.adminUrl} (from ${admin.source}) is not a running local mode's, so doctor cannot ` +
        "tell which protected API it guards: give the protected API's base URL with --endpoint",
    );
  return { endpoint, adminEndpoint: admin.adminUrl };
}

const LOCAL_API_EXAMPLE = `http://127.0.0.1:${DEFAULT_PORT}`;
const LOCAL_ADMIN_EXAMPLE = `http://127.0.0.1:${DEFAULT_ADMIN_PORT}`;

function requireHttpUrl(value: string, source: string): void {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    // Reported below, with the option's name.
  }
  if (url?.protocol !== 'http:' && url?.protocol !== 'https:')
    throw new UsageError(
      `${source} must be an http(s) URL such as ${source === '--endpoint' ? LOCAL_API_EXAMPLE : LOCAL_ADMIN_EXAMPLE}, got ${JSON.stringify(value)}`,
    );
}

export interface DoctorCommandInput {
  /** The protected API (resolveDoctorEndpoints). */
  readonly endpoint: string;
  readonly adminEndpoint: string;
  readonly path?: string;
  readonly org?: string;
  readonly region?: string;
  readonly profile?: string;
  readonly json: boolean;
  readonly stdout: (text: string) => void;
}

/** The command: runs the checks (Ctrl-C stops the waiting, then cleans up) and prints the report. */
export async function doctorCommand(input: DoctorCommandInput): Promise<number> {
  const abort = new AbortController();
  const onSigint = () => abort.abort();
  process.once('SIGINT', onSigint);
  try {
    const report = await runDoctor({
      endpoint: input.endpoint,
      adminEndpoint: input.adminEndpoint,
      path: input.path,
      organizationId: input.org,
      region: input.region,
      profile: input.profile,
      signal: abort.signal,
    });
    input.stdout(input.json ? `${JSON.stringify(report, null, 2)}\n` : formatDoctorReport(report));
    return report.ok ? 0 : 1;
  } finally {
    process.off('SIGINT', onSigint);
  }
}
