import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { AllowlistTables } from '../../lib';
import { API_KEYS_BY_PROJECT_INDEX, TABLE_SCHEMAS, TRAFFIC_TABLE } from '../../lambda/adapters/schema';
import { TRAFFIC_BY_LAST_SEEN_INDEX } from '../../lib/contract';
import { actionsOf, newStack, resourcesOf, resourcesOfType, statementsOfRole, TempOutdirs } from './synth-helpers';

const outdirs = new TempOutdirs();
afterAll(() => outdirs.cleanup());

function synthTables(props: ConstructorParameters<typeof AllowlistTables>[2] = {}) {
  const stack = newStack(outdirs);
  const tables = new AllowlistTables(stack, 'Tables', props);
  const role = new iam.Role(stack, 'Grantee', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
  return { stack, tables, role };
}

function logicalIdOf(stack: ReturnType<typeof newStack>, construct: { node: { defaultChild?: unknown } }): string {
  return stack.getLogicalId(construct.node.defaultChild as import('aws-cdk-lib').CfnElement);
}

/** Every table the construct creates: the three of TABLE_SCHEMAS and the Traffic table. */
const ALL_SCHEMAS = [...TABLE_SCHEMAS, TRAFFIC_TABLE];

describe('AllowlistTables', () => {
  test('creates one table per schema in lambda/adapters/schema.ts, with its keys and indexes', () => {
    const { stack, tables } = synthTables();
    const template = Template.fromStack(stack);

    template.resourceCountIs('AWS::DynamoDB::Table', ALL_SCHEMAS.length);
    for (const schema of ALL_SCHEMAS) {
      const table = tables.node.findChild(schema.logicalName);
      const tableId = logicalIdOf(stack, table);
      const keySchema = [{ AttributeName: schema.partitionKey.name, KeyType: 'HASH' }];
      if (schema.sortKey) keySchema.push({ AttributeName: schema.sortKey.name, KeyType: 'RANGE' });
      const expected: Record<string, unknown> = { KeySchema: keySchema };
      if (schema.timeToLiveAttribute) {
        expected.TimeToLiveSpecification = { AttributeName: schema.timeToLiveAttribute, Enabled: true };
      }
      if (schema.globalSecondaryIndexes) {
        expected.GlobalSecondaryIndexes = schema.globalSecondaryIndexes.map((index) =>
          Match.objectLike({
            IndexName: index.indexName,
            KeySchema: [
              { AttributeName: index.partitionKey.name, KeyType: 'HASH' },
              ...(index.sortKey ? [{ AttributeName: index.sortKey.name, KeyType: 'RANGE' }] : []),
            ],
            Projection: { ProjectionType: 'ALL' },
          }),
        );
      }
      // The construct id is the schema's logical name, so the table is found under it.
      expect(Object.keys(template.findResources('AWS::DynamoDB::Table', { Properties: expected }))).toEqual([tableId]);
    }
  });

  test('tables are on-demand, encrypted and have point-in-time recovery', () => {
    const { stack } = synthTables();
    const template = Template.fromStack(stack);

    for (const [, table] of resourcesOfType(template, 'AWS::DynamoDB::Table')) {
      expect(table.Properties.BillingMode).toBe('PAY_PER_REQUEST');
      expect(table.Properties.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
      expect(table.Properties.SSESpecification).toEqual({ SSEEnabled: true });
    }
  });

  test('tables are retained by default', () => {
    const { stack } = synthTables();
    const template = Template.fromStack(stack);

    const tables = template.findResources('AWS::DynamoDB::Table');
    expect(Object.values(tables).map((t) => [t.DeletionPolicy, t.UpdateReplacePolicy])).toEqual(
      ALL_SCHEMAS.map(() => ['Retain', 'Retain']),
    );
  });

  test('removalPolicy DESTROY deletes the tables with the stack', () => {
    const { stack } = synthTables({ removalPolicy: RemovalPolicy.DESTROY });
    const template = Template.fromStack(stack);

    const tables = template.findResources('AWS::DynamoDB::Table');
    expect(Object.values(tables).map((t) => t.DeletionPolicy)).toEqual(ALL_SCHEMAS.map(() => 'Delete'));
  });

  test('deletionProtection is off unless asked for', () => {
    const off = Template.fromStack(synthTables().stack);
    const on = Template.fromStack(synthTables({ deletionProtection: true }).stack);

    expect(resourcesOfType(off, 'AWS::DynamoDB::Table').map(([, t]) => t.Properties.DeletionProtectionEnabled)).toEqual(
      [false, false, false, false],
    );
    expect(resourcesOfType(on, 'AWS::DynamoDB::Table').map(([, t]) => t.Properties.DeletionProtectionEnabled)).toEqual([
      true,
      true,
      true,
      true,
    ]);
  });

  test('a customer-managed key encrypts every table and is included in grants', () => {
    const stack = newStack(outdirs);
    const key = new kms.Key(stack, 'Key');
    const tables = new AllowlistTables(stack, 'Tables', { encryptionKey: key });
    const role = new iam.Role(stack, 'Grantee', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    tables.grantRead(role);
    const template = Template.fromStack(stack);

    const keyId = stack.getLogicalId(key.node.defaultChild as import('aws-cdk-lib').CfnElement);
    for (const [, table] of resourcesOfType(template, 'AWS::DynamoDB::Table')) {
      expect(table.Properties.SSESpecification).toEqual({
        SSEEnabled: true,
        SSEType: 'KMS',
        KMSMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] },
      });
    }
    const kmsStatements = statementsOfRole(
      template,
      stack.getLogicalId(role.node.defaultChild as import('aws-cdk-lib').CfnElement),
    ).filter((s) => actionsOf(s).some((a) => a.startsWith('kms:')));
    expect(kmsStatements).toEqual([
      { Effect: 'Allow', Action: 'kms:Decrypt', Resource: { 'Fn::GetAtt': [keyId, 'Arn'] } },
    ]);
  });

  test('grantRead allows GetItem, BatchGetItem and Query on the allowlists and API keys tables and the byProject index only', () => {
    const { stack, tables, role } = synthTables();
    tables.grantRead(role);
    const template = Template.fromStack(stack);

    const statements = statementsOfRole(template, logicalIdOf(stack, role));
    expect(statements).toHaveLength(1);
    expect(actionsOf(statements[0]).sort()).toEqual(['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:Query']);
    const allowlists = logicalIdOf(stack, tables.allowlistsTable);
    const apiKeys = logicalIdOf(stack, tables.apiKeysTable);
    expect(resourcesOf(statements[0])).toEqual([
      { 'Fn::GetAtt': [allowlists, 'Arn'] },
      { 'Fn::GetAtt': [apiKeys, 'Arn'] },
      { 'Fn::Join': ['', [{ 'Fn::GetAtt': [apiKeys, 'Arn'] }, `/index/${API_KEYS_BY_PROJECT_INDEX}`]] },
    ]);
  });

  test('grantReadWrite allows item reads and writes on every table, the Traffic table and its index included, never Scan or table administration', () => {
    const { stack, tables, role } = synthTables();
    tables.grantReadWrite(role);
    const template = Template.fromStack(stack);

    const statements = statementsOfRole(template, logicalIdOf(stack, role));
    const allActions = statements.flatMap(actionsOf).sort();
    expect(allActions).toEqual([
      'dynamodb:BatchGetItem',
      'dynamodb:BatchWriteItem',
      'dynamodb:ConditionCheckItem',
      'dynamodb:DeleteItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:Query',
      'dynamodb:UpdateItem',
    ]);
    const tableArns = [tables.allowlistsTable, tables.apiKeysTable, tables.auditLogTable, tables.trafficTable!].map(
      (t) => ({ 'Fn::GetAtt': [logicalIdOf(stack, t), 'Arn'] }),
    );
    const writes = statements.find((s) => actionsOf(s).includes('dynamodb:PutItem'))!;
    expect(resourcesOf(writes)).toEqual(tableArns);
    const reads = statements.find((s) => actionsOf(s).includes('dynamodb:Query'))!;
    expect(resourcesOf(reads)).toEqual(
      expect.arrayContaining([
        ...tableArns,
        {
          'Fn::Join': [
            '',
            [
              { 'Fn::GetAtt': [logicalIdOf(stack, tables.trafficTable!), 'Arn'] },
              `/index/${TRAFFIC_BY_LAST_SEEN_INDEX}`,
            ],
          ],
        },
      ]),
    );
  });
});

describe('AllowlistTables: the Traffic table', () => {
  test('keeps sightings 30 days by default: the table expires items by expiresAt, and the retention is exposed', () => {
    const { stack, tables } = synthTables();
    const template = Template.fromStack(stack);

    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    });
    expect(tables.trafficRetention!.toDays()).toBe(30);
    // Only the Traffic table expires items: allowlists, keys and the audit trail are kept.
    const withTtl = resourcesOfType(template, 'AWS::DynamoDB::Table').filter(
      ([, t]) => t.Properties.TimeToLiveSpecification !== undefined,
    );
    expect(withTtl.map(([id]) => id)).toEqual([logicalIdOf(stack, tables.trafficTable!)]);
  });

  test('trafficRetention takes whole days from 1 to 365 and names the prop otherwise', () => {
    expect(synthTables({ trafficRetention: Duration.days(1) }).tables.trafficRetention!.toDays()).toBe(1);
    expect(synthTables({ trafficRetention: Duration.days(365) }).tables.trafficRetention!.toDays()).toBe(365);
    expect(() => synthTables({ trafficRetention: Duration.days(366) })).toThrow(
      'trafficRetention must be a whole number of days from 1 to 365, got 366 days',
    );
    expect(() => synthTables({ trafficRetention: Duration.hours(36) })).toThrow(
      'trafficRetention must be a whole number of days from 1 to 365, got 1 day 12 hours',
    );
    expect(() => synthTables({ trafficRetention: Duration.hours(12) })).toThrow(/^trafficRetention must be/);
  });

  test('imported tables may come with or without a Traffic table; a retention without one is refused', () => {
    const stack = newStack(outdirs);
    const without = AllowlistTables.fromTableNames(stack, 'Old', {
      allowlistsTableName: 'a',
      apiKeysTableName: 'k',
      auditLogTableName: 'l',
    });
    expect(without.trafficTable).toBeUndefined();
    expect(without.trafficRetention).toBeUndefined();
    const withTraffic = AllowlistTables.fromTableNames(stack, 'New', {
      allowlistsTableName: 'a',
      apiKeysTableName: 'k',
      auditLogTableName: 'l',
      trafficTableName: 't',
      trafficRetention: Duration.days(7),
    });
    expect(withTraffic.trafficTable?.tableName).toBe('t');
    expect(withTraffic.trafficRetention?.toDays()).toBe(7);
    const defaulted = AllowlistTables.fromTables(stack, 'Attrs', {
      allowlistsTable: withTraffic.allowlistsTable,
      apiKeysTable: withTraffic.apiKeysTable,
      auditLogTable: withTraffic.auditLogTable,
      trafficTable: withTraffic.trafficTable,
    });
    expect(defaulted.trafficRetention?.toDays()).toBe(30);
    expect(() =>
      AllowlistTables.fromTableNames(stack, 'Bad', {
        allowlistsTableName: 'a',
        apiKeysTableName: 'k',
        auditLogTableName: 'l',
        trafficRetention: Duration.days(7),
      }),
    ).toThrow('trafficRetention has no effect without a Traffic table (trafficTable or trafficTableName)');
    expect(() =>
      AllowlistTables.fromTableNames(stack, 'TooLong', {
        allowlistsTableName: 'a',
        apiKeysTableName: 'k',
        auditLogTableName: 'l',
        trafficTableName: 't',
        trafficRetention: Duration.days(400),
      }),
    ).toThrow('trafficRetention must be a whole number of days from 1 to 365, got 400 days');
  });

  test("grantRead does not cover the Traffic table: what callers saw is not an allowlist reader's business", () => {
    const { stack, tables, role } = synthTables();
    tables.grantRead(role);
    const template = Template.fromStack(stack);

    const traffic = logicalIdOf(stack, tables.trafficTable!);
    const resources = statementsOfRole(template, logicalIdOf(stack, role)).flatMap(resourcesOf);
    expect(JSON.stringify(resources)).not.toContain(traffic);
  });
});
