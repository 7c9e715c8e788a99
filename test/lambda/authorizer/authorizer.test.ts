import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDbAuthorizerStore } from '../../../lambda/adapters/dynamodb-store';
import { organizationAllowlistPk } from '../../../lambda/adapters/schema';
import { generateApiKey } from '../../../lambda/core/api-key';
import { ERRORS } from '../../../lambda/core/errors';
import { Authorizer, AuthorizerUnavailableError, createAuthorizer } from '../../../lambda/authorizer/authorizer';
import { freePort } from '../../support/dynamodb-local';
import {
  authorizerEvent,
  captureOutput,
  CountingClient,
  countingClient,
  list,
  logRecords,
  makeTables,
  putKey,
  putOrgList,
  putProjectList,
  SeededKey,
  STAGE_RESOURCE,
  Tables,
} from './fixtures';

/**
 * The authorizer built by its factory, with the real DynamoDB store and the real SDK client against DynamoDB
 * Local, a real Powertools Logger (its output captured), and a controllable clock.
 */

let t: Tables;
let ddb: CountingClient;
const keys: Record<string, SeededKey> = {};
let output: ReturnType<typeof captureOutput>;
let now = 1_000_000;

beforeAll(async () => {
  t = await makeTables('authorizer');
  ddb = countingClient();
  // acme: org list; project "web" has none (the org list applies), project "mobile" has its own enabled list.
  await putOrgList(t, 'acme', list(true, '198.51.100.0/24', '2001:db8:1::/48'));
  await putProjectList(t, 'acme', 'mobile', list(true, '203.0.113.0/24'));
  // off: both lists stored but disabled.
  await putOrgList(t, 'off', list(false, '10.0.0.0/8'));
  await putProjectList(t, 'off', 'p', list(false, '10.0.0.0/8'));
  keys.web = await putKey(t, 'acme', 'web');
  keys.web2 = await putKey(t, 'acme', 'web');
  keys.mobile = await putKey(t, 'acme', 'mobile');
  keys.off = await putKey(t, 'off', 'p');
  keys.open = await putKey(t, 'open', 'p');
  keys.revoked = await putKey(t, 'acme', 'web', { status: 'revoked' });
  keys.mismatch = await putKey(t, 'acme', 'web', { recordOrganizationId: 'other' });
  keys.narrow = await putKey(t, 'acme', 'web', { allowlist: list(true, '198.51.100.7/32') });
  keys.narrowOff = await putKey(t, 'acme', 'web', { allowlist: list(false, '198.51.100.7/32') });
});

afterAll(() => {
  ddb.client.destroy();
  t.admin.destroy();
});

beforeEach(() => {
  ddb.reset();
  ddb.fault = undefined;
  output = captureOutput();
});

afterEach(() => output.restore());

function make(
  options: {
    ttl?: number;
    client?: CountingClient;
    tables?: Partial<{ allowlists: string; apiKeys: string }>;
    maxCacheEntries?: number;
  } = {},
): Authorizer {
  return createAuthorizer({
    store: new DynamoDbAuthorizerStore({
      client: (options.client ?? ddb).client,
      allowlistsTableName: options.tables?.allowlists ?? t.names.allowlists,
      apiKeysTableName: options.tables?.apiKeys ?? t.names.apiKeys,
    }),
    logger: new Logger({ serviceName: 'authorizer-test' }),
    memoryCacheTtlSeconds: options.ttl ?? 2,
    clock: () => now,
    maxCacheEntries: options.maxCacheEntries,
  });
}

const denied = () => logRecords(output.lines(), 'request denied');

describe('allow', () => {
  test('a valid key from a listed IP gets a stage-wide Allow with the ids in its context', async () => {
    const result = await make().handle(authorizerEvent({ key: keys.web.key, sourceIp: '198.51.100.7' }));
    expect(result).toEqual({
      principalId: keys.web.keyId,
      policyDocument: {
        Version: '2012-10-17',
        Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: STAGE_RESOURCE }],
      },
      context: { organizationId: 'acme', projectId: 'web', apiKeyId: keys.web.keyId },
    });
    expect(output.lines()).toEqual([]);
  });

  test('no list enabled (stored but disabled, or never stored): any IP is allowed', async () => {
    const authorizer = make();
    for (const key of [keys.off, keys.open]) {
      const result = await authorizer.handle(authorizerEvent({ key: key.key, sourceIp: '192.0.2.1' }));
      expect(result.policyDocument.Statement[0]).toMatchObject({ Effect: 'Allow' });
    }
  });
});

describe('deny by IP', () => {
  test('the org list blocks an unlisted IP: Deny with the organization error, ids, and one log line', async () => {
    const result = await make().handle(
      authorizerEvent({ key: keys.web.key, sourceIp: '192.0.2.1', requestId: 'req-org' }),
    );
    expect(result).toEqual({
      principalId: keys.web.keyId,
      policyDocument: {
        Version: '2012-10-17',
        Statement: [{ Action: 'execute-api:Invoke', Effect: 'Deny', Resource: STAGE_RESOURCE }],
      },
      context: {
        errorMessage: ERRORS.ipNotAuthorizedOrganization.message,
        errorType: ERRORS.ipNotAuthorizedOrganization.type,
        errorCode: ERRORS.ipNotAuthorizedOrganization.code,
        organizationId: 'acme',
        projectId: 'web',
        apiKeyId: keys.web.keyId,
      },
    });
    expect(output.lines()).toHaveLength(1);
    expect(denied()).toEqual([
      expect.objectContaining({
        level: 'WARN',
        reason: 'ip_not_authorized',
        scope: 'organization',
        keyId: keys.web.keyId,
        organizationId: 'acme',
        projectId: 'web',
        sourceIp: '192.0.2.1',
        sourceIpFamily: 'ipv4',
        requestId: 'req-org',
      }),
    ]);
  });

  test('the log line of a refused request names the address family, IPv4-mapped IPv6 as IPv4', async () => {
    const authorizer = make();
    for (const sourceIp of ['2001:db8:9::1', '::ffff:192.0.2.1', '192.0.2.2']) {
      await authorizer.handle(authorizerEvent({ key: keys.web.key, sourceIp }));
    }
    expect(denied().map((r) => [r.sourceIp, r.sourceIpFamily])).toEqual([
      ['2001:db8:9::1', 'ipv6'],
      ['::ffff:192.0.2.1', 'ipv4'],
      ['192.0.2.2', 'ipv4'],
    ]);
  });

  test('the project list blocks an unlisted IP with the project error', async () => {
    const result = await make().handle(authorizerEvent({ key: keys.mobile.key, sourceIp: '192.0.2.1' }));
    expect(result.policyDocument.Statement[0]).toMatchObject({ Effect: 'Deny', Resource: STAGE_RESOURCE });
    expect(result.context).toMatchObject({
      errorMessage: ERRORS.ipNotAuthorizedProject.message,
      errorCode: 'ip_not_authorized',
    });
    expect(denied()).toEqual([expect.objectContaining({ scope: 'project', projectId: 'mobile' })]);
  });

  test('the enabled project list overrides the org list in both directions', async () => {
    const authorizer = make();
    // In the org list, not in the project list: denied by the project.
    const orgOnly = await authorizer.handle(authorizerEvent({ key: keys.mobile.key, sourceIp: '198.51.100.7' }));
    expect(orgOnly.policyDocument.Statement[0].Effect).toBe('Deny');
    expect(orgOnly.context?.errorMessage).toBe(ERRORS.ipNotAuthorizedProject.message);
    // In the project list, not in the org list: allowed.
    const projectOnly = await authorizer.handle(authorizerEvent({ key: keys.mobile.key, sourceIp: '203.0.113.10' }));
    expect(projectOnly.policyDocument.Statement[0].Effect).toBe('Allow');
  });

  test('X-Forwarded-For and similar headers are ignored: only requestContext.identity.sourceIp counts', async () => {
    const authorizer = make();
    const spoofHeaders = (ip: string) => ({
      'X-Forwarded-For': ip,
      'X-Real-IP': ip,
      Forwarded: `for=${ip}`,
      'CF-Connecting-IP': ip,
    });
    const spoofed = await authorizer.handle(
      authorizerEvent({ key: keys.web.key, sourceIp: '192.0.2.1', headers: spoofHeaders('198.51.100.7') }),
    );
    expect(spoofed.policyDocument.Statement[0].Effect).toBe('Deny');
    expect(denied()).toEqual([expect.objectContaining({ sourceIp: '192.0.2.1' })]);
    const genuine = await authorizer.handle(
      authorizerEvent({ key: keys.web.key, sourceIp: '198.51.100.7', headers: spoofHeaders('192.0.2.1') }),
    );
    expect(genuine.policyDocument.Statement[0].Effect).toBe('Allow');
  });

  test('IPv6 callers are matched against IPv6 entries', async () => {
    const authorizer = make();
    expect(
      (await authorizer.handle(authorizerEvent({ key: keys.web.key, sourceIp: '2001:db8:1:ab::5' }))).policyDocument
        .Statement[0].Effect,
    ).toBe('Allow');
    expect(
      (await authorizer.handle(authorizerEvent({ key: keys.web.key, sourceIp: '2001:db8:2::5' }))).policyDocument
        .Statement[0].Effect,
    ).toBe('Deny');
  });

  test('an IPv4-mapped IPv6 caller matches the IPv4 entry', async () => {
    const result = await make().handle(authorizerEvent({ key: keys.mobile.key, sourceIp: '::ffff:203.0.113.10' }));
    expect(result.policyDocument.Statement[0].Effect).toBe('Allow');
  });

  test('a key list narrows: the IP must be in it as well, and it blocks with the key error', async () => {
    const authorizer = make();
    const inBoth = await authorizer.handle(authorizerEvent({ key: keys.narrow.key, sourceIp: '198.51.100.7' }));
    expect(inBoth.policyDocument.Statement[0].Effect).toBe('Allow');
    const orgOnly = await authorizer.handle(authorizerEvent({ key: keys.narrow.key, sourceIp: '198.51.100.8' }));
    expect(orgOnly.policyDocument.Statement[0].Effect).toBe('Deny');
    expect(orgOnly.context?.errorMessage).toBe(ERRORS.ipNotAuthorizedKey.message);
    expect(denied()).toEqual([expect.objectContaining({ scope: 'key', keyId: keys.narrow.keyId })]);
    // A disabled key list narrows nothing.
    const off = await authorizer.handle(authorizerEvent({ key: keys.narrowOff.key, sourceIp: '198.51.100.8' }));
    expect(off.policyDocument.Statement[0].Effect).toBe('Allow');
  });
});

describe('invalid and missing keys', () => {
  const invalidContext = {
    errorMessage: ERRORS.invalidApiKey.message,
    errorType: ERRORS.invalidApiKey.type,
    errorCode: ERRORS.invalidApiKey.code,
  };

  test('an unknown key is denied as invalid_api_key, with no ids in the context', async () => {
    const unknown = generateApiKey({ organizationId: 'acme', projectId: 'web' });
    const result = await make().handle(authorizerEvent({ key: unknown.key, sourceIp: '198.51.100.7' }));
    expect(result.principalId).toBe('anonymous');
    expect(result.policyDocument.Statement[0]).toMatchObject({ Effect: 'Deny', Resource: STAGE_RESOURCE });
    expect(result.context).toEqual(invalidContext);
    expect(denied()).toEqual([
      expect.objectContaining({ reason: 'invalid_api_key', detail: 'unknown', sourceIp: '198.51.100.7' }),
    ]);
  });

  test('a revoked key is denied as invalid_api_key, logged with its key id', async () => {
    const result = await make().handle(authorizerEvent({ key: keys.revoked.key, sourceIp: '198.51.100.7' }));
    expect(result.principalId).toBe(keys.revoked.keyId);
    expect(result.policyDocument.Statement[0].Effect).toBe('Deny');
    // The record vouches for these ids, so the context carries them; an unknown key's claimed ids never appear.
    expect(result.context).toEqual({
      ...invalidContext,
      organizationId: 'acme',
      projectId: 'web',
      apiKeyId: keys.revoked.keyId,
    });
    expect(denied()).toEqual([
      expect.objectContaining({
        reason: 'invalid_api_key',
        detail: 'revoked',
        keyId: keys.revoked.keyId,
        organizationId: 'acme',
      }),
    ]);
  });

  test('a key whose record names another organization than its route is denied', async () => {
    const result = await make().handle(authorizerEvent({ key: keys.mismatch.key, sourceIp: '198.51.100.7' }));
    expect(result.policyDocument.Statement[0].Effect).toBe('Deny');
    expect(result.context).toEqual(invalidContext);
    expect(denied()).toEqual([expect.objectContaining({ detail: 'route_mismatch', keyId: keys.mismatch.keyId })]);
  });

  test.each([
    ['not our format', 'abc'],
    [
      'a route that does not decode to org/project',
      `sk-${Buffer.from('no-slash').toString('base64url')}.${'a'.repeat(43)}`,
    ],
    ['a secret of the wrong length', `${keys.web?.key ?? 'sk-x.y'}x`],
  ])('a malformed key (%s) is denied without any storage call', async (_what, key) => {
    const result = await make().handle(authorizerEvent({ key, sourceIp: '198.51.100.7' }));
    expect(result.policyDocument.Statement[0].Effect).toBe('Deny');
    expect(result.context).toEqual(invalidContext);
    expect(ddb.commands).toEqual({});
    expect(ddb.roundTrips()).toBe(0);
    expect(denied()).toEqual([expect.objectContaining({ reason: 'invalid_api_key', detail: 'malformed' })]);
  });

  test.each([
    ['another scheme', { Authorization: 'Basic dXNlcjpwYXNz' }],
    [
      'a well-formed key without the Bearer scheme',
      { Authorization: generateApiKey({ organizationId: 'acme', projectId: 'web' }).key },
    ],
    ['two words after Bearer', { Authorization: 'Bearer abc def' }],
  ])(
    'a present key header that is not "Bearer <token>" (%s) is invalid_api_key, without storage',
    async (_what, headers) => {
      const result = await make().handle(authorizerEvent({ sourceIp: '198.51.100.7', headers }));
      expect(result.principalId).toBe('anonymous');
      expect(result.policyDocument.Statement[0]).toMatchObject({ Effect: 'Deny', Resource: STAGE_RESOURCE });
      expect(result.context).toEqual(invalidContext);
      expect(ddb.roundTrips()).toBe(0);
      expect(denied()).toEqual([
        expect.objectContaining({ reason: 'invalid_api_key', detail: 'malformed', sourceIp: '198.51.100.7' }),
      ]);
    },
  );

  test.each([
    ['no header', {}],
    ['an empty header', { Authorization: '' }],
    ['an empty bearer', { Authorization: 'Bearer ' }],
    ['the scheme alone', { Authorization: 'bearer' }],
  ])('a missing key (%s) is denied as missing_api_key without storage', async (_what, headers) => {
    const result = await make().handle(authorizerEvent({ sourceIp: '198.51.100.7', headers }));
    expect(result.principalId).toBe('anonymous');
    expect(result.policyDocument.Statement[0]).toMatchObject({ Effect: 'Deny', Resource: STAGE_RESOURCE });
    expect(result.context).toEqual({
      errorMessage: ERRORS.missingApiKey.message,
      errorType: ERRORS.missingApiKey.type,
      errorCode: ERRORS.missingApiKey.code,
    });
    expect(ddb.roundTrips()).toBe(0);
    expect(denied()).toEqual([expect.objectContaining({ reason: 'missing_api_key', sourceIp: '198.51.100.7' })]);
  });

  test('the key header is found whatever its case, also in multiValueHeaders only, and its name is configurable', async () => {
    const authorizer = make();
    for (const name of ['authorization', 'AUTHORIZATION', 'aUtHoRiZaTiOn']) {
      const event = authorizerEvent({ sourceIp: '198.51.100.7', headers: { [name]: `Bearer ${keys.web.key}` } });
      expect((await authorizer.handle(event)).policyDocument.Statement[0].Effect).toBe('Allow');
    }
    const multiOnly = authorizerEvent({ sourceIp: '198.51.100.7' });
    multiOnly.headers = null;
    multiOnly.multiValueHeaders = { authorization: [`bearer ${keys.web.key}`] };
    expect((await authorizer.handle(multiOnly)).policyDocument.Statement[0].Effect).toBe('Allow');

    const custom = createAuthorizer({
      store: new DynamoDbAuthorizerStore({
        client: ddb.client,
        allowlistsTableName: t.names.allowlists,
        apiKeysTableName: t.names.apiKeys,
      }),
      logger: new Logger({ serviceName: 'authorizer-test' }),
      memoryCacheTtlSeconds: 0,
      apiKeyHeader: 'X-Api-Key',
    });
    const viaCustom = authorizerEvent({ sourceIp: '198.51.100.7', headers: { 'x-api-key': `Bearer ${keys.web.key}` } });
    expect((await custom.handle(viaCustom)).policyDocument.Statement[0].Effect).toBe('Allow');
    // With a custom header, Authorization is just another header.
    const viaAuthorization = authorizerEvent({ key: keys.web.key, sourceIp: '198.51.100.7' });
    expect((await custom.handle(viaAuthorization)).context?.errorCode).toBe('missing_api_key');
  });
  test('a key header sent twice with different values is refused as invalid, in either order, without storage', async () => {
    const authorizer = make();
    const garbage = `Bearer ${generateApiKey({ organizationId: 'acme', projectId: 'web' }).key}`;
    for (const values of [
      [`Bearer ${keys.web.key}`, garbage],
      [garbage, `Bearer ${keys.web.key}`],
    ]) {
      const event = authorizerEvent({
        sourceIp: '198.51.100.7',
        headers: { Authorization: values[values.length - 1] },
      });
      event.multiValueHeaders = { ...event.multiValueHeaders, Authorization: values };
      const result = await authorizer.handle(event);
      expect(result.principalId).toBe('anonymous');
      expect(result.policyDocument.Statement[0]).toMatchObject({ Effect: 'Deny', Resource: STAGE_RESOURCE });
      expect(result.context).toEqual(invalidContext);
    }
    // Two spellings of the name in a headers map without multiValueHeaders are just as ambiguous.
    const spellings = authorizerEvent({
      sourceIp: '198.51.100.7',
      headers: { authorization: `Bearer ${keys.web.key}`, AUTHORIZATION: garbage },
    });
    spellings.multiValueHeaders = null;
    expect((await authorizer.handle(spellings)).context).toEqual(invalidContext);
    expect(ddb.roundTrips()).toBe(0);
    expect(denied()).toEqual(
      [1, 2, 3].map(() => expect.objectContaining({ reason: 'invalid_api_key', detail: 'ambiguous' })),
    );
  });

  test('the same key header value sent twice is not ambiguous', async () => {
    const event = authorizerEvent({ key: keys.web.key, sourceIp: '198.51.100.7' });
    event.multiValueHeaders = { ...event.multiValueHeaders, authorization: [`Bearer ${keys.web.key}`] };
    expect((await make().handle(event)).policyDocument.Statement[0].Effect).toBe('Allow');
  });
});

describe('policy resource', () => {
  test('Allow and Deny cover the stage of the methodArn, whatever the method and path, per stage', async () => {
    const authorizer = make();
    const arn = (stage: string, rest: string) =>
      `arn:aws:execute-api:eu-west-1:123456789012:abc123defg/${stage}/${rest}`;
    const cases: [string, string, string][] = [
      [arn('prod', 'GET/v1/models'), '198.51.100.7', 'Allow'],
      [arn('prod', 'POST/v1/chat/completions'), '198.51.100.7', 'Allow'],
      [arn('dev', 'DELETE/v1/files/file-1'), '198.51.100.7', 'Allow'],
      [arn('prod', 'GET/'), '192.0.2.1', 'Deny'],
      [arn('dev', 'PUT/a/b/c/d'), '192.0.2.1', 'Deny'],
      [arn('prod', 'GET/v1/models'), '198.51.100.7', 'Allow'],
    ];
    for (const [methodArn, sourceIp, effect] of cases) {
      const result = await authorizer.handle(authorizerEvent({ key: keys.web.key, sourceIp, methodArn }));
      const stage = methodArn.split('/')[1];
      expect(result.policyDocument.Statement).toEqual([
        {
          Action: 'execute-api:Invoke',
          Effect: effect,
          Resource: `arn:aws:execute-api:eu-west-1:123456789012:abc123defg/${stage}/*/*`,
        },
      ]);
    }
  });

  test('the Allow result shared between requests cannot be altered by a caller', async () => {
    const authorizer = make();
    const first = await authorizer.handle(authorizerEvent({ key: keys.web.key, sourceIp: '198.51.100.7' }));
    expect(() => {
      (first.context as Record<string, unknown>).organizationId = 'evil';
    }).toThrow();
    const second = await authorizer.handle(authorizerEvent({ key: keys.web.key, sourceIp: '198.51.100.8' }));
    expect(second.context?.organizationId).toBe('acme');
  });
});

describe('storage round trips and the in-memory cache', () => {
  test('a cold decision is exactly one BatchGetItem (key + both lists); a warm one makes no call', async () => {
    const authorizer = make({ ttl: 2 });
    await authorizer.handle(authorizerEvent({ key: keys.mobile.key, sourceIp: '203.0.113.10' }));
    expect(ddb.roundTrips()).toBe(1);
    expect(ddb.commands).toEqual({ BatchGetItemCommand: 1 });
    const request = ddb.batchGets[0].RequestItems!;
    expect(request[t.names.apiKeys]).toEqual({ Keys: [{ keyHash: { S: keys.mobile.keyHash } }], ConsistentRead: true });
    expect(request[t.names.allowlists].ConsistentRead).toBe(true);
    expect(request[t.names.allowlists].Keys).toHaveLength(2);

    ddb.reset();
    now += 1999;
    for (const sourceIp of ['203.0.113.10', '203.0.113.11', '192.0.2.1', '2001:db8::1']) {
      await authorizer.handle(authorizerEvent({ key: keys.mobile.key, sourceIp }));
    }
    expect(ddb.roundTrips()).toBe(0);

    now += 1;
    await authorizer.handle(authorizerEvent({ key: keys.mobile.key, sourceIp: '203.0.113.10' }));
    expect(ddb.roundTrips()).toBe(1);
  });

  test('only what is missing is fetched: a second key of a cached project reads just its key item', async () => {
    const authorizer = make();
    await authorizer.handle(authorizerEvent({ key: keys.web.key, sourceIp: '198.51.100.7' }));
    ddb.reset();
    await authorizer.handle(authorizerEvent({ key: keys.web2.key, sourceIp: '198.51.100.7' }));
    expect(ddb.roundTrips()).toBe(1);
    expect(Object.keys(ddb.batchGets[0].RequestItems!)).toEqual([t.names.apiKeys]);
  });

  test('unknown keys are cached as negative results, forged routes do not fill the list cache, and size is capped', async () => {
    const authorizer = make({ maxCacheEntries: 3 });
    const unknown = generateApiKey({ organizationId: 'acme', projectId: 'web' });
    await authorizer.handle(authorizerEvent({ key: unknown.key, sourceIp: '198.51.100.7' }));
    ddb.reset();
    await authorizer.handle(authorizerEvent({ key: unknown.key, sourceIp: '198.51.100.7' }));
    expect(ddb.roundTrips()).toBe(0);

    for (let i = 0; i < 10; i++) {
      const forged = generateApiKey({ organizationId: `org${i}`, projectId: `p${i}` });
      const result = await authorizer.handle(authorizerEvent({ key: forged.key, sourceIp: '198.51.100.7' }));
      expect(result.context?.errorCode).toBe('invalid_api_key');
    }
    // acme's stored organization list is real data; "no list stored" for made-up routes has its own capped cache.
    expect(authorizer.cacheSizes()).toEqual({ keys: 3, allowlists: 1, absentLists: 3 });
  });

  test('a flood of made-up keys does not push valid keys out of the cache', async () => {
    const authorizer = make({ maxCacheEntries: 3 });
    for (const key of [keys.web, keys.mobile])
      await authorizer.handle(authorizerEvent({ key: key.key, sourceIp: '198.51.100.7' }));
    for (let i = 0; i < 20; i++) {
      await authorizer.handle(
        authorizerEvent({
          key: generateApiKey({ organizationId: 'acme', projectId: 'web' }).key,
          sourceIp: '198.51.100.7',
        }),
      );
    }
    ddb.reset();
    for (const key of [keys.web, keys.mobile])
      await authorizer.handle(authorizerEvent({ key: key.key, sourceIp: '198.51.100.7' }));
    expect(ddb.roundTrips()).toBe(0);
    // Two valid keys, three invalid ones (their own bound), three lists (acme, acme/web, acme/mobile).
    expect(authorizer.cacheSizes()).toEqual({ keys: 5, allowlists: 3, absentLists: 1 });
  });

  /** List items and key items the authorizer asked DynamoDB for, over every BatchGetItem since the last reset. */
  const itemsRequested = () => {
    let lists = 0;
    let apiKeys = 0;
    for (const input of ddb.batchGets) {
      lists += input.RequestItems?.[t.names.allowlists]?.Keys?.length ?? 0;
      apiKeys += input.RequestItems?.[t.names.apiKeys]?.Keys?.length ?? 0;
    }
    return { lists, apiKeys };
  };
  const forgedFor = (organizationId: string, projectId: string) => generateApiKey({ organizationId, projectId }).key;

  test('made-up keys naming a real project read its two lists once per in-memory window, then one key item each', async () => {
    const authorizer = make({ ttl: 2 });
    for (let i = 0; i < 50; i++) {
      const result = await authorizer.handle(
        authorizerEvent({ key: forgedFor('acme', 'mobile'), sourceIp: '203.0.113.10' }),
      );
      expect(result.context?.errorCode).toBe('invalid_api_key');
    }
    expect(itemsRequested()).toEqual({ lists: 2, apiKeys: 50 });
    expect(ddb.roundTrips()).toBe(50);

    // A valid key of that project finds the lists in memory: one key item, the same decision as ever.
    ddb.reset();
    const valid = await authorizer.handle(authorizerEvent({ key: keys.mobile.key, sourceIp: '203.0.113.10' }));
    expect(valid.policyDocument.Statement[0].Effect).toBe('Allow');
    expect(itemsRequested()).toEqual({ lists: 0, apiKeys: 1 });

    // The next window reads the lists once more.
    ddb.reset();
    now += 2000;
    for (let i = 0; i < 10; i++)
      await authorizer.handle(authorizerEvent({ key: forgedFor('acme', 'mobile'), sourceIp: '203.0.113.10' }));
    expect(itemsRequested()).toEqual({ lists: 2, apiKeys: 10 });
  });

  test('made-up keys arriving together share one read of the lists (single flight)', async () => {
    const authorizer = make({ ttl: 2 });
    const results = await Promise.all(
      Array.from({ length: 40 }, () =>
        authorizer.handle(authorizerEvent({ key: forgedFor('acme', 'web'), sourceIp: '198.51.100.7' })),
      ),
    );
    expect(results.every((r) => r.context?.errorCode === 'invalid_api_key')).toBe(true);
    expect(itemsRequested()).toEqual({ lists: 2, apiKeys: 40 });
    // With the cache off, made-up keys arriving together read no list at all (the key item comes first).
    ddb.reset();
    const uncached = make({ ttl: 0 });
    await Promise.all(
      Array.from({ length: 20 }, () =>
        uncached.handle(authorizerEvent({ key: forgedFor('acme', 'web'), sourceIp: '198.51.100.7' })),
      ),
    );
    expect(itemsRequested()).toEqual({ lists: 0, apiKeys: 20 });
  });

  test('with the in-memory cache off, a made-up key naming a real project costs one key item and no list read', async () => {
    const authorizer = make({ ttl: 0 });
    for (let i = 0; i < 100; i++) {
      const result = await authorizer.handle(
        authorizerEvent({ key: forgedFor('acme', 'web'), sourceIp: '198.51.100.7' }),
      );
      expect(result.context?.errorCode).toBe('invalid_api_key');
    }
    expect(itemsRequested()).toEqual({ lists: 0, apiKeys: 100 });
    expect(ddb.roundTrips()).toBe(100);
    // A revoked key is known invalid from its item alone too.
    ddb.reset();
    const revoked = await authorizer.handle(authorizerEvent({ key: keys.revoked.key, sourceIp: '198.51.100.7' }));
    expect(revoked.context?.errorCode).toBe('invalid_api_key');
    expect(itemsRequested()).toEqual({ lists: 0, apiKeys: 1 });
  });

  test("made-up routes to tenants that do not exist neither grow memory nor push out a real tenant's lists", async () => {
    const authorizer = make({ maxCacheEntries: 5 });
    await authorizer.handle(authorizerEvent({ key: keys.mobile.key, sourceIp: '203.0.113.10' }));
    for (let i = 0; i < 100; i++) {
      await authorizer.handle(authorizerEvent({ key: forgedFor(`ghost${i}`, 'p'), sourceIp: '203.0.113.10' }));
    }
    expect(authorizer.cacheSizes()).toEqual({ keys: 1 + 5, allowlists: 2, absentLists: 5 });
    ddb.reset();
    await authorizer.handle(authorizerEvent({ key: forgedFor('acme', 'mobile'), sourceIp: '203.0.113.10' }));
    await authorizer.handle(authorizerEvent({ key: keys.mobile.key, sourceIp: '203.0.113.10' }));
    expect(itemsRequested()).toEqual({ lists: 0, apiKeys: 1 });
  });

  test('with the in-memory cache disabled every decision reads storage twice: the key item, then the lists', async () => {
    const authorizer = make({ ttl: 0 });
    for (let i = 0; i < 3; i++) {
      const result = await authorizer.handle(authorizerEvent({ key: keys.web.key, sourceIp: '198.51.100.7' }));
      expect(result.policyDocument.Statement[0].Effect).toBe('Allow');
    }
    expect(ddb.roundTrips()).toBe(6);
    expect(itemsRequested()).toEqual({ lists: 6, apiKeys: 3 });
    expect(authorizer.cacheSizes()).toEqual({ keys: 0, allowlists: 0, absentLists: 0 });
  });

  test('resetCache forgets everything', async () => {
    const authorizer = make();
    await authorizer.handle(authorizerEvent({ key: keys.web.key, sourceIp: '198.51.100.7' }));
    authorizer.resetCache();
    ddb.reset();
    await authorizer.handle(authorizerEvent({ key: keys.web.key, sourceIp: '198.51.100.7' }));
    expect(ddb.roundTrips()).toBe(1);
  });
});

describe('storage failure fails closed', () => {
  async function expectFailClosed(authorizer: Authorizer, causePattern: RegExp): Promise<void> {
    await expect(
      authorizer.handle(authorizerEvent({ key: keys.web.key, sourceIp: '198.51.100.7' })),
    ).rejects.toBeInstanceOf(AuthorizerUnavailableError);
    const records = logRecords(output.lines(), 'authorizer cannot decide: failing closed');
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      level: 'ERROR',
      reason: 'authorizer_unavailable',
      organizationId: 'acme',
      projectId: 'web',
      sourceIp: '198.51.100.7',
    });
    expect(String(records[0].cause)).toMatch(causePattern);
    expect(authorizer.cacheSizes()).toEqual({ keys: 0, allowlists: 0, absentLists: 0 });
  }

  test('DynamoDB unreachable (closed port): the handler rejects, never allows, and logs why', async () => {
    const closed = countingClient(`http://127.0.0.1:${await freePort()}`, { maxAttempts: 1 });
    try {
      await expectFailClosed(make({ client: closed }), /BatchGetItem failed/);
    } finally {
      closed.client.destroy();
    }
  });

  test('a table that does not exist: rejects and logs ResourceNotFoundException', async () => {
    await expectFailClosed(make({ tables: { allowlists: 'no-such-table' } }), /ResourceNotFound/);
  });

  test('a corrupt allowlist item or an invalid stored entry: rejects rather than guessing', async () => {
    await t.admin.send(
      new PutItemCommand({
        TableName: t.names.allowlists,
        Item: {
          pk: { S: organizationAllowlistPk('corrupt') },
          enabled: { S: 'yes' },
          entries: { L: [] },
          version: { N: '1' },
        },
      }),
    );
    await putOrgList(t, 'badentry', list(true, '10.0.0.1/8'));
    for (const org of ['corrupt', 'badentry']) {
      const key = await putKey(t, org, 'p');
      const authorizer = make();
      await expect(authorizer.handle(authorizerEvent({ key: key.key, sourceIp: '10.0.0.1' }))).rejects.toBeInstanceOf(
        AuthorizerUnavailableError,
      );
      expect(authorizer.cacheSizes().allowlists).toBe(0);
    }
    const records = logRecords(output.lines(), 'authorizer cannot decide: failing closed');
    expect(records.map((r) => r.cause)).toEqual([
      expect.stringMatching(/enabled is not a boolean/),
      expect.stringMatching(/host bits/),
    ]);
  });

  test('a failure is not cached: the next request reads storage again and succeeds', async () => {
    const authorizer = make();
    ddb.fault = new Error('injected network failure');
    await expect(authorizer.handle(authorizerEvent({ key: keys.web.key, sourceIp: '198.51.100.7' }))).rejects.toThrow(
      'authorizer_unavailable',
    );
    ddb.fault = undefined;
    const result = await authorizer.handle(authorizerEvent({ key: keys.web.key, sourceIp: '198.51.100.7' }));
    expect(result.policyDocument.Statement[0].Effect).toBe('Allow');
  });
});

test('no API key ever appears in log output or in a Deny', async () => {
  const authorizer = make();
  const unknown = generateApiKey({ organizationId: 'acme', projectId: 'web' }).key;
  const presented = [keys.web.key, keys.revoked.key, keys.mismatch.key, keys.narrow.key, unknown];
  const results = [];
  for (const key of presented) results.push(await authorizer.handle(authorizerEvent({ key, sourceIp: '192.0.2.1' })));
  ddb.fault = new Error('injected');
  await expect(make().handle(authorizerEvent({ key: keys.mobile.key, sourceIp: '192.0.2.1' }))).rejects.toThrow();
  presented.push(keys.mobile.key);

  const text = output.text();
  expect(denied()).toHaveLength(5);
  for (const key of presented) {
    const secret = key.slice(key.indexOf('.') + 1);
    expect(text).not.toContain(secret);
    expect(JSON.stringify(results)).not.toContain(secret);
  }
});
