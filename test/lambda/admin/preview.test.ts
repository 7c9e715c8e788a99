import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { SightingUpdate, TrafficOutcome } from '../../../lambda/core/traffic';
import { expectError, Harness, keysPath, makeHarness } from './fixtures';

/**
 * The impact preview (`POST {list}/preview`) and the lockout guard of the writes, through the real admin handler on
 * DynamoDB Local, with sightings written exactly as the authorizer writes them (harness.recordSightings).
 */

let h: Harness;

beforeAll(async () => {
  h = await makeHarness('preview');
});

afterAll(() => h.destroy());

const HOUR = 3_600_000;
const orgList = (org: string) => `/v1/organizations/${org}/ip_allowlist`;
const projectList = (org: string, project: string) => `/v1/organizations/${org}/projects/${project}/ip_allowlist`;
const keyList = (org: string, project: string, keyId: string) =>
  `/v1/organizations/${org}/projects/${project}/api_keys/${keyId}/ip_allowlist`;

async function createKey(h: Harness, org: string, project: string): Promise<string> {
  const res = await h.call('POST', keysPath(org, project), { body: { name: 'k' } });
  expect(res.status).toBe(201);
  return res.body.id as string;
}

function sighting(
  org: string,
  projectId: string,
  keyId: string,
  sourceIp: string,
  outcome: TrafficOutcome,
  agoMs: number,
  count = 1,
): SightingUpdate {
  const lastSeen = Date.now() - agoMs;
  return {
    organizationId: org,
    projectId,
    keyId,
    sourceIp,
    outcome,
    scope: 'none',
    matched: {},
    count,
    firstSeen: lastSeen - 1000,
    lastSeen,
  };
}

const ips = (addresses: { ip: string }[]) => addresses.map((a) => a.ip);

async function storedState(h: Harness, org: string) {
  const item = await h.ddb.send(
    new GetItemCommand({ TableName: h.names.allowlists, Key: { pk: { S: `ORG#${org}` } }, ConsistentRead: true }),
  );
  return { item: item.Item, audit: (await h.auditRecords(org)).length };
}

describe('the impact preview', () => {
  test('an organization draft: which callers it would block and which it would let through, per key', async () => {
    // prepare: the org list enforces 192.0.2.0/24; callers in two projects
    const org = 'pv-org';
    const k1 = await createKey(h, org, 'web');
    const k2 = await createKey(h, org, 'api');
    expect((await h.call('PUT', orgList(org), { body: { entries: ['192.0.2.0/24'], mode: 'enforce' } })).status).toBe(
      200,
    );
    await h.recordSightings([
      sighting(org, 'web', k1, '192.0.2.10', 'allowed', 2 * HOUR, 5),
      sighting(org, 'api', k2, '192.0.2.10', 'allowed', 1 * HOUR, 2),
      sighting(org, 'web', k1, '192.0.2.20', 'allowed', 3 * HOUR),
      sighting(org, 'web', k1, '198.51.100.7', 'blocked', 4 * HOUR, 3),
      // Outside the default 7-day window: not previewed.
      sighting(org, 'web', k1, '192.0.2.99', 'allowed', 8 * 24 * HOUR),
    ]);

    // act: a draft that keeps only 192.0.2.20 and admits 198.51.100.0/24
    const res = await h.call('POST', `${orgList(org)}/preview`, {
      body: { entries: ['192.0.2.20', '198.51.100.0/24'] },
    });

    // assess
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      object: 'ip_allowlist_preview',
      scope: 'organization',
      organizationId: org,
      projectId: null,
      apiKeyId: null,
      draft: { mode: 'enforce', entryCount: 2, stored: false },
      window: { days: 7 },
      sightingsRead: 4,
      unreadable: 0,
      truncated: false,
      wouldReport: [],
    });
    expect(Date.parse(res.body.window.until) - Date.parse(res.body.window.since)).toBe(7 * 24 * HOUR);
    expect(res.body.wouldBlock).toEqual([
      {
        ip: '192.0.2.10',
        lastSeen: expect.any(String),
        count: 7,
        keys: [
          expect.objectContaining({ projectId: 'api', keyId: k2, today: 'allowed', draft: 'blocked', count: 2 }),
          expect.objectContaining({ projectId: 'web', keyId: k1, today: 'allowed', draft: 'blocked', count: 5 }),
        ],
      },
    ]);
    expect(res.body.wouldBlock[0].lastSeen).toBe(res.body.wouldBlock[0].keys[0].lastSeen);
    expect(res.body.wouldPass).toEqual([
      {
        ip: '198.51.100.7',
        lastSeen: expect.any(String),
        count: 3,
        keys: [
          {
            projectId: 'web',
            keyId: k1,
            today: 'blocked',
            draft: 'allowed',
            lastSeen: expect.any(String),
            count: 3,
          },
        ],
      },
    ]);
  });

  test('a report-only list previewed with {"mode":"enforce"} shows what enforcing would cut off; as stored, what it reports', async () => {
    const org = 'pv-ro';
    const k = await createKey(h, org, 'web');
    await h.call('PUT', projectList(org, 'web'), { body: { entries: ['203.0.113.0/24'], mode: 'report_only' } });
    await h.recordSightings([
      sighting(org, 'web', k, '203.0.113.5', 'allowed', HOUR),
      sighting(org, 'web', k, '10.0.0.1', 'would_block', HOUR, 4),
    ]);

    const enforced = await h.call('POST', `${projectList(org, 'web')}/preview`, { body: { mode: 'enforce' } });
    const asStored = await h.call('POST', `${projectList(org, 'web')}/preview`);

    expect(enforced.status).toBe(200);
    expect(enforced.body.draft).toEqual({ mode: 'enforce', entryCount: 1, stored: false });
    expect(ips(enforced.body.wouldBlock)).toEqual(['10.0.0.1']);
    expect(enforced.body.wouldBlock[0].keys[0]).toMatchObject({ today: 'would_block', draft: 'blocked', count: 4 });
    expect(enforced.body.wouldPass).toEqual([]);
    expect(asStored.body.draft).toEqual({ mode: 'report_only', entryCount: 1, stored: true });
    expect(asStored.body.wouldBlock).toEqual([]);
    expect(ips(asStored.body.wouldReport)).toEqual(['10.0.0.1']);
  });

  test('a revoked key passes neither today nor under the draft: its callers are in no set', async () => {
    const org = 'pv-revoked';
    const live = await createKey(h, org, 'web');
    const revoked = await createKey(h, org, 'web');
    expect((await h.call('DELETE', `${keysPath(org, 'web')}/${revoked}`)).status).toBe(200);
    await h.recordSightings([
      sighting(org, 'web', live, '192.0.2.1', 'allowed', HOUR),
      sighting(org, 'web', revoked, '192.0.2.2', 'allowed', HOUR),
    ]);

    const res = await h.call('POST', `${orgList(org)}/preview`, { body: { entries: ['10.0.0.0/8'], mode: 'enforce' } });

    expect(res.body.sightingsRead).toBe(2);
    expect(ips(res.body.wouldBlock)).toEqual(['192.0.2.1']);
    expect(res.body.wouldPass).toEqual([]);
  });

  test("a key's preview reads only that key's traffic and decides it with the key's draft", async () => {
    const org = 'pv-key';
    const k1 = await createKey(h, org, 'web');
    const k2 = await createKey(h, org, 'web');
    await h.recordSightings([
      sighting(org, 'web', k1, '192.0.2.1', 'allowed', HOUR),
      sighting(org, 'web', k2, '192.0.2.2', 'allowed', HOUR),
    ]);

    const res = await h.call('POST', `${keyList(org, 'web', k1)}/preview`, {
      body: { entries: ['198.51.100.0/24'], mode: 'enforce', days: 1 },
    });

    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ scope: 'key', apiKeyId: k1, projectId: 'web', sightingsRead: 1 });
    expect(res.body.wouldBlock).toEqual([expect.objectContaining({ ip: '192.0.2.1' })]);
  });

  test.each([
    [0, 'days must be a whole number of days from 1, got 0.'],
    [1.5, 'days must be a whole number of days from 1, got 1.5.'],
    [31, 'days must be a whole number from 1 to 30 (the traffic retention), got 31.'],
    ['7', 'Invalid type for days: expected number, got string.', 'invalid_type'],
  ])('days %j: 400 naming days', async (days, message, code = 'invalid_value') => {
    const error = expectError(await h.call('POST', `${orgList('pv-days')}/preview`, { body: { days } }), 400, code);

    expect(error).toMatchObject({ param: 'days', message });
  });

  test('a draft that could never be saved (enforced with no entries) is refused as the write is: 400 empty_allowlist', async () => {
    const org = 'preview-empty';
    const k = await createKey(h, org, 'web');
    await h.recordSightings([sighting(org, 'web', k, '10.1.1.1', 'allowed', HOUR)]);
    await h.call('PUT', projectList(org, 'web'), { body: { entries: ['10.1.1.1'], mode: 'enforce' } });

    const cases: [string, object, string][] = [
      [orgList(org), { mode: 'enforce', entries: [] }, 'PUT'],
      [orgList(org), { mode: 'enforce' }, 'enable'],
      [projectList(org, 'web'), { entries: [] }, 'PUT'],
    ];
    for (const [list, draft, write] of cases) {
      const preview = expectError(await h.call('POST', `${list}/preview`, { body: draft }), 400, 'empty_allowlist');
      const saved =
        write === 'PUT'
          ? await h.call('PUT', list, { body: draft })
          : await h.call('POST', `${list}/enable`, { body: draft });
      expect(preview).toEqual(expectError(saved, 400, 'empty_allowlist'));
    }
    // Not enforced, an empty draft is a real change to preview.
    expect(
      (await h.call('POST', `${orgList(org)}/preview`, { body: { mode: 'report_only', entries: [] } })).status,
    ).toBe(200);
  });

  test('days up to the retention the deployment keeps', async () => {
    const short = await makeHarness('preview-retention', { trafficRetentionSeconds: 3 * 86_400 });
    try {
      expect((await short.call('POST', `${orgList('pv-r')}/preview`, { body: { days: 3 } })).status).toBe(200);
      const error = expectError(
        await short.call('POST', `${orgList('pv-r')}/preview`, { body: { days: 4 } }),
        400,
        'invalid_value',
      );
      expect(error.message).toBe('days must be a whole number from 1 to 3 (the traffic retention), got 4.');
    } finally {
      short.destroy();
    }
  });

  test('a read capped at its limit says so: truncated', async () => {
    const capped = await makeHarness('preview-cap', { trafficReadMaxItems: 2 });
    try {
      const org = 'pv-cap';
      const k = await createKey(capped, org, 'web');
      await capped.recordSightings(
        ['192.0.2.1', '192.0.2.2', '192.0.2.3'].map((ip) => sighting(org, 'web', k, ip, 'allowed', HOUR)),
      );

      const res = await capped.call('POST', `${orgList(org)}/preview`, { body: { entries: ['10.0.0.0/8'] } });

      expect(res.body).toMatchObject({ sightingsRead: 2, truncated: true });
    } finally {
      capped.destroy();
    }
  });

  test('a deployment without traffic: 409 traffic_not_recorded; traffic unreadable: 503 traffic_unavailable', async () => {
    const none = await makeHarness('preview-none', { trafficTable: null });
    const broken = await makeHarness('preview-broken', { trafficTable: 'no-such-table' });
    try {
      expectError(await none.call('POST', `${orgList('pv-n')}/preview`), 409, 'traffic_not_recorded');
      expectError(await broken.call('POST', `${orgList('pv-n')}/preview`), 503, 'traffic_unavailable');
    } finally {
      none.destroy();
      broken.destroy();
    }
  });
});

describe('the lockout guard', () => {
  async function enforcedCase(org: string, harness = h) {
    const k = await createKey(harness, org, 'web');
    expect((await harness.call('PUT', orgList(org), { body: { entries: ['192.0.2.0/24'] } })).status).toBe(200);
    await harness.recordSightings([
      sighting(org, 'web', k, '192.0.2.7', 'allowed', HOUR),
      sighting(org, 'web', k, '198.51.100.9', 'allowed', 2 * HOUR, 6),
      // Passing, but more than 24 hours ago: not guarded.
      sighting(org, 'web', k, '203.0.113.1', 'allowed', 30 * HOUR),
    ]);
    return k;
  }

  test('enable refuses with 409 listing the addresses and keys it would cut off, and writes nothing', async () => {
    const org = 'guard-enable';
    const k = await enforcedCase(org);
    const before = await storedState(h, org);

    const res = await h.call('POST', `${orgList(org)}/enable`);

    const error = expectError(res, 409, 'would_block_recent_traffic');
    expect(error.type).toBe('conflict_error');
    expect(error.message).toMatch(
      /^This change would block 1 source address whose requests went through in the last 24 hours: 198\.51\.100\.9 \(key_/,
    );
    expect(error.message).toContain('Add the addresses to this list, or repeat the request with "force": true');
    expect(error.wouldBlock).toEqual([
      expect.objectContaining({
        ip: '198.51.100.9',
        count: 6,
        keys: [expect.objectContaining({ keyId: k, projectId: 'web', today: 'allowed', draft: 'blocked' })],
      }),
    ]);
    expect(error.truncated).toBe(false);
    expect(await storedState(h, org)).toEqual(before);
  });

  test('with force: true the change is written and the audit record says it was forced', async () => {
    const org = 'guard-force';
    await enforcedCase(org);

    const res = await h.call('POST', `${orgList(org)}/enable`, { body: { force: true } });

    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ mode: 'enforce' });
    expect(res.body.warnings).toEqual([]);
    const [record] = await h.auditRecords(org);
    expect(record).toMatchObject({ action: 'ip_allowlist.enable', after: { mode: 'enforce', force: true } });
  });

  test('adding the address first lets the enable through, unforced', async () => {
    const org = 'guard-add';
    await enforcedCase(org);

    expect((await h.call('POST', `${orgList(org)}/entries`, { body: { value: '198.51.100.9' } })).status).toBe(200);
    const res = await h.call('POST', `${orgList(org)}/enable`);

    expect(res.status).toBe(200);
    const [record] = await h.auditRecords(org);
    expect(record.after).not.toHaveProperty('force');
  });

  test('a PUT, a DELETE (?force=true) and enable in report-only: guarded only when the list ends up enforced', async () => {
    const org = 'guard-writes';
    await enforcedCase(org);
    expect(
      (await h.call('PUT', orgList(org), { body: { entries: ['192.0.2.0/24', '198.51.100.9'], mode: 'enforce' } }))
        .status,
    ).toBe(200);

    const reportOnly = await h.call('PUT', orgList(org), { body: { entries: ['192.0.2.0/24'], mode: 'report_only' } });
    const putEnforce = await h.call('PUT', orgList(org), { body: { entries: ['192.0.2.0/24'], mode: 'enforce' } });
    await h.call('PUT', orgList(org), {
      body: { entries: ['192.0.2.0/24', '198.51.100.9'], mode: 'enforce', force: true },
    });
    const before = await storedState(h, org);
    const deleteByPath = await h.call('DELETE', `${orgList(org)}/entries/198.51.100.9`);
    const deleteByQuery = await h.call('DELETE', `${orgList(org)}/entries`, { query: { value: '198.51.100.9' } });
    const unchanged = await storedState(h, org);
    const forced = await h.call('DELETE', `${orgList(org)}/entries/198.51.100.9`, { query: { force: 'true' } });

    expect(reportOnly.status).toBe(200);
    expectError(putEnforce, 409, 'would_block_recent_traffic');
    const byPath = expectError(deleteByPath, 409, 'would_block_recent_traffic');
    expect(byPath.message).toContain('repeat the request with ?force=true');
    expectError(deleteByQuery, 409, 'would_block_recent_traffic');
    expect(unchanged).toEqual(before);
    expect(forced.status).toBe(200);
    expect(forced.body.entries.map((e: { value: string }) => e.value)).toEqual(['192.0.2.0/24']);
  });

  test('force must be true or false', async () => {
    const body = expectError(
      await h.call('POST', `${orgList('guard-bad')}/enable`, { body: { force: 'yes' } }),
      400,
      'invalid_type',
    );
    const query = expectError(
      await h.call('DELETE', `${orgList('guard-bad')}/entries/10.0.0.1`, { query: { force: '1' } }),
      400,
      'invalid_value',
    );

    expect(body).toMatchObject({
      param: 'force',
      message: 'Invalid type for force: expected a boolean (true or false), got string.',
    });
    expect(query).toMatchObject({ param: 'force', message: 'force must be true or false, got "1".' });
  });

  test('traffic unreadable: 503 traffic_unavailable and nothing written, unless forced', async () => {
    const broken = await makeHarness('guard-broken', { trafficTable: 'no-such-table' });
    try {
      const org = 'guard-503';
      expect((await broken.call('PUT', orgList(org), { body: { entries: ['192.0.2.0/24'] } })).status).toBe(200);
      const before = await storedState(broken, org);

      const refused = await broken.call('POST', `${orgList(org)}/enable`);
      const unchanged = await storedState(broken, org);
      const forced = await broken.call('POST', `${orgList(org)}/enable`, { body: { force: true } });

      const error = expectError(refused, 503, 'traffic_unavailable');
      expect(error.message).toContain('"force": true');
      expect(refused.headers['Retry-After']).toBe('1');
      expect(unchanged).toEqual(before);
      expect(forced.status).toBe(200);
    } finally {
      broken.destroy();
    }
  });

  test('a deployment that records no traffic: the write proceeds with the warning lockout_guard_unavailable', async () => {
    const none = await makeHarness('guard-none', { trafficTable: null });
    try {
      const org = 'guard-none';
      await none.call('PUT', orgList(org), { body: { entries: ['192.0.2.0/24'] } });

      const enabled = await none.call('POST', `${orgList(org)}/enable`);
      const disabled = await none.call('POST', `${orgList(org)}/disable`);

      expect(enabled.status).toBe(200);
      expect(enabled.body.warnings).toEqual([
        { code: 'lockout_guard_unavailable', message: expect.stringContaining('records no traffic') },
      ]);
      // Not enforced after the change: nothing to guard, nothing to warn about.
      expect(disabled.body.warnings).toEqual([]);
    } finally {
      none.destroy();
    }
  });

  test('a capped read: a write that found nobody to cut off is refused (409 lockout_guard_incomplete) unless forced; a refusal says it was capped', async () => {
    const capped = await makeHarness('guard-cap', { trafficReadMaxItems: 1 });
    try {
      const org = 'guard-cap';
      const k = await createKey(capped, org, 'web');
      await capped.call('PUT', orgList(org), { body: { entries: ['192.0.2.0/24'] } });
      await capped.recordSightings(
        ['192.0.2.1', '192.0.2.2'].map((ip) => sighting(org, 'web', k, ip, 'allowed', HOUR)),
      );
      const before = await storedState(capped, org);

      const incomplete = expectError(
        await capped.call('POST', `${orgList(org)}/enable`),
        409,
        'lockout_guard_incomplete',
      );
      expect(incomplete.type).toBe('conflict_error');
      expect(incomplete.message).toBe(
        "More than 1 sightings of requests that went through in the last 24 hours are recorded for this list's callers, " +
          'more than the lockout guard reads in one request, so it could not check every recent caller. Nothing was changed. ' +
          'See whom the change blocks with POST .../ip_allowlist/preview, then repeat the request with "force": true to apply it anyway.',
      );
      expect(await storedState(capped, org)).toEqual(before);
      const forced = await capped.call('POST', `${orgList(org)}/enable`, { body: { force: true } });
      expect(forced.status).toBe(200);
      expect(forced.body.warnings).toEqual([]);

      // A caller it would cut off among those read: the refusal says the read was capped.
      await capped.call('POST', `${orgList(org)}/disable`);
      await capped.recordSightings([sighting(org, 'web', k, '10.9.9.9', 'allowed', HOUR / 2)]);
      const refused = expectError(
        await capped.call('POST', `${orgList(org)}/enable`),
        409,
        'would_block_recent_traffic',
      );
      expect(refused.truncated).toBe(true);
      expect(refused.message).toContain('The traffic read was capped, so more addresses may be affected.');
    } finally {
      capped.destroy();
    }
  });

  test('the guard reads only the last 24 hours of passing traffic, newest first: blocked and older sightings do not count against the cap', async () => {
    const capped = await makeHarness('guard-window', { trafficReadMaxItems: 1 });
    try {
      const org = 'guard-window';
      const k = await createKey(capped, org, 'web');
      await capped.call('PUT', orgList(org), { body: { entries: ['10.0.0.0/8'] } });
      await capped.recordSightings([
        // In sort-key order these come before the caller below; a read of the whole partition stopped at them.
        sighting(org, 'web', k, '10.0.0.1', 'blocked', HOUR),
        sighting(org, 'web', k, '10.0.0.2', 'allowed', 30 * HOUR),
        sighting(org, 'web', k, '198.51.100.9', 'allowed', HOUR),
      ]);

      const error = expectError(await capped.call('POST', `${orgList(org)}/enable`), 409, 'would_block_recent_traffic');
      expect(ips(error.wouldBlock as { ip: string }[])).toEqual(['198.51.100.9']);
      expect(error.truncated).toBe(false);
    } finally {
      capped.destroy();
    }
  });

  describe('a project list turned off or report-only hands its callers to the organization list', () => {
    async function projectOverOrg(org: string, harness = h) {
      const k = await createKey(harness, org, 'web');
      expect(
        (await harness.call('PUT', orgList(org), { body: { entries: ['192.0.2.0/24'], mode: 'enforce' } })).status,
      ).toBe(200);
      expect(
        (await harness.call('PUT', projectList(org, 'web'), { body: { entries: ['198.51.100.9'], mode: 'enforce' } }))
          .status,
      ).toBe(200);
      await harness.recordSightings([sighting(org, 'web', k, '198.51.100.9', 'allowed', HOUR)]);
      return k;
    }

    test('disable, enable report_only and PUT report_only/off are refused when the organization list would block a recent caller', async () => {
      const org = 'guard-handover';
      await projectOverOrg(org);
      const preview = await h.call('POST', `${projectList(org, 'web')}/preview`, { body: { mode: 'off' } });
      const before = await h.call('GET', projectList(org, 'web'));

      const disable = expectError(
        await h.call('POST', `${projectList(org, 'web')}/disable`),
        409,
        'would_block_recent_traffic',
      );
      const reportOnly = expectError(
        await h.call('POST', `${projectList(org, 'web')}/enable`, { body: { mode: 'report_only' } }),
        409,
        'would_block_recent_traffic',
      );
      for (const mode of ['report_only', 'off']) {
        expectError(
          await h.call('PUT', projectList(org, 'web'), { body: { entries: ['198.51.100.9'], mode } }),
          409,
          'would_block_recent_traffic',
        );
      }

      expect(ips(preview.body.wouldBlock)).toEqual(['198.51.100.9']);
      expect(ips(disable.wouldBlock as { ip: string }[])).toEqual(['198.51.100.9']);
      expect(disable.message).toContain('repeat the request with ?force=true');
      // Turned off, the project list decides nothing: the addresses belong in the organization's list.
      expect(disable.message).toContain("Add the addresses to the organization's list");
      expect(reportOnly.message).toContain('repeat the request with "force": true');
      const after = await h.call('GET', projectList(org, 'web'));
      expect(after.body).toMatchObject({ mode: 'enforce', version: before.body.version });
    });

    test('disable?force=true turns it off anyway, audited as forced; adding the address to the organization list first needs no force', async () => {
      const org = 'guard-handover-force';
      await projectOverOrg(org);

      const forced = await h.call('POST', `${projectList(org, 'web')}/disable`, { query: { force: 'true' } });
      expect(forced.status).toBe(200);
      expect(forced.body).toMatchObject({ mode: 'off' });
      const [record] = await h.auditRecords(org);
      expect(record).toMatchObject({ action: 'ip_allowlist.disable', after: { mode: 'off', force: true } });

      await h.call('POST', `${projectList(org, 'web')}/enable`);
      await h.call('POST', `${orgList(org)}/entries`, { body: { value: '198.51.100.9' } });
      expect((await h.call('POST', `${projectList(org, 'web')}/disable`)).status).toBe(200);
    });

    test('disable takes force only as true or false', async () => {
      expectError(
        await h.call('POST', `${projectList('guard-handover-bad', 'web')}/disable`, { query: { force: '1' } }),
        400,
        'invalid_value',
      );
    });

    test('with the traffic unreadable, a project disable under an enforced organization list is 503; an organization, a key, or a project with no enforced organization list turns off regardless', async () => {
      const broken = await makeHarness('guard-handover-broken', { trafficTable: 'no-such-table' });
      try {
        const org = 'guard-handover-503';
        const k = await createKey(broken, org, 'web');
        await broken.call('PUT', orgList(org), { body: { entries: ['192.0.2.0/24'], mode: 'enforce', force: true } });
        await broken.call('PUT', projectList(org, 'web'), {
          body: { entries: ['198.51.100.9'], mode: 'enforce', force: true },
        });
        await broken.call('PUT', keyList(org, 'web', k), {
          body: { entries: ['198.51.100.9'], mode: 'enforce', force: true },
        });

        const project = expectError(
          await broken.call('POST', `${projectList(org, 'web')}/disable`),
          503,
          'traffic_unavailable',
        );
        expect(project.message).toContain('?force=true');
        expect((await broken.call('POST', `${keyList(org, 'web', k)}/disable`)).status).toBe(200);
        expect((await broken.call('POST', `${orgList(org)}/disable`)).status).toBe(200);
        // The organization list is off now: the project's callers fall to no list, so nobody can be blocked.
        expect((await broken.call('POST', `${projectList(org, 'web')}/disable`)).status).toBe(200);
      } finally {
        broken.destroy();
      }
    });

    test('a deployment that records no traffic: the handover writes, with the warning lockout_guard_unavailable', async () => {
      const none = await makeHarness('guard-handover-none', { trafficTable: null });
      try {
        const org = 'guard-handover-none';
        await none.call('PUT', orgList(org), { body: { entries: ['192.0.2.0/24'], mode: 'enforce' } });
        await none.call('PUT', projectList(org, 'web'), { body: { entries: ['198.51.100.9'], mode: 'enforce' } });

        const res = await none.call('POST', `${projectList(org, 'web')}/disable`);

        expect(res.status).toBe(200);
        expect(res.body.warnings).toEqual([
          { code: 'lockout_guard_unavailable', message: expect.stringContaining('records no traffic') },
        ]);
      } finally {
        none.destroy();
      }
    });
  });

  test('only requests that went through are protected: an address seen blocked, or one its key already blocks, is not guarded', async () => {
    const org = 'guard-only-passing';
    const k = await createKey(h, org, 'web');
    await h.call('PUT', keyList(org, 'web', k), { body: { entries: ['192.0.2.0/24'], mode: 'enforce' } });
    await h.call('PUT', projectList(org, 'web'), { body: { entries: ['10.0.0.0/8'] } });
    await h.recordSightings([
      // Recorded blocked (the lists were different then): it would pass now, but none of its requests went through.
      sighting(org, 'web', k, '192.0.2.5', 'blocked', HOUR),
      // Went through, but the key's own list blocks it now anyway: the change does not cut it off.
      sighting(org, 'web', k, '172.16.0.1', 'allowed', HOUR),
    ]);

    const preview = await h.call('POST', `${projectList(org, 'web')}/preview`, { body: { mode: 'enforce' } });
    const res = await h.call('POST', `${projectList(org, 'web')}/enable`);

    expect(ips(preview.body.wouldBlock)).toEqual(['192.0.2.5']);
    expect(res.status).toBe(200);
  });
});
