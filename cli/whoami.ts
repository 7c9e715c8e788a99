import { AdminApiError, AdminClient, WhoamiView } from './admin-client';

/**
 * `cdk-ip-allowlist whoami` and the address `allowlist check --me` checks: the caller as the admin API sees it
 * (`GET /v1/whoami`). That is the address API Gateway reports for the admin API; docs/doctor.md says when the
 * protected API sees another one.
 */

export type { WhoamiView };

export async function fetchWhoami(client: AdminClient): Promise<WhoamiView> {
  return (await client.whoami()).body;
}

/** The address `check --me` checks: whoami's canonical form. */
export async function myAddress(client: AdminClient): Promise<string> {
  const me = await fetchWhoami(client);
  if (me.ip === null) {
    throw new AdminApiError(
      `the admin API reported no usable source address (sourceIp ${JSON.stringify(me.sourceIp)}): give the IP to check`,
      undefined,
      'no_source_ip',
      me,
    );
  }
  return me.ip;
}

export function formatWhoami(me: WhoamiView): string {
  const family = me.family === 'ipv6' ? 'IPv6' : 'IPv4';
  const address =
    me.ip === null
      ? `${me.sourceIp ?? '(none)'}  (not an IP address: API Gateway reported no usable source address)`
      : me.sourceIp !== me.ip
        ? `${me.ip}  (${family}; API Gateway reported ${me.sourceIp})`
        : `${me.ip}  (${family})`;
  return (
    `source IP  ${address}\n` +
    `principal  ${me.principal}\n` +
    'This is the address the admin API sees. The protected API sees the same one only if you reach it the same ' +
    'way (see docs/doctor.md).\n'
  );
}

export async function whoamiCommand(
  client: AdminClient,
  io: { readonly stdout: (text: string) => void },
  json: boolean,
): Promise<number> {
  const me = await fetchWhoami(client);
  io.stdout(json ? `${JSON.stringify(me, null, 2)}\n` : formatWhoami(me));
  return 0;
}
