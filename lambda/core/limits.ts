/*
 * Limits shared by the constructs (lib/) and the handlers. Dependency-free on purpose: lib/ imports it, and
 * whatever lib/ imports ships in the package and runs in a consumer's `cdk synth`, where only aws-cdk-lib and
 * constructs are installed (test/package/package.test.ts follows those imports).
 */

/** The most entries one allowlist may hold when the construct is not told otherwise. */
export const DEFAULT_MAX_ENTRIES = 50;
/** The highest `maxEntries` a construct accepts. */
export const MAX_MAX_ENTRIES = 1000;
