import type {
  BatchGetItemCommandInput,
  BatchWriteItemCommandInput,
  TransactGetItemsCommandInput,
  TransactWriteItemsCommandInput,
} from '@aws-sdk/client-dynamodb';
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { ADMIN_TABLE_ACTIONS, AUTHORIZER_TABLE_ACTIONS, TableActions } from '../../lib/table-access';
import { API_KEYS_BY_PROJECT_INDEX, TRAFFIC_BY_LAST_SEEN_INDEX } from '../../lambda/adapters/schema';
import { localClient, localTablesEnv, TableNames, testEndpoint } from '../support/dynamodb-local';
import { startDynamoDbProxy } from '../support/dynamodb-proxy';
import { makeHarness } from './admin/fixtures';
import { authorizerEvent, list, makeTables, putKey, putOrgList } from './authorizer/fixtures';

/**
 * The IAM grants (lib/table-access.ts) against what the real handler code sends: every DynamoDB request of the
 * admin API's routes and of the authorizer's decisions is recorded and turned into the IAM actions it needs per
 * table. They must be EQUAL to the grant: a call without its action fails in AWS, an action without a call is
 * a privilege a compromised function should not have.
 */

type Observed = Record<keyof TableActions, Set<string>>;

function observer(names: TableNames) {
  const observed: Observed = {
    allowlists: new Set(),
    apiKeys: new Set(),
    apiKeysByProject: new Set(),
    auditLog: new Set(),
    traffic: new Set(),
    trafficByLastSeen: new Set(),
  };
  const auditPuts: { ConditionExpression?: string }[] = [];
  const tableKey = (table: string | undefined, index?: string): keyof TableActions => {
    if (table === names.allowlists && !index) return 'allowlists';
    if (table === names.apiKeys && !index) return 'apiKeys';
    if (table === names.apiKeys && index === API_KEYS_BY_PROJECT_INDEX) return 'apiKeysByProject';
    if (table === names.auditLog && !index) return 'auditLog';
    if (table === names.traffic && !index) return 'traffic';
    if (table === names.traffic && index === TRAFFIC_BY_LAST_SEEN_INDEX) return 'trafficByLastSeen';
    throw new Error(`a request for an unexpected table or index: ${table} ${index ?? ''}`);
  };
  const record = (command: string, input: unknown) => {
    const add = (table: string | undefined, action: string, index?: string) =>
      observed[tableKey(table, index)].add(`dynamodb:${action}`);
    switch (command) {
      case 'BatchGetItemCommand':
        Object.keys((input as BatchGetItemCommandInput).RequestItems ?? {}).forEach((t) => add(t, 'BatchGetItem'));
        break;
      case 'TransactWriteItemsCommand':
        for (const item of (input as TransactWriteItemsCommandInput).TransactItems ?? []) {
          if (item.Put) add(item.Put.TableName, 'PutItem');
          if (item.Update) add(item.Update.TableName, 'UpdateItem');
          if (item.Delete) add(item.Delete.TableName, 'DeleteItem');
          if (item.ConditionCheck) add(item.ConditionCheck.TableName, 'ConditionCheckItem');
          if (item.Put?.TableName === names.auditLog) auditPuts.push(item.Put);
        }
        break;
      case 'TransactGetItemsCommand':
        for (const item of (input as TransactGetItemsCommandInput).TransactItems ?? [])
          add(item.Get?.TableName, 'GetItem');
        break;
      case 'BatchWriteItemCommand':
        Object.keys((input as BatchWriteItemCommandInput).RequestItems ?? {}).forEach((t) => add(t, 'BatchWriteItem'));
        break;
      default: {
        // GetItemCommand -> dynamodb:GetItem, QueryCommand -> dynamodb:Query (on the index when one is named), ...
        const single = input as { TableName?: string; IndexName?: string };
        add(single.TableName, command.replace(/Command$/, ''), single.IndexName);
      }
    }
  };
  return { observed, auditPuts, record };
}

const asSorted = (actions: TableActions | Observed) =>
  Object.fromEntries(Object.entries(actions).map(([k, v]) => [k, [...v].sort()]));

test('the admin API calls exactly ADMIN_TABLE_ACTIONS, and never writes an audit record without attribute_not_exists', async () => {
  const proxy = await startDynamoDbProxy(testEndpoint());
  const client = localClient(proxy.endpoint, { maxAttempts: 2 });
  const h = await makeHarness('table-access-admin', { handlerClient: client });
  const { observed, auditPuts, record } = observer(h.names);
  client.middlewareStack.add(
    (next, context) => async (args) => {
      record(context.commandName as string, args.input);
      return next(args);
    },
    { step: 'initialize', name: 'recordDynamoDbCalls' },
  );
  try {
    const org = '/v1/organizations/acme';
    const project = `${org}/projects/web`;
    const ok = async (method: string, path: string, body?: unknown, query?: Record<string, string>) => {
      const res = await h.call(method, path, { body, query });
      expect([200, 201]).toContain(res.status);
      return res.body;
    };
    // Every route, every scope.
    for (const scope of [org, project]) {
      await ok('GET', `${scope}/ip_allowlist`);
      await ok('PUT', `${scope}/ip_allowlist`, { entries: ['192.0.2.0/24'] });
      await ok('POST', `${scope}/ip_allowlist/entries`, { value: '198.51.100.1' });
      await ok('DELETE', `${scope}/ip_allowlist/entries/198.51.100.1`);
      await ok('DELETE', `${scope}/ip_allowlist/entries`, undefined, { value: '192.0.2.0/24' });
      await ok('POST', `${scope}/ip_allowlist/entries`, { entries: ['203.0.113.1'] });
      await ok('POST', `${scope}/ip_allowlist/enable`);
      await ok('POST', `${scope}/ip_allowlist/disable`);
      await ok('POST', `${scope}/ip_allowlist/check`, { ip: '203.0.113.1' });
    }
    const key = await ok('POST', `${project}/api_keys`, { name: 'backend' });
    const keyPath = `${project}/api_keys/${key.id}`;
    await ok('GET', `${project}/api_keys`);
    await ok('GET', keyPath);
    await ok('PUT', `${keyPath}/ip_allowlist`, { entries: ['203.0.113.1'], enabled: true });
    await ok('POST', `${keyPath}/ip_allowlist/check`, { ip: '203.0.113.1' });
    await ok('GET', `${keyPath}/ip_allowlist`);
    // A commit whose answer is lost: resolved by reading its audit record.
    proxy.inject({ operation: 'TransactWriteItems', dropReply: true, times: 2 });
    await ok('POST', `${keyPath}/ip_allowlist/disable`);
    proxy.clear();
    await ok('DELETE', keyPath);
    await ok('GET', '/v1/organizations/acme/audit_log');
    // The traffic log, filtered and paginated (the list GETs above read one scope's traffic for lastMatchedAt).
    await ok('GET', '/v1/organizations/acme/traffic', undefined, { project: 'web', outcome: 'blocked', limit: '5' });

    expect(asSorted(observed)).toEqual(asSorted(ADMIN_TABLE_ACTIONS));
    expect(auditPuts.length).toBeGreaterThan(10);
    for (const put of auditPuts) expect(put.ConditionExpression).toBe('attribute_not_exists(eventId)');
  } finally {
    h.destroy();
    client.destroy();
    await proxy.close();
  }
});

test('the authorizer Lambda calls exactly AUTHORIZER_TABLE_ACTIONS, whatever the key and lists', async () => {
  const t = await makeTables('table-access-authz');
  const { observed, record } = observer(t.names);
  const env: Record<string, string | undefined> = {
    AWS_REGION: 'local',
    AWS_SESSION_TOKEN: undefined,
    AWS_PROFILE: undefined,
    ...localTablesEnv({ allowlists: t.names.allowlists, apiKeys: t.names.apiKeys }),
    // Recording on: every decision here reads the store (no in-memory cache), so each flushes its sighting.
    TRAFFIC_TABLE_NAME: t.names.traffic,
    API_KEY_HEADER: 'authorization',
    MEMORY_CACHE_TTL_SECONDS: '0',
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
  };
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  let restore = () => undefined as void;
  let handler: ((event: APIGatewayRequestAuthorizerEvent) => Promise<APIGatewayAuthorizerResult>) | undefined;
  try {
    jest.isolateModules(() => {
      // The SDK module the entry point loads (same isolated registry): record every command its client sends.
      const sdk = jest.requireActual<typeof import('@aws-sdk/client-dynamodb')>('@aws-sdk/client-dynamodb');
      // eslint-disable-next-line @typescript-eslint/unbound-method -- unbound on purpose: re-applied to each client below
      const original = sdk.DynamoDBClient.prototype.send;
      const spy = jest.spyOn(sdk.DynamoDBClient.prototype, 'send').mockImplementation(function (
        this: unknown,
        ...args: unknown[]
      ) {
        const command = args[0] as { constructor: { name: string }; input: unknown };
        record(command.constructor.name, command.input);
        return (original as (...a: unknown[]) => unknown).apply(this, args) as never;
      });
      restore = () => spy.mockRestore();
      handler = jest.requireActual<{ handler: typeof handler }>('../../lambda/authorizer/index').handler;
    });
    await putOrgList(t, 'acme', list(true, '198.51.100.0/24'));
    const active = await putKey(t, 'acme', 'web', { allowlist: list(true, '198.51.100.7') });
    const revoked = await putKey(t, 'acme', 'web', { status: 'revoked' });
    const events = [
      authorizerEvent({ key: active.key, sourceIp: '198.51.100.7' }),
      authorizerEvent({ key: active.key, sourceIp: '203.0.113.9' }),
      authorizerEvent({ key: revoked.key, sourceIp: '198.51.100.7' }),
      authorizerEvent({ key: `${active.key.slice(0, -4)}AAAA`, sourceIp: '198.51.100.7' }),
      authorizerEvent({ key: 'not-a-key', sourceIp: '198.51.100.7' }),
      authorizerEvent({ sourceIp: '198.51.100.7' }),
    ];
    for (const event of events) await handler!(event).catch(() => undefined);
    expect(asSorted(observed)).toEqual(asSorted(AUTHORIZER_TABLE_ACTIONS));
  } finally {
    restore();
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    t.admin.destroy();
  }
});
