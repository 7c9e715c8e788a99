import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { createTables, localClient, testEndpoint, uniquePrefix } from './dynamodb-local';

test('the global DynamoDB Local answers and the product tables can be created from the shared schema', async () => {
  const client = localClient(testEndpoint());
  const names = await createTables(client, uniquePrefix('smoke'));
  const keys = await client.send(new DescribeTableCommand({ TableName: names.apiKeys }));
  expect(keys.Table?.GlobalSecondaryIndexes?.[0].IndexName).toBe('byProject');
  client.destroy();
});
