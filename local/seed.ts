import { AdminApiError, AdminClient } from '../cli/admin-client';
import { demoFile, DemoSeed, readJson, writeJson } from './state';

/**
 * The demo data of a first start, created through the admin API (so it is validated and audited like any
 * change): organization `demo-org` with an enabled allowlist of 127.0.0.1 only, project `demo-project`, and one
 * API key. The key is kept in .local/demo.json so a restart reuses it and prints the same commands.
 */

export const DEMO_ORGANIZATION = 'demo-org';
export const DEMO_PROJECT = 'demo-project';
export const DEMO_ALLOWED_IP = '127.0.0.1';

export interface SeedOptions {
  readonly adminUrl: string;
  readonly stateDir: string;
  /** Keep the key for the next start (false with --in-memory: the data dies with the process). */
  readonly persist: boolean;
  readonly log: (line: string) => void;
}

export async function seedDemo(options: SeedOptions): Promise<DemoSeed> {
  const client = new AdminClient({ endpoint: options.adminUrl, sign: false, localUser: 'seed' });
  const saved = options.persist ? readJson<DemoSeed>(demoFile(options.stateDir)) : undefined;
  if (saved?.key && saved.keyId) {
    try {
      const key = await client.getKey(saved.organizationId, saved.projectId, saved.keyId);
      if (key.body.status === 'active') return saved;
    } catch (err) {
      if (!(err instanceof AdminApiError) || err.status !== 404) throw err;
    }
  }

  const created = await client.createKey(DEMO_ORGANIZATION, DEMO_PROJECT, 'demo');
  const current = await client.getAllowlist({ org: DEMO_ORGANIZATION });
  if (current.body.entries.length === 0) {
    await client.replaceAllowlist(
      { org: DEMO_ORGANIZATION },
      [{ value: DEMO_ALLOWED_IP, description: 'local demo: this machine over IPv4 loopback' }],
      true,
    );
  }
  const demo: DemoSeed = {
    organizationId: DEMO_ORGANIZATION,
    projectId: DEMO_PROJECT,
    keyId: created.body.id,
    key: created.body.key,
    allowedIp: DEMO_ALLOWED_IP,
  };
  if (options.persist) writeJson(demoFile(options.stateDir), demo, 0o600);
  options.log(`seeded organization ${DEMO_ORGANIZATION}, project ${DEMO_PROJECT} and API key ${demo.keyId}`);
  return demo;
}
