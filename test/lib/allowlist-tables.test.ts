import { RemovalPolicy } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { AllowlistTables } from '../../lib';
import { API_KEYS_BY_PROJECT_INDEX, TABLE_SCHEMAS } from '../../lambda/adapters/schema';
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

describe('AllowlistTables', () => {
  test('creates one table per schema in lambda/adapters/schema.ts, with its keys and indexes', () => {
    const { stack, tables } = synthTables();
    const template = Template.fromStack(stack);

    template.resourceCountIs('AWS::DynamoDB::Table', TABLE_SCHEMAS.length);
    for (const schema of TABLE_SCHEMAS) {
      const table = tables.node.findChild(schema.logicalName);
      const tableId = logicalIdOf(stack, table);
      const keySchema = [{ AttributeName: schema.partitionKey.name, KeyType: 'HASH' }];
      if (schema.sortKey) keySchema.push({ AttributeName: schema.sortKey.name, KeyType: 'RANGE' });
      const expected: Record<string, unknown> = { KeySchema: keySchema };
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
      TABLE_SCHEMAS.map(() => ['Retain', 'Retain']),
    );
  });

  test('removalPolicy DESTROY deletes the tables with the stack', () => {
    const { stack } = synthTables({ removalPolicy: RemovalPolicy.DESTROY });
    const template = Template.fromStack(stack);

    const tables = template.findResources('AWS::DynamoDB::Table');
    expect(Object.values(tables).map((t) => t.DeletionPolicy)).toEqual(TABLE_SCHEMAS.map(() => 'Delete'));
  });

  test('deletionProtection is off unless asked for', () => {
    const off = Template.fromStack(synthTables().stack);
    const on = Template.fromStack(synthTables({ deletionProtection: true }).stack);

    expect(resourcesOfType(off, 'AWS::DynamoDB::Table').map(([, t]) => t.Properties.DeletionProtectionEnabled)).toEqual(
      [false, false, false],
    );
    expect(resourcesOfType(on, 'AWS::DynamoDB::Table').map(([, t]) => t.Properties.DeletionProtectionEnabled)).toEqual([
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

  test('grantReadWrite allows item reads and writes on all three tables, never Scan or table administration', () => {
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
    const tableArns = [tables.allowlistsTable, tables.apiKeysTable, tables.auditLogTable].map((t) => ({
      'Fn::GetAtt': [logicalIdOf(stack, t), 'Arn'],
    }));
    const writes = statements.find((s) => actionsOf(s).includes('dynamodb:PutItem'))!;
    expect(resourcesOf(writes)).toEqual(tableArns);
    const reads = statements.find((s) => actionsOf(s).includes('dynamodb:Query'))!;
    expect(resourcesOf(reads)).toEqual(expect.arrayContaining(tableArns));
  });
});
