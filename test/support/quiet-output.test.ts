import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

/**
 * `npm test` prints no warning a newcomer would wonder about: not the AWS SDK's Node.js-version warning (from test
 * files or child processes), not a ts-jest deprecation of our jest config. A jest of its own, with the repository's
 * config, runs one representative test file (test/support/fixtures/quiet-output.fixture.ts); its whole output must
 * hold no warning. It reuses this run's DynamoDB Local (test/support/global-setup.ts).
 */
const root = path.join(__dirname, '..', '..');

test('a jest run with the repository config prints no warning, from the test process or a child process', () => {
  const run = spawnSync(
    process.execPath,
    [
      require.resolve('jest/bin/jest'),
      '--ci',
      '--runInBand',
      '--no-cache',
      '--testMatch',
      '<rootDir>/test/support/fixtures/quiet-output.fixture.ts',
    ],
    { cwd: root, env: process.env, encoding: 'utf8', timeout: 60_000 },
  );
  const output = `${run.stdout}${run.stderr}`;

  expect(output).toContain('Tests:       1 passed, 1 total');
  expect(output.split('\n').filter((line) => /warn|deprecat/i.test(line))).toEqual([]);
  expect(run.status).toBe(0);
});
