import * as fs from 'node:fs';
import * as path from 'node:path';
import * as entry from '../../lib';
import * as core from '../../lib/core';
import { assetDirectory, packageRoot } from '../../lib/assets';

describe('package entry (lib/index.ts)', () => {
  test('exports the constructs', () => {
    for (const name of ['AllowlistTables', 'IpAllowlistAuthorizer', 'IpAllowlistedApi', 'Upstream']) {
      expect(typeof (entry as Record<string, unknown>)[name]).toBe('function');
    }
  });

  // Constants, which jsii also drops silently, are caught by test/package/jsii.test.ts (exports = the assembly's
  // classes and enums): an enum and a constant object look alike at run time.
  test('exports no free function and no Error subclass (jsii cannot carry them to Python, Java, .NET or Go)', () => {
    const functions = Object.entries(entry).filter(([, value]) => typeof value === 'function');

    expect(functions.length).toBeGreaterThanOrEqual(5);
    for (const [name, value] of functions) {
      expect({ name, isClass: /^class\b/.test(Function.prototype.toString.call(value)) }).toEqual({
        name,
        isClass: true,
      });
      expect({ name, extendsError: (value as { prototype?: unknown }).prototype instanceof Error }).toEqual({
        name,
        extendsError: false,
      });
    }
  });
});

describe('cdk-ip-allowlist/core (lib/core.ts, the TypeScript-only sub-path)', () => {
  test('exports the allowlist core under its names', () => {
    expect(core.normalizeAllowlistEntry(' 10.0.0.1 ')).toBe('10.0.0.1/32');
    expect(core.compileAllowlist(['10.0.0.0/8']).match('10.1.2.3')).toBe('10.0.0.0/8');
    expect(() => core.normalizeAllowlistEntry('not an ip')).toThrow(core.AllowlistEntryError);
    expect(core.familiesCoveredBy(['0.0.0.0/1', '128.0.0.0/1'])).toEqual([
      { family: 4, entries: ['0.0.0.0/1', '128.0.0.0/1'] },
    ]);
  });
});

describe('pre-bundled Lambda assets', () => {
  test('the package root is the folder whose package.json is cdk-ip-allowlist', () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8'));

    expect(manifest.name).toBe('cdk-ip-allowlist');
  });

  test('a handler bundle is found under assets/<name>', () => {
    expect(assetDirectory('authorizer')).toBe(path.join(packageRoot(), 'assets', 'authorizer'));
  });

  test('a missing bundle fails with the command that builds it', () => {
    expect(() => assetDirectory('no-such-handler')).toThrow(
      /Lambda bundle "no-such-handler" is missing .*run `npm run build`/,
    );
  });
});
