import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { AuthorizerOutcome, createAuthorizer } from '../../../lambda/authorizer/authorizer';
import { AllowlistMode } from '../../../lambda/core/model';
import { authorizerEvent } from '../authorizer/fixtures';
import { authorizerStore, expectError, Harness, makeHarness, recordingLogger } from './fixtures';

/**
 * Report-only mode through the real admin handler and the real authorizer, both on DynamoDB Local: how the mode is
 * set, stored, read back (old items included), audited and refused, and that the check tool and the authorizer
 * agree on would_block. The full table of mode combinations runs against the pure core
 * (test/lambda/core/report-only.test.ts); here a few of them go through storage.
 */

let h: Harness;

beforeAll(async () => {
  h = await makeHarness('report-only');
});

afterAll(() => h.destroy());

const ORG = 'ro-org';
const orgList = (org = ORG) => `/v1/organizations/${org}/ip_allowlist`;
const projectList = (project: string, org = ORG) => `/v1/organizations/${org}/projects/${project}/ip_allowlist`;

function authorizerWith(memoryCacheTtlSeconds: number) {
  const logger = recordingLogger();
  const outcomes: { outcome: AuthorizerOutcome; storeReads: number }[] = [];
  const authorizer = createAuthorizer({
    store: authorizerStore(h),
    logger,
    memoryCacheTtlSeconds,
    metrics: { record: (outcome, storeReads) => outcomes.push({ outcome, storeReads }) },
  });
  return { authorizer, logger, outcomes };
}

async function createKey(org: string, project: string): Promise<{ id: string; key: string }> {
  const res = await h.call('POST', `/v1/organizations/${org}/projects/${project}/api_keys`, { body: { name: 'k' } });
  expect(res.status).toBe(201);
  return { id: res.body.id, key: res.body.key };
}

describe('setting the mode', () => {
  test('enable {"mode":"report_only"}: stored, shown (enabled false), audited as the mode change', async () => {
    const list = orgList('ro-set');
    expect((await h.call('PUT', list, { body: { entries: ['192.0.2.0/24'] } })).status).toBe(200);

    const res = await h.call('POST', `${list}/enable`, { body: { mode: 'report_only' } });

    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ mode: 'report_only', enabled: false, version: 2 });
    expect((await h.call('GET', list)).body).toMatchObject({ mode: 'report_only', enabled: false });
    const [record] = await h.auditRecords('ro-set');
    expect(record).toMatchObject({
      action: 'ip_allowlist.enable',
      before: { mode: 'off', enabled: false },
      after: { mode: 'report_only', enabled: false },
    });
    // `enabled` stays what it meant (enforced), so an authorizer that predates `mode` reads the list as off.
    const item = await h.ddb.send(
      new GetItemCommand({ TableName: h.names.allowlists, Key: { pk: { S: 'ORG#ro-set' } } }),
    );
    expect(item.Item).toMatchObject({ enabled: { BOOL: false }, mode: { S: 'report_only' } });
  });

  test('enable without a body still enforces; PUT takes mode; disable turns it off', async () => {
    const list = orgList('ro-put');
    expect(
      (await h.call('PUT', list, { body: { entries: ['192.0.2.0/24'], mode: 'report_only' } })).body,
    ).toMatchObject({ mode: 'report_only', enabled: false });
    // PUT without mode or enabled keeps the mode.
    expect((await h.call('PUT', list, { body: { entries: ['192.0.2.0/25'] } })).body.mode).toBe('report_only');
    expect((await h.call('POST', `${list}/enable`)).body).toMatchObject({ mode: 'enforce', enabled: true });
    expect((await h.call('PUT', list, { body: { entries: ['192.0.2.0/25'], enabled: false } })).body.mode).toBe('off');
    expect((await h.call('POST', `${list}/enable`, { body: {} })).body.mode).toBe('enforce');
    expect((await h.call('POST', `${list}/disable`)).body).toMatchObject({ mode: 'off', enabled: false });
  });

  test('an empty list may be report-only (it only reports), never enforced', async () => {
    const list = orgList('ro-empty');
    expect((await h.call('POST', `${list}/enable`, { body: { mode: 'report_only' } })).body.mode).toBe('report_only');
    expectError(await h.call('POST', `${list}/enable`), 400, 'empty_allowlist');
  });

  test.each([
    ['enable, unknown mode', 'POST', '/enable', { mode: 'shadow' }, 'invalid_value'],
    ['enable, mode off (disable is the way)', 'POST', '/enable', { mode: 'off' }, 'invalid_value'],
    ['enable, mode not a string', 'POST', '/enable', { mode: true }, 'invalid_value'],
    ['PUT, unknown mode', 'PUT', '', { entries: ['192.0.2.1'], mode: 'REPORT_ONLY' }, 'invalid_value'],
    [
      'PUT, enabled true with report_only',
      'PUT',
      '',
      { entries: ['192.0.2.1'], enabled: true, mode: 'report_only' },
      'conflicting_parameters',
    ],
    [
      'PUT, enabled false with enforce',
      'PUT',
      '',
      { entries: ['192.0.2.1'], enabled: false, mode: 'enforce' },
      'conflicting_parameters',
    ],
  ] as const)('%s: 400 naming mode, nothing written', async (_name, method, suffix, body, code) => {
    const org = 'ro-bad';
    expect((await h.call('PUT', orgList(org), { body: { entries: ['198.51.100.1'] } })).status).toBe(200);
    const before = (await h.call('GET', orgList(org))).body;
    const audited = (await h.auditRecords(org)).length;

    const error = expectError(await h.call(method, `${orgList(org)}${suffix}`, { body }), 400, code);

    expect(error.param).toBe('mode');
    expect(error.message).toMatch(/mode/);
    expect((await h.call('GET', orgList(org))).body).toEqual(before);
    expect(await h.auditRecords(org)).toHaveLength(audited);
  });

  test('the message of an unknown mode lists the modes and what was sent', async () => {
    const error = expectError(
      await h.call('POST', `${orgList('ro-msg')}/enable`, { body: { mode: 'shadow' } }),
      400,
      'invalid_value',
    );
    expect(error.message).toBe(
      'Invalid value for mode: expected "enforce" or "report_only", got "shadow". To turn a list off, POST .../disable.',
    );
  });
});

describe('lists stored before modes existed', () => {
  async function putRaw(pk: string, extra: Record<string, unknown>): Promise<void> {
    await h.ddb.send(
      new PutItemCommand({
        TableName: h.names.allowlists,
        Item: {
          pk: { S: pk },
          entries: { L: [{ M: { value: { S: '192.0.2.0/24' } } }] },
          version: { N: '3' },
          ...extra,
        },
      }),
    );
  }

  test.each([
    [true, 'enforce'],
    [false, 'off'],
  ] as const)('enabled %s without mode reads as %s, and keeps working', async (enabled, mode) => {
    const org = `ro-old-${mode}`;
    await putRaw(`ORG#${org}`, { enabled: { BOOL: enabled } });
    expect((await h.call('GET', orgList(org))).body).toMatchObject({ enabled, mode, version: 3 });
    const check = await h.call('POST', `${orgList(org)}/check`, { body: { ip: '203.0.113.9' } });
    expect(check.body).toMatchObject({ allowed: !enabled, mode, wouldBlock: null });
  });

  test('a mode that contradicts enabled, or is not a mode, is a corrupt list (409), never guessed', async () => {
    await putRaw('ORG#ro-contradicts', { enabled: { BOOL: true }, mode: { S: 'report_only' } });
    expectError(await h.call('GET', orgList('ro-contradicts')), 409, 'allowlist_corrupt');
    await putRaw('ORG#ro-notamode', { enabled: { BOOL: false }, mode: { S: 'later' } });
    expectError(await h.call('GET', orgList('ro-notamode')), 409, 'allowlist_corrupt');
  });
});

describe('the authorizer and the check tool on stored lists', () => {
  type Mode = AllowlistMode | 'absent';
  /** Organization lists 10.1.0.0/16; the project 10.1.2.0/24 and 10.2.0.0/16; the key 10.1.2.3 and 10.2.0.0/24. */
  const ROWS: readonly {
    org: Mode;
    project: Mode;
    key: Mode;
    ip: string;
    expected: 'allowed' | 'blocked' | 'would_block';
    scope?: 'organization' | 'project' | 'key';
  }[] = [
    {
      org: 'enforce',
      project: 'report_only',
      key: 'absent',
      ip: '10.1.9.9',
      expected: 'would_block',
      scope: 'project',
    },
    {
      org: 'enforce',
      project: 'report_only',
      key: 'absent',
      ip: '10.2.5.5',
      expected: 'blocked',
      scope: 'organization',
    },
    { org: 'enforce', project: 'report_only', key: 'absent', ip: '10.1.2.7', expected: 'allowed' },
    {
      org: 'report_only',
      project: 'off',
      key: 'absent',
      ip: '10.9.9.9',
      expected: 'would_block',
      scope: 'organization',
    },
    { org: 'report_only', project: 'enforce', key: 'absent', ip: '10.2.5.5', expected: 'allowed' },
    { org: 'absent', project: 'enforce', key: 'report_only', ip: '10.2.5.5', expected: 'would_block', scope: 'key' },
    { org: 'off', project: 'report_only', key: 'report_only', ip: '10.1.2.3', expected: 'allowed' },
    { org: 'off', project: 'report_only', key: 'enforce', ip: '10.2.0.9', expected: 'allowed' },
    { org: 'off', project: 'report_only', key: 'enforce', ip: '10.9.9.9', expected: 'blocked', scope: 'key' },
    {
      org: 'report_only',
      project: 'report_only',
      key: 'off',
      ip: '10.1.9.9',
      expected: 'would_block',
      scope: 'project',
    },
  ];

  async function store(path: string, mode: Mode, entries: string[]): Promise<void> {
    if (mode === 'absent') return;
    const res = await h.call('PUT', path, { body: { entries, mode } });
    expect([res.status, res.body.mode]).toEqual([200, mode]);
  }

  test.each(ROWS.map((row, n) => [n, row.org, row.project, row.key, row.ip, row.expected, row] as const))(
    'row %i: org %s, project %s, key %s, caller %s -> %s',
    async (n, _org, _project, _key, ip, expected, row) => {
      const org = `ro-row-${n}`;
      await store(orgList(org), row.org, ['10.1.0.0/16']);
      await store(projectList('p', org), row.project, ['10.1.2.0/24', '10.2.0.0/16']);
      const key = await createKey(org, 'p');
      const keyList = `/v1/organizations/${org}/projects/p/api_keys/${key.id}/ip_allowlist`;
      await store(keyList, row.key, ['10.1.2.3', '10.2.0.0/24']);
      const { authorizer, logger, outcomes } = authorizerWith(0);

      const result = await authorizer.handle(authorizerEvent({ key: key.key, sourceIp: ip, requestId: `req-${n}` }));
      const check = await h.call('POST', `${keyList}/check`, { body: { ip } });

      const effect = result.policyDocument.Statement[0].Effect;
      expect(effect).toBe(expected === 'blocked' ? 'Deny' : 'Allow');
      const outcome = { allowed: 'allowed', blocked: 'blocked', would_block: 'wouldBlock' }[expected];
      expect(outcomes.map((o) => o.outcome)).toEqual([outcome]);
      // The check tool agrees: allowed per the enforced lists, and which report-only list would block.
      expect(check.body).toMatchObject({
        allowed: expected !== 'blocked',
        wouldBlock: expected === 'would_block' ? { scope: row.scope } : null,
      });
      if (expected === 'blocked') expect(check.body.scope).toBe(row.scope);
      const lines = logger.records.filter((r) => r.extra.outcome === 'would_block');
      if (expected !== 'would_block') {
        expect(lines).toEqual([]);
        return;
      }
      expect(lines).toEqual([
        {
          level: 'warn',
          message: 'request would be denied by a report-only allowlist (allowed)',
          extra: {
            outcome: 'would_block',
            reason: 'ip_not_authorized',
            scope: row.scope,
            keyId: key.id,
            organizationId: org,
            projectId: 'p',
            sourceIp: ip,
            sourceIpFamily: 'ipv4',
            requestId: `req-${n}`,
          },
        },
      ]);
    },
  );

  test('warm: the shadow decision runs on the lists in memory, with no store read', async () => {
    const org = 'ro-warm';
    await store(orgList(org), 'enforce', ['10.1.0.0/16']);
    await store(projectList('p', org), 'report_only', ['10.1.2.0/24']);
    const key = await createKey(org, 'p');
    const { authorizer, outcomes } = authorizerWith(1);

    for (let i = 0; i < 3; i++) await authorizer.handle(authorizerEvent({ key: key.key, sourceIp: '10.1.9.9' }));

    expect(outcomes).toEqual([
      { outcome: 'wouldBlock', storeReads: 1 },
      { outcome: 'wouldBlock', storeReads: 0 },
      { outcome: 'wouldBlock', storeReads: 0 },
    ]);
  });

  test('enforcing the report-only project list turns would_block into a block', async () => {
    const org = 'ro-enforce';
    await store(orgList(org), 'enforce', ['10.1.0.0/16']);
    await store(projectList('p', org), 'report_only', ['10.1.2.0/24']);
    const key = await createKey(org, 'p');
    const { authorizer, outcomes } = authorizerWith(0);
    await authorizer.handle(authorizerEvent({ key: key.key, sourceIp: '10.1.9.9' }));

    expect((await h.call('POST', `${projectList('p', org)}/enable`)).body.mode).toBe('enforce');
    const result = await authorizer.handle(authorizerEvent({ key: key.key, sourceIp: '10.1.9.9' }));

    expect(outcomes.map((o) => o.outcome)).toEqual(['wouldBlock', 'blocked']);
    expect(result.context).toMatchObject({ errorCode: 'ip_not_authorized' });
  });
});
