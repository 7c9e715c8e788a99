import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct, IConstruct } from 'constructs';
import {
  API_KEYS_BY_PROJECT_INDEX,
  AttributeSchema,
  DEFAULT_TRAFFIC_RETENTION_DAYS,
  MAX_TRAFFIC_RETENTION_DAYS,
  TABLE_SCHEMAS,
  TableSchema,
  TRAFFIC_BY_LAST_SEEN_INDEX,
  TRAFFIC_TABLE,
} from './contract';

/** Properties of `AllowlistTables`. */
export interface AllowlistTablesProps {
  /**
   * What happens to the tables (allowlists, API key hashes and the audit trail) when they leave the stack.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;

  /**
   * A customer-managed KMS key to encrypt the tables with. Grants made through this construct include the key.
   *
   * @default - the AWS managed key for DynamoDB (`alias/aws/dynamodb`)
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * Whether DynamoDB refuses to delete the tables, even when CloudFormation asks it to.
   *
   * @default false
   */
  readonly deletionProtection?: boolean;

  /**
   * How long the Traffic table keeps a sighting (what the authorizer saw: key, source IP, outcome) after it was
   * last seen: its DynamoDB TTL, and the furthest back the admin API's traffic reads look. Whole days, 1 to 365.
   * DynamoDB deletes expired items within days of their expiry; readers skip them meanwhile.
   *
   * @default Duration.days(30)
   */
  readonly trafficRetention?: Duration;
}

/**
 * The tables behind the IP allowlist, created by this stack (`new AllowlistTables`) or brought from elsewhere
 * (`AllowlistTables.fromTableNames`, `AllowlistTables.fromTables`).
 */
export interface IAllowlistTables extends IConstruct {
  /** Organization and project allowlists. */
  readonly allowlistsTable: dynamodb.ITable;
  /** API keys, stored as SHA-256 hashes of the secret. */
  readonly apiKeysTable: dynamodb.ITable;
  /** Every change made through the admin API. */
  readonly auditLogTable: dynamodb.ITable;
  /**
   * The customer-managed key the tables are encrypted with, if any.
   *
   * @default - the AWS managed key
   */
  readonly encryptionKey?: kms.IKey;
  /**
   * What the authorizer saw (sightings, with the `byLastSeen` index and the TTL attribute `expiresAt`), read by
   * the admin API's traffic log and `lastMatchedAt`.
   *
   * @default - none: the authorizer records no traffic
   */
  readonly trafficTable?: dynamodb.ITable;
  /**
   * How long a sighting is kept after it was last seen (the Traffic table's TTL).
   *
   * @default - 30 days
   */
  readonly trafficRetention?: Duration;
  /** Lets `grantee` read allowlists and API keys: what the authorizer gets. */
  grantRead(grantee: iam.IGrantable): iam.Grant;
  /** Lets `grantee` read and write items in every table (the Traffic table included): what the admin API gets. */
  grantReadWrite(grantee: iam.IGrantable): iam.Grant;
}

/** The names of existing tables, for `AllowlistTables.fromTableNames`. */
export interface AllowlistTableNames {
  /** Name of the Allowlists table. */
  readonly allowlistsTableName: string;
  /** Name of the ApiKeys table (with its `byProject` index). */
  readonly apiKeysTableName: string;
  /** Name of the AuditLog table. */
  readonly auditLogTableName: string;
  /**
   * Name of the Traffic table (with its `byLastSeen` index and TTL attribute `expiresAt`).
   *
   * @default - no Traffic table: the authorizer records no traffic
   */
  readonly trafficTableName?: string;
  /**
   * The Traffic table's retention (its items' TTL). Only with `trafficTableName`.
   *
   * @default Duration.days(30)
   */
  readonly trafficRetention?: Duration;
  /**
   * The customer-managed key the tables are encrypted with; grants include it.
   *
   * @default - the tables use an AWS managed key
   */
  readonly encryptionKey?: kms.IKey;
}

/** Existing tables, for `AllowlistTables.fromTables`. */
export interface AllowlistTablesAttributes {
  /** The Allowlists table. */
  readonly allowlistsTable: dynamodb.ITable;
  /** The ApiKeys table (with its `byProject` index). */
  readonly apiKeysTable: dynamodb.ITable;
  /** The AuditLog table. */
  readonly auditLogTable: dynamodb.ITable;
  /**
   * The Traffic table (with its `byLastSeen` index and TTL attribute `expiresAt`).
   *
   * @default - no Traffic table: the authorizer records no traffic
   */
  readonly trafficTable?: dynamodb.ITable;
  /**
   * The Traffic table's retention (its items' TTL). Only with `trafficTable`.
   *
   * @default Duration.days(30)
   */
  readonly trafficRetention?: Duration;
  /**
   * The customer-managed key the tables are encrypted with; grants include it.
   *
   * @default - the tables use an AWS managed key
   */
  readonly encryptionKey?: kms.IKey;
}

/** Actions that read items. Scan is deliberately absent: no handler needs to read a whole table. */
const READ_ACTIONS = ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query'];

/** Item writes, including the per-item permissions that TransactWriteItems checks. */
const WRITE_ACTIONS = [
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:ConditionCheckItem',
];

/**
 * What created and imported tables share: the grants, which name exactly the tables and index the handlers use.
 * Exported because jsii requires the base class of an exported class to be.
 */
export abstract class AllowlistTablesBase extends Construct implements IAllowlistTables {
  public abstract readonly allowlistsTable: dynamodb.ITable;
  public abstract readonly apiKeysTable: dynamodb.ITable;
  public abstract readonly auditLogTable: dynamodb.ITable;
  public abstract readonly encryptionKey?: kms.IKey;
  public abstract readonly trafficTable?: dynamodb.ITable;
  public abstract readonly trafficRetention?: Duration;

  /**
   * Lets `grantee` read allowlists and API keys, nothing else: GetItem, BatchGetItem and Query on those two
   * tables and the `byProject` index. For your own readers; the authorizer gets less (lib/table-access.ts).
   */
  public grantRead(grantee: iam.IGrantable): iam.Grant {
    const grant = iam.Grant.addToPrincipal({
      grantee,
      actions: READ_ACTIONS,
      resourceArns: [
        this.allowlistsTable.tableArn,
        this.apiKeysTable.tableArn,
        indexArn(this.apiKeysTable, API_KEYS_BY_PROJECT_INDEX),
      ],
    });
    this.encryptionKey?.grantDecrypt(grantee);
    return grant;
  }

  /**
   * Lets `grantee` read and write items in every table, the Traffic table included (and query their indexes). For
   * your own tools; the admin API gets only the actions it calls, and on the audit log no UpdateItem or DeleteItem
   * (lib/table-access.ts).
   */
  public grantReadWrite(grantee: iam.IGrantable): iam.Grant {
    return grantReadWrite(this, grantee);
  }
}

/** AllowlistTablesBase's grantReadWrite: every table the construct knows of, the Traffic table when there is one. */
function grantReadWrite(tables: IAllowlistTables, grantee: iam.IGrantable): iam.Grant {
  const tableArns = [tables.allowlistsTable.tableArn, tables.apiKeysTable.tableArn, tables.auditLogTable.tableArn];
  const indexArns = [indexArn(tables.apiKeysTable, API_KEYS_BY_PROJECT_INDEX)];
  if (tables.trafficTable !== undefined) {
    tableArns.push(tables.trafficTable.tableArn);
    indexArns.push(indexArn(tables.trafficTable, TRAFFIC_BY_LAST_SEEN_INDEX));
  }
  const grant = iam.Grant.addToPrincipal({
    grantee,
    actions: READ_ACTIONS,
    resourceArns: [...tableArns, ...indexArns],
  }).combine(iam.Grant.addToPrincipal({ grantee, actions: WRITE_ACTIONS, resourceArns: tableArns }));
  tables.encryptionKey?.grantEncryptDecrypt(grantee);
  return grant;
}

class ImportedAllowlistTables extends AllowlistTablesBase {
  public readonly allowlistsTable: dynamodb.ITable;
  public readonly apiKeysTable: dynamodb.ITable;
  public readonly auditLogTable: dynamodb.ITable;
  public readonly encryptionKey?: kms.IKey;
  public readonly trafficTable?: dynamodb.ITable;
  public readonly trafficRetention?: Duration;

  constructor(scope: Construct, id: string, attrs: AllowlistTablesAttributes) {
    super(scope, id);
    if (attrs.trafficTable === undefined && attrs.trafficRetention !== undefined) {
      throw new Error('trafficRetention has no effect without a Traffic table (trafficTable or trafficTableName)');
    }
    this.allowlistsTable = attrs.allowlistsTable;
    this.apiKeysTable = attrs.apiKeysTable;
    this.auditLogTable = attrs.auditLogTable;
    this.encryptionKey = attrs.encryptionKey;
    this.trafficTable = attrs.trafficTable;
    this.trafficRetention =
      attrs.trafficTable === undefined ? undefined : validTrafficRetention(attrs.trafficRetention);
  }
}

/**
 * The DynamoDB tables behind the IP allowlist: `Allowlists` (organization and project lists), `ApiKeys` (key
 * hashes, with the `byProject` index), `AuditLog` and `Traffic` (what the authorizer saw, with the `byLastSeen`
 * index; items expire `trafficRetention` after they were last seen). The layout is lambda/adapters/schema.ts, which the
 * handlers, the tests and the local mode read too.
 *
 * Every table is on-demand, encrypted, and has point-in-time recovery. They are retained when they leave the
 * stack (`cdk destroy` included): a stack deployed again can attach to them with `AllowlistTables.fromTableNames`.
 */
export class AllowlistTables extends AllowlistTablesBase {
  /**
   * Tables that exist already, by name: typically the tables a destroyed stack retained, attached to the stack
   * that replaces it. The names are in the old stack's outputs or the DynamoDB console.
   */
  public static fromTableNames(scope: Construct, id: string, names: AllowlistTableNames): IAllowlistTables {
    const holder = new Construct(scope, id);
    const table = (tableId: string, tableName: string) =>
      dynamodb.Table.fromTableAttributes(holder, tableId, { tableName, encryptionKey: names.encryptionKey });
    return new ImportedAllowlistTables(holder, 'Tables', {
      allowlistsTable: table('Allowlists', names.allowlistsTableName),
      apiKeysTable: table('ApiKeys', names.apiKeysTableName),
      auditLogTable: table('AuditLog', names.auditLogTableName),
      trafficTable: names.trafficTableName === undefined ? undefined : table('Traffic', names.trafficTableName),
      trafficRetention: names.trafficRetention,
      encryptionKey: names.encryptionKey,
    });
  }

  /** Tables that exist already, as `ITable`s (from another stack of this app, or imported yourself). */
  public static fromTables(scope: Construct, id: string, attrs: AllowlistTablesAttributes): IAllowlistTables {
    return new ImportedAllowlistTables(scope, id, attrs);
  }

  /** Organization and project allowlists. */
  public readonly allowlistsTable: dynamodb.Table;
  /** API keys, stored as SHA-256 hashes of the secret. */
  public readonly apiKeysTable: dynamodb.Table;
  /** Every change made through the admin API: who, when, before and after. */
  public readonly auditLogTable: dynamodb.Table;
  /**
   * What the authorizer saw: one item per (project, key, source IP, outcome), expiring after `trafficRetention`.
   * Always set on tables this construct creates (optional only because imported tables may have none).
   */
  public readonly trafficTable?: dynamodb.Table;
  /** How long a sighting is kept after it was last seen. Always set on tables this construct creates. */
  public readonly trafficRetention?: Duration;
  /** The customer-managed key, when one was given. */
  public readonly encryptionKey?: kms.IKey;

  constructor(scope: Construct, id: string, props: AllowlistTablesProps = {}) {
    super(scope, id);
    this.encryptionKey = props.encryptionKey;
    this.trafficRetention = validTrafficRetention(props.trafficRetention);
    const tables = new Map<TableSchema['logicalName'], dynamodb.Table>();
    for (const schema of [...TABLE_SCHEMAS, TRAFFIC_TABLE]) {
      tables.set(schema.logicalName, this.createTable(schema, props));
    }
    this.allowlistsTable = tables.get('Allowlists')!;
    this.apiKeysTable = tables.get('ApiKeys')!;
    this.auditLogTable = tables.get('AuditLog')!;
    this.trafficTable = tables.get('Traffic')!;
  }

  private createTable(schema: TableSchema, props: AllowlistTablesProps): dynamodb.Table {
    const table = new dynamodb.Table(this, schema.logicalName, {
      partitionKey: attribute(schema.partitionKey),
      sortKey: schema.sortKey && attribute(schema.sortKey),
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: props.encryptionKey
        ? dynamodb.TableEncryption.CUSTOMER_MANAGED
        : dynamodb.TableEncryption.AWS_MANAGED,
      encryptionKey: props.encryptionKey,
      deletionProtection: props.deletionProtection ?? false,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      timeToLiveAttribute: schema.timeToLiveAttribute,
    });
    for (const index of schema.globalSecondaryIndexes ?? []) {
      table.addGlobalSecondaryIndex({
        indexName: index.indexName,
        partitionKey: attribute(index.partitionKey),
        sortKey: index.sortKey && attribute(index.sortKey),
        projectionType: dynamodb.ProjectionType.ALL,
      });
    }
    return table;
  }
}

function attribute(schema: AttributeSchema): dynamodb.Attribute {
  const type = {
    S: dynamodb.AttributeType.STRING,
    N: dynamodb.AttributeType.NUMBER,
    B: dynamodb.AttributeType.BINARY,
  }[schema.type];
  return { name: schema.name, type };
}

const DAY_SECONDS = 86_400;

/** The retention, checked: whole days from 1 to MAX_TRAFFIC_RETENTION_DAYS (an unresolved token is taken as is). */
function validTrafficRetention(retention: Duration | undefined): Duration {
  if (retention === undefined) return Duration.days(DEFAULT_TRAFFIC_RETENTION_DAYS);
  if (retention.isUnresolved()) return retention;
  const seconds = retention.toSeconds({ integral: false });
  if (!(seconds % DAY_SECONDS === 0 && seconds >= DAY_SECONDS && seconds <= MAX_TRAFFIC_RETENTION_DAYS * DAY_SECONDS)) {
    throw new Error(
      `trafficRetention must be a whole number of days from 1 to ${MAX_TRAFFIC_RETENTION_DAYS}, got ${retention.toHumanString()}`,
    );
  }
  return retention;
}

/** A named index rather than `index/*`: the grant covers exactly the indexes the schema defines. */
function indexArn(table: dynamodb.ITable, indexName: string): string {
  return `${table.tableArn}/index/${indexName}`;
}
