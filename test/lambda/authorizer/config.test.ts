import { loadAuthorizerConfig } from '../../../lambda/authorizer/config';
import { MAX_MEMORY_TTL_SECONDS } from '../../../lambda/core/propagation';

const TABLES = { ALLOWLISTS_TABLE_NAME: 'Allowlists-1', API_KEYS_TABLE_NAME: 'ApiKeys-1' };

describe('loadAuthorizerConfig', () => {
  test('reads the table names, header and memory TTL the construct sets', () => {
    expect(loadAuthorizerConfig({ ...TABLES, API_KEY_HEADER: 'X-Api-Key', MEMORY_CACHE_TTL_SECONDS: '1' })).toEqual({
      allowlistsTableName: 'Allowlists-1',
      apiKeysTableName: 'ApiKeys-1',
      apiKeyHeader: 'x-api-key',
      memoryCacheTtlSeconds: 1,
      maxDecisionAgeSeconds: 4,
      trafficTableName: undefined,
      trafficRetentionSeconds: 30 * 86_400,
    });
    expect(
      loadAuthorizerConfig({ ...TABLES, MAX_DECISION_AGE_SECONDS: '2', MEMORY_CACHE_TTL_SECONDS: '1' }),
    ).toMatchObject({
      maxDecisionAgeSeconds: 2,
    });
  });

  test('the Traffic table and its retention; without the table nothing is recorded', () => {
    expect(
      loadAuthorizerConfig({ ...TABLES, TRAFFIC_TABLE_NAME: 'Traffic-1', TRAFFIC_RETENTION_SECONDS: '86400' }),
    ).toMatchObject({ trafficTableName: 'Traffic-1', trafficRetentionSeconds: 86_400 });
    expect(loadAuthorizerConfig({ ...TABLES, TRAFFIC_TABLE_NAME: ' ' })).toMatchObject({ trafficTableName: undefined });
  });

  test('defaults: Authorization header, no in-memory cache', () => {
    expect(loadAuthorizerConfig(TABLES)).toMatchObject({ apiKeyHeader: 'authorization', memoryCacheTtlSeconds: 0 });
  });

  test.each([
    [
      { ...TABLES, MAX_DECISION_AGE_SECONDS: '5' },
      /MAX_DECISION_AGE_SECONDS must be a whole number of seconds from 1 to 4, got "5"/,
    ],
    [{ ...TABLES, MAX_DECISION_AGE_SECONDS: '0' }, /MAX_DECISION_AGE_SECONDS/],
    [
      { ...TABLES, MAX_DECISION_AGE_SECONDS: '2', MEMORY_CACHE_TTL_SECONDS: '2' },
      /must be at most half of MAX_DECISION_AGE_SECONDS/,
    ],
    [{ API_KEYS_TABLE_NAME: 'k' }, /ALLOWLISTS_TABLE_NAME is required/],
    [{ ALLOWLISTS_TABLE_NAME: 'a', API_KEYS_TABLE_NAME: '  ' }, /API_KEYS_TABLE_NAME is required/],
    [{ ...TABLES, API_KEY_HEADER: 'Bad Header' }, /API_KEY_HEADER must be an HTTP header name, got "Bad Header"/],
    [
      { ...TABLES, MEMORY_CACHE_TTL_SECONDS: 'ten' },
      /MEMORY_CACHE_TTL_SECONDS must be a whole number of seconds from 0 to \d+, got "ten"/,
    ],
    [{ ...TABLES, MEMORY_CACHE_TTL_SECONDS: '-1' }, /MEMORY_CACHE_TTL_SECONDS/],
    [{ ...TABLES, MEMORY_CACHE_TTL_SECONDS: '1.5' }, /MEMORY_CACHE_TTL_SECONDS/],
    // Longer than the budget's memory share would break the propagation-delay guarantee.
    [
      { ...TABLES, MEMORY_CACHE_TTL_SECONDS: String(MAX_MEMORY_TTL_SECONDS + 1) },
      new RegExp(`from 0 to ${MAX_MEMORY_TTL_SECONDS}, got "${MAX_MEMORY_TTL_SECONDS + 1}"`),
    ],
    [
      { ...TABLES, TRAFFIC_RETENTION_SECONDS: '3600' },
      /TRAFFIC_RETENTION_SECONDS must be a whole number of seconds from 86400 to 31536000, got "3600"/,
    ],
    [{ ...TABLES, TRAFFIC_RETENTION_SECONDS: '30d' }, /TRAFFIC_RETENTION_SECONDS/],
  ])('rejects %p with a message naming the variable', (env, message) => {
    expect(() => loadAuthorizerConfig(env)).toThrow(message);
  });
});
