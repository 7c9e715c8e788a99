import type { SignatureV4 } from '@smithy/signature-v4';
import { ResourceRef as AllowlistTarget, resourceUrlPath } from '../lambda/admin/contract/paths';
import type { OperationResult } from '../lambda/admin/contract/routes';
import type { AllowlistMode } from '../lambda/core/model';
import { WHOAMI_PATH } from '../lib/contract';
import type {
  AddEntriesBody,
  AllowlistView,
  AuditEventView,
  CheckBody,
  CheckView,
  CreateApiKeyBody,
  EntryInputBody,
  ImpactAddressView,
  PreviewBody,
  PreviewView,
  PropagationView,
  ReplaceAllowlistBody,
} from '../lambda/admin/contract/schemas';

/**
 * A small typed client of the admin API (routes in lambda/admin/routes.ts), shared by the CLI and local mode's
 * seeding. Against a deployed API every request is signed with SigV4 (service execute-api) using the standard
 * AWS credential chain; against local mode (a loopback endpoint) nothing is signed, because local mode does not
 * check signatures.
 */

export interface AdminClientOptions {
  /** Base URL of the admin API, including the stage path for a deployed API (`https://id.execute-api.region.amazonaws.com/prod`). */
  readonly endpoint: string;
  /**
   * Region for SigV4.
   *
   * @default - from the endpoint's host name, else AWS_REGION / AWS_DEFAULT_REGION
   */
  readonly region?: string;
  /**
   * Named profile of the shared AWS config.
   *
   * @default - the standard credential chain (AWS_PROFILE, environment, SSO, instance roles, ...)
   */
  readonly profile?: string;
  /**
   * Whether to sign requests.
   *
   * @default - sign unless the endpoint is on loopback (local mode)
   */
  readonly sign?: boolean;
  /**
   * Caller name local mode records in the audit log (`local:<name>`); ignored by a deployed API.
   *
   * @default - local mode's default (the OS user)
   */
  readonly localUser?: string;
  /** @default 30000 */
  readonly timeoutMs?: number;
}

/** A scope of an allowlist: the organization's, a project's, or one API key's. */
export type { AllowlistTarget };

// The answers' and requests' shapes are the contract's schemas (lambda/admin/contract), imported as types only: the
// CLI bundle carries no zod.
export type { AllowlistView, CheckView, ImpactAddressView, PreviewView };
export type Propagation = PropagationView;
/** An entry with a description (an entry may also be sent as a bare string). */
export type EntryInput = Exclude<EntryInputBody, string>;
/**
 * An allowlist as a read or a write answers it: a read adds each entry's `lastMatchedAt` and `warnings`, a write
 * `propagation`.
 */
export type AllowlistWriteView = AllowlistView | OperationResult<'replaceAllowlist'>;
export type TrafficView = OperationResult<'listTraffic'>;
/** The traffic log's filters (`since`: ISO-8601, as sent). */
export interface TrafficFilters {
  readonly project?: string;
  readonly key?: string;
  readonly outcome?: string;
  readonly since?: string;
  readonly limit?: number;
  readonly cursor?: string;
}
export type ApiKeyView = OperationResult<'getApiKey'>;
export type AuditView = AuditEventView;
export type WhoamiView = OperationResult<'whoami'>;
/** A page of a listing (API keys, audit events): the shape the contract's `*List` schemas share. */
export type ListView<T> = Readonly<Omit<OperationResult<'listApiKeys' | 'listAuditLog' | 'listTraffic'>, 'data'>> & {
  readonly data: readonly T[];
};

/** An error answer of the admin API (`{"error":{message,type,param,code}}`) or a transport failure. */
export class AdminApiError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly code: string | undefined,
    readonly body: unknown,
  ) {
    super(message);
    this.name = 'AdminApiError';
  }
}

export interface ApiResponse<T = Record<string, unknown>> {
  readonly status: number;
  readonly headers: Headers;
  readonly body: T;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

export function isLoopbackEndpoint(endpoint: string): boolean {
  try {
    const host = new URL(endpoint).hostname;
    return LOOPBACK_HOSTS.has(host) || /^127\./.test(host);
  } catch {
    return false;
  }
}

/** The region of an `execute-api` host name, if it is one. */
export function regionFromEndpoint(endpoint: string): string | undefined {
  try {
    return /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/.exec(new URL(endpoint).hostname)?.[1];
  } catch {
    return undefined;
  }
}

export class AdminClient {
  private readonly base: URL;
  private signer?: SignatureV4;

  constructor(private readonly options: AdminClientOptions) {
    let url: URL;
    try {
      url = new URL(options.endpoint);
    } catch {
      throw new AdminApiError(
        `--endpoint must be a URL such as http://127.0.0.1:8081, got ${JSON.stringify(options.endpoint)}`,
        undefined,
        'invalid_endpoint',
        undefined,
      );
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new AdminApiError(
        `--endpoint must be an http(s) URL, got ${options.endpoint}`,
        undefined,
        'invalid_endpoint',
        undefined,
      );
    }
    this.base = url;
  }

  get endpoint(): string {
    return this.options.endpoint;
  }

  private shouldSign(): boolean {
    return this.options.sign ?? !isLoopbackEndpoint(this.options.endpoint);
  }

  private getSigner(): SignatureV4 {
    if (!this.signer) {
      const region =
        this.options.region ??
        regionFromEndpoint(this.options.endpoint) ??
        process.env.AWS_REGION ??
        process.env.AWS_DEFAULT_REGION;
      if (!region) {
        throw new AdminApiError(
          'cannot tell which AWS region to sign for: pass --region (or set AWS_REGION) for a custom domain',
          undefined,
          'missing_region',
          undefined,
        );
      }
      /* eslint-disable @typescript-eslint/no-require-imports -- loaded only when signing: local mode never needs them, and they are the slowest part of the CLI's start */
      const { SignatureV4: Signer } = require('@smithy/signature-v4') as typeof import('@smithy/signature-v4');
      const { Sha256 } = require('@aws-crypto/sha256-js') as typeof import('@aws-crypto/sha256-js');
      const { fromNodeProviderChain } =
        require('@aws-sdk/credential-providers') as typeof import('@aws-sdk/credential-providers');
      /* eslint-enable @typescript-eslint/no-require-imports -- end of the lazily loaded signing modules */
      this.signer = new Signer({
        service: 'execute-api',
        region,
        credentials: fromNodeProviderChain(this.options.profile ? { profile: this.options.profile } : {}),
        sha256: Sha256,
      });
    }
    return this.signer;
  }

  /** Sends one request; resolves for 2xx, throws AdminApiError with the API's message otherwise. */
  async request<T = Record<string, unknown>>(
    method: string,
    path: string,
    init: { body?: unknown; query?: Record<string, string | undefined>; headers?: Record<string, string> } = {},
  ): Promise<ApiResponse<T>> {
    const basePath = this.base.pathname.replace(/\/+$/, '');
    const url = new URL(this.base.toString());
    url.pathname = `${basePath}${path}`;
    const query: Record<string, string> = {};
    for (const [k, v] of Object.entries(init.query ?? {})) if (v !== undefined) query[k] = v;
    url.search = new URLSearchParams(query).toString();
    const body = init.body === undefined ? undefined : JSON.stringify(init.body);
    let headers: Record<string, string> = {
      accept: 'application/json',
      host: url.host,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(this.options.localUser && !this.shouldSign() ? { 'x-local-user': this.options.localUser } : {}),
      ...(init.headers ?? {}),
    };
    if (this.shouldSign()) {
      let signed;
      try {
        signed = await this.getSigner().sign({
          method,
          protocol: url.protocol,
          hostname: url.hostname,
          port: url.port ? Number(url.port) : undefined,
          path: url.pathname,
          query,
          headers,
          body,
        });
      } catch (err) {
        if (err instanceof AdminApiError) throw err;
        throw new AdminApiError(
          `could not sign the request with AWS credentials: ${err instanceof Error ? err.message : String(err)}`,
          undefined,
          'credentials_error',
          undefined,
        );
      }
      headers = signed.headers;
    }
    // fetch sets Host itself and refuses to be told.
    const { host: _host, ...sendHeaders } = headers;
    void _host;
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: sendHeaders,
        body,
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 30_000),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const why = cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
      const hint = isLoopbackEndpoint(this.options.endpoint)
        ? ' (is local mode running? start it with `npm start`)'
        : '';
      throw new AdminApiError(
        `could not reach the admin API at ${this.options.endpoint}: ${why}${hint}`,
        undefined,
        'network_error',
        undefined,
      );
    }
    const text = await res.text();
    let parsed: unknown = undefined;
    if (text.length > 0) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    if (!res.ok) throw errorFromResponse(res.status, parsed);
    return { status: res.status, headers: res.headers, body: parsed as T };
  }

  // --- allowlists --------------------------------------------------------------------------------------------

  getAllowlist(t: AllowlistTarget) {
    return this.request<OperationResult<'getAllowlist'>>('GET', allowlistPath(t));
  }

  replaceAllowlist(
    t: AllowlistTarget,
    entries: readonly EntryInput[],
    enabled?: boolean,
    ifMatch?: number,
    force?: boolean,
  ) {
    const body: ReplaceAllowlistBody = {
      entries: [...entries],
      ...(enabled === undefined ? {} : { enabled }),
      ...forceField(force),
    };
    return this.request<OperationResult<'replaceAllowlist'>>('PUT', allowlistPath(t), {
      body,
      headers: ifMatchHeader(ifMatch),
    });
  }

  addEntries(t: AllowlistTarget, entries: readonly EntryInput[], ifMatch?: number, force?: boolean) {
    const body: AddEntriesBody = { entries: [...entries], ...forceField(force) };
    return this.request<OperationResult<'addAllowlistEntries'>>('POST', `${allowlistPath(t)}/entries`, {
      body,
      headers: ifMatchHeader(ifMatch),
    });
  }

  removeEntry(t: AllowlistTarget, value: string, ifMatch?: number, force?: boolean) {
    // The query form keeps the `/` of a CIDR out of the path, where proxies and signers treat it differently.
    return this.request<OperationResult<'deleteAllowlistEntryByQuery'>>('DELETE', `${allowlistPath(t)}/entries`, {
      query: { value, force: force ? 'true' : undefined },
      headers: ifMatchHeader(ifMatch),
    });
  }

  setEnabled(t: AllowlistTarget, enabled: boolean, ifMatch?: number) {
    return this.setMode(t, enabled ? 'enforce' : 'off', ifMatch);
  }

  /**
   * `enforce` and `off` send no body, as before modes existed; `report_only` sends `{"mode":"report_only"}`, and
   * `force` (the lockout guard's override) `{"force":true}` to enable, `?force=true` to disable (it has no body).
   */
  setMode(t: AllowlistTarget, mode: AllowlistMode, ifMatch?: number, force?: boolean) {
    const body = { ...(mode === 'report_only' ? { mode } : {}), ...(mode === 'off' ? {} : forceField(force)) };
    return this.request<OperationResult<'enableAllowlist'>>(
      'POST',
      `${allowlistPath(t)}/${mode === 'off' ? 'disable' : 'enable'}`,
      {
        ...(Object.keys(body).length > 0 ? { body } : {}),
        ...(mode === 'off' && force ? { query: { force: 'true' } } : {}),
        headers: ifMatchHeader(ifMatch),
      },
    );
  }

  /** The impact preview of a draft of this list (entries and mode default to the stored ones). */
  preview(t: AllowlistTarget, draft: PreviewBody = {}) {
    return this.request<PreviewView>('POST', `${allowlistPath(t)}/preview`, { body: draft });
  }

  check(t: AllowlistTarget, ip: string, draftEntries?: readonly EntryInput[]) {
    const body: CheckBody = { ip, ...(draftEntries ? { entries: [...draftEntries] } : {}) };
    return this.request<OperationResult<'checkIp'>>('POST', `${allowlistPath(t)}/check`, { body });
  }

  // --- keys and audit ------------------------------------------------------------------------------------------

  createKey(org: string, project: string, name: string) {
    const body: CreateApiKeyBody = { name };
    return this.request<OperationResult<'createApiKey'>>('POST', resourceUrlPath({ org, project }, 'api_keys'), {
      body,
    });
  }

  listKeys(org: string, project: string, limit?: number, cursor?: string) {
    return this.request<OperationResult<'listApiKeys'>>('GET', resourceUrlPath({ org, project }, 'api_keys'), {
      query: { limit: limit === undefined ? undefined : String(limit), cursor },
    });
  }

  getKey(org: string, project: string, keyId: string) {
    return this.request<OperationResult<'getApiKey'>>('GET', resourceUrlPath({ org, project, keyId }));
  }

  revokeKey(org: string, project: string, keyId: string) {
    return this.request<OperationResult<'revokeApiKey'>>('DELETE', resourceUrlPath({ org, project, keyId }));
  }

  whoami() {
    return this.request<WhoamiView>('GET', WHOAMI_PATH);
  }

  audit(org: string, limit?: number, cursor?: string) {
    return this.request<OperationResult<'listAuditLog'>>('GET', resourceUrlPath({ org }, 'audit_log'), {
      query: { limit: limit === undefined ? undefined : String(limit), cursor },
    });
  }

  traffic(org: string, filters: TrafficFilters = {}) {
    const { limit, ...rest } = filters;
    return this.request<TrafficView>('GET', resourceUrlPath({ org }, 'traffic'), {
      query: { ...rest, limit: limit === undefined ? undefined : String(limit) },
    });
  }
}

export function allowlistPath(t: AllowlistTarget): string {
  if (t.keyId !== undefined && t.project === undefined) throw new Error('a per-key allowlist needs the project too');
  return resourceUrlPath(t, 'ip_allowlist');
}

function forceField(force: boolean | undefined): { force?: true } {
  return force ? { force: true } : {};
}

function ifMatchHeader(version: number | undefined): Record<string, string> {
  return version === undefined ? {} : { 'if-match': `"${version}"` };
}

function errorFromResponse(status: number, body: unknown): AdminApiError {
  const err = (body as { error?: { message?: unknown; code?: unknown } } | undefined)?.error;
  if (err && typeof err.message === 'string') {
    return new AdminApiError(err.message, status, typeof err.code === 'string' ? err.code : undefined, body);
  }
  // API Gateway's own answers (e.g. a missing or bad signature) are `{"message": "..."}`.
  const gatewayMessage =
    (body as { message?: unknown; Message?: unknown } | undefined)?.message ??
    (body as { Message?: unknown } | undefined)?.Message;
  const text =
    typeof gatewayMessage === 'string'
      ? gatewayMessage
      : typeof body === 'string' && body
        ? body.slice(0, 300)
        : `HTTP ${status}`;
  return new AdminApiError(`${text} (HTTP ${status})`, status, undefined, body);
}
