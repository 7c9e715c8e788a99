import * as fs from 'node:fs';
import * as path from 'node:path';
import { MAX_PROPAGATION_DELAY_SECONDS, propagationDelayFault, splitPropagationDelay } from '../../lib/contract';
import { loadAdminConfig } from '../../lambda/admin/config';
import { parseStartArgs } from '../../local/main';

const LIB = path.join(__dirname, '..', '..', 'lib');

describe('the propagation delay rule, checked in one place', () => {
  test.each([0, 1, 300, 3600])('%p seconds is a propagation delay', (seconds) => {
    expect(propagationDelayFault(seconds)).toBeUndefined();
  });

  test.each([
    [-1, 'out of range'],
    [3601, 'out of range'],
    [Number.NaN, 'out of range'],
    [1.5, 'not whole seconds'],
  ])('%p seconds is %s', (seconds, fault) => {
    expect(propagationDelayFault(seconds)).toBe(fault);
  });

  test('the split, the admin Lambda and local mode all take 3600 and refuse 3601', () => {
    const tables = { ALLOWLISTS_TABLE_NAME: 'a', API_KEYS_TABLE_NAME: 'k', AUDIT_LOG_TABLE_NAME: 'l' };
    const over = String(MAX_PROPAGATION_DELAY_SECONDS + 1);

    expect(splitPropagationDelay(3600).gatewayTtlSeconds).toBe(3596);
    expect(loadAdminConfig({ ...tables, PROPAGATION_DELAY_SECONDS: '3600' }).propagationDelaySeconds).toBe(3600);
    expect(parseStartArgs(['--ttl', '3600']).propagationDelaySeconds).toBe(3600);

    expect(() => splitPropagationDelay(3601)).toThrow('between 0 and 3600, got 3601');
    expect(() => loadAdminConfig({ ...tables, PROPAGATION_DELAY_SECONDS: over })).toThrow(
      'PROPAGATION_DELAY_SECONDS must be a whole number from 0 to 3600, got "3601"',
    );
    expect(() => loadAdminConfig({ ...tables, GATEWAY_TTL_SECONDS: over })).toThrow(
      'GATEWAY_TTL_SECONDS must be a whole number from 0 to 3600',
    );
    expect(() => parseStartArgs(['--ttl', over])).toThrow('--ttl must be a whole number of seconds from 0 to 3600');
  });
});

test('lib/ takes its constants from lib/contract.ts: from lambda/ it imports only the allowlist core and the error wording', () => {
  const imported = new Set<string>();
  for (const file of fs.readdirSync(LIB).filter((f) => f.endsWith('.ts'))) {
    const text = fs.readFileSync(path.join(LIB, file), 'utf8');
    for (const m of text.matchAll(/from '(\.\.\/lambda\/[^']+)'/g)) imported.add(`${file} <- ${m[1]}`);
  }

  expect([...imported].sort()).toEqual([
    'core.ts <- ../lambda/core/allowlist',
    'gateway-responses.ts <- ../lambda/core/errors',
  ]);
});
