import { Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { API_KEYS_BY_PROJECT_INDEX, ENV, TRAFFIC_BY_LAST_SEEN_INDEX } from './contract';
import { IAllowlistTables } from './allowlist-tables';

/**
 * The DynamoDB actions each Lambda of the product calls, per table: exactly what its code sends, nothing more.
 * This is the one place to change when a handler starts or stops calling an action. Tests keep it true: the
 * template assertions in test/lib (allowlist-admin-api, ip-allowlist-authorizer) list each role's actions per
 * table, and test/lambda/table-access.test.ts records what the real handler code sends to DynamoDB Local and
 * asserts it equals these lists (an action granted but never called fails as much as one called but not granted).
 *
 * TransactWriteItems has no action of its own: IAM checks each item's Put/Update as PutItem/UpdateItem.
 */
export interface TableActions {
  readonly allowlists: readonly string[];
  readonly apiKeys: readonly string[];
  /** The ApiKeys table's `byProject` index. */
  readonly apiKeysByProject: readonly string[];
  readonly auditLog: readonly string[];
  /** The Traffic table (granted only when the tables have one). */
  readonly traffic: readonly string[];
  /** The Traffic table's `byLastSeen` index. */
  readonly trafficByLastSeen: readonly string[];
}

/**
 * The authorizer (lambda/adapters/dynamodb-store.ts): one BatchGetItem reads the key record and both lists.
 * No Query: it must not be able to list a project's keys; nothing on the audit log. On the Traffic table only
 * UpdateItem (lambda/authorizer/recorder.ts, one per sighting): it adds to sightings and can read none.
 */
export const AUTHORIZER_TABLE_ACTIONS: TableActions = {
  allowlists: ['dynamodb:BatchGetItem'],
  apiKeys: ['dynamodb:BatchGetItem'],
  apiKeysByProject: [],
  auditLog: [],
  traffic: ['dynamodb:UpdateItem'],
  trafficByLastSeen: [],
};

/**
 * The admin API (lambda/adapters/admin-store.ts): consistent reads, the conditional transaction of a change and
 * its audit record, and the audit log's Query and GetItem (the read that resolves a commit whose answer was
 * lost). On the audit log IAM grants no UpdateItem or DeleteItem, but PutItem alone could replace a record: it
 * stays append-only only because every Put the code sends there is conditioned on attribute_not_exists(eventId)
 * (pinned by test/lambda/table-access.test.ts). Nothing is ever deleted, so no DeleteItem or BatchWriteItem anywhere.
 * On the Traffic table it only reads (lambda/adapters/traffic-store.ts): a Query of one scope's sightings for
 * `lastMatchedAt`, and a Query of the `byLastSeen` index for the traffic log.
 */
export const ADMIN_TABLE_ACTIONS: TableActions = {
  allowlists: ['dynamodb:GetItem', 'dynamodb:PutItem'],
  apiKeys: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
  apiKeysByProject: ['dynamodb:Query'],
  auditLog: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query'],
  traffic: ['dynamodb:Query'],
  trafficByLastSeen: ['dynamodb:Query'],
};

/** Grants the authorizer's Lambda AUTHORIZER_TABLE_ACTIONS (and decryption with a customer-managed key). */
export function grantAuthorizerTableAccess(tables: IAllowlistTables, grantee: iam.IGrantable): iam.Grant {
  tables.encryptionKey?.grantDecrypt(grantee);
  return grantTableActions(tables, grantee, AUTHORIZER_TABLE_ACTIONS);
}

/** Grants the admin API's Lambda ADMIN_TABLE_ACTIONS (and encryption and decryption with a customer-managed key). */
export function grantAdminTableAccess(tables: IAllowlistTables, grantee: iam.IGrantable): iam.Grant {
  tables.encryptionKey?.grantEncryptDecrypt(grantee);
  return grantTableActions(tables, grantee, ADMIN_TABLE_ACTIONS);
}

/**
 * The Traffic table's environment for either Lambda (lambda/authorizer/config.ts, lambda/admin/config.ts read it):
 * its name and retention, or nothing when the tables have no Traffic table (then nothing is recorded).
 */
export function trafficEnvironment(tables: IAllowlistTables): { [name: string]: string } {
  const traffic = tables.trafficTable;
  if (traffic === undefined) return {};
  const environment: { [name: string]: string } = { [ENV.trafficTable]: traffic.tableName };
  // Unset means the default retention, which the Lambdas know (lib/contract.ts).
  if (tables.trafficRetention !== undefined) {
    environment[ENV.trafficRetentionSeconds] = tables.trafficRetention.isUnresolved()
      ? Token.asString(tables.trafficRetention.toSeconds())
      : String(tables.trafficRetention.toSeconds());
  }
  return environment;
}

/** One statement per table (or index), so each resource's actions read off the policy directly. */
function grantTableActions(tables: IAllowlistTables, grantee: iam.IGrantable, actions: TableActions): iam.Grant {
  const resources: [readonly string[], string][] = [
    [actions.allowlists, tables.allowlistsTable.tableArn],
    [actions.apiKeys, tables.apiKeysTable.tableArn],
    [actions.apiKeysByProject, `${tables.apiKeysTable.tableArn}/index/${API_KEYS_BY_PROJECT_INDEX}`],
    [actions.auditLog, tables.auditLogTable.tableArn],
  ];
  const traffic = tables.trafficTable;
  if (traffic !== undefined) {
    resources.push(
      [actions.traffic, traffic.tableArn],
      [actions.trafficByLastSeen, `${traffic.tableArn}/index/${TRAFFIC_BY_LAST_SEEN_INDEX}`],
    );
  }
  return resources
    .filter(([granted]) => granted.length > 0)
    .map(([granted, arn]) => iam.Grant.addToPrincipal({ grantee, actions: [...granted], resourceArns: [arn] }))
    .reduce((all, grant) => all.combine(grant));
}
