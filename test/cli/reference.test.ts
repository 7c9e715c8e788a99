import * as fs from 'node:fs';
import { DOC_FILE, renderReference, withReference } from '../../cli/reference';
import { commandTree, buildProgram } from '../../cli/main';

/* docs/cli.md's command reference is the commander definitions' own help: it cannot drift from `--help`. */

test('the command reference in docs/cli.md is the help of the current definitions (npm run docs:cli)', () => {
  // prepare
  const page = fs.readFileSync(DOC_FILE, 'utf8');

  // act
  const regenerated = withReference(page, renderReference());

  // assess
  expect(page).toBe(regenerated);
});

test('the reference has a section for every command, and only those', () => {
  // prepare
  const program = buildProgram(() => () => Promise.resolve(), { writeOut: () => undefined, writeErr: () => undefined });

  // act
  const headings = [...fs.readFileSync(DOC_FILE, 'utf8').matchAll(/^### `(cdk-ip-allowlist[^`]*)`$/gm)].map(
    (m) => m[1],
  );

  // assess
  expect(headings).toHaveLength(commandTree(program).length);
  expect(headings).toEqual(
    expect.arrayContaining(['cdk-ip-allowlist allowlist check', 'cdk-ip-allowlist keys revoke']),
  );
});
