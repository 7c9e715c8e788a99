import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { API_KEYS_BY_PROJECT_INDEX, AttributeSchema, TABLE_SCHEMAS, TableSchema } from '../lambda/adapters/schema';

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
 * The DynamoDB tables behind the IP allowlist: `Allowlists` (organization and project lists), `ApiKeys` (key
 * hashes, with the `byProject` index) and `AuditLog`. The layout is lambda/adapters/schema.ts, which the
 * handlers, the tests and the local mode read too.
 *
 * Every table is on-demand, encrypted, and has point-in-time recovery.
 */
export class AllowlistTables extends Construct {
  /** Organization and project allowlists. */
  public readonly allowlistsTable: dynamodb.Table;
  /** API keys, stored as SHA-256 hashes of the secret. */
  public readonly apiKeysTable: dynamodb.Table;
  /** Every change made through the admin API: who, when, before and after. */
  public readonly auditLogTable: dynamodb.Table;
  /** The customer-managed key, when one was given. */
  public readonly encryptionKey?: kms.IKey;

  constructor(scope: Construct, id: string, props: AllowlistTablesProps = {}) {
    super(scope, id);
    this.encryptionKey = props.encryptionKey;
    const tables = new Map<TableSchema['logicalName'], dynamodb.Table>();
    for (const schema of TABLE_SCHEMAS) {
      tables.set(schema.logicalName, this.createTable(schema, props));
    }
    this.allowlistsTable = tables.get('Allowlists')!;
    this.apiKeysTable = tables.get('ApiKeys')!;
    this.auditLogTable = tables.get('AuditLog')!;
  }

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
   * Lets `grantee` read and write items in all three tables (and query their indexes). For your own tools; the
   * admin API gets only the actions it calls, and the audit log stays append-only for it (lib/table-access.ts).
   */
  public grantReadWrite(grantee: iam.IGrantable): iam.Grant {
    const tableArns = [this.allowlistsTable.tableArn, this.apiKeysTable.tableArn, this.auditLogTable.tableArn];
    const grant = iam.Grant.addToPrincipal({
      grantee,
      actions: READ_ACTIONS,
      resourceArns: [...tableArns, indexArn(this.apiKeysTable, API_KEYS_BY_PROJECT_INDEX)],
    }).combine(iam.Grant.addToPrincipal({ grantee, actions: WRITE_ACTIONS, resourceArns: tableArns }));
    this.encryptionKey?.grantEncryptDecrypt(grantee);
    return grant;
  }

  private createTable(schema: TableSchema, props: AllowlistTablesProps): dynamodb.Table {
    const table = new dynamodb.Table(this, schema.logicalName, {
      partitionKey: attribute(schema.partitionKey),
      sortKey: schema.sortKey && attribute(schema.sortKey),
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: props.encryptionKey ? dynamodb.TableEncryption.CUSTOMER_MANAGED : dynamodb.TableEncryption.AWS_MANAGED,
      encryptionKey: props.encryptionKey,
      deletionProtection: props.deletionProtection ?? false,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
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

/** A named index rather than `index/*`: the grant covers exactly the indexes the schema defines. */
function indexArn(table: dynamodb.ITable, indexName: string): string {
  return `${table.tableArn}/index/${indexName}`;
}
