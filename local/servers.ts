import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * HTTP servers bound to loopback only: 127.0.0.1 and, where the machine has IPv6, ::1 on the same port, so a
 * caller can reach local mode over either family (and tests can call from ::1) while nothing outside the
 * machine can.
 */

export interface LoopbackServer {
  readonly port: number;
  /** The addresses actually listened on. */
  readonly hosts: readonly string[];
  close(): Promise<void>;
}

export class PortInUseError extends Error {
  constructor(readonly port: number) {
    super(`port ${port} is already in use on 127.0.0.1 (pick another, or 0 for a free one)`);
    this.name = 'PortInUseError';
  }
}

export async function listenLoopback(listener: http.RequestListener, port: number): Promise<LoopbackServer> {
  // The IPv6 side may find the kernel's free IPv4 port taken on ::1; then start over with a new one.
  for (let attempt = 0; ; attempt++) {
    const v4 = http.createServer(listener);
    const chosen = await listen(v4, port, '127.0.0.1').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') throw new PortInUseError(port);
      throw err;
    });
    const servers = [v4];
    const hosts = ['127.0.0.1'];
    const v6 = http.createServer(listener);
    try {
      await listen(v6, chosen, '::1');
      servers.push(v6);
      hosts.push('::1');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE') {
        await closeServer(v4);
        if (port !== 0 || attempt >= 5) throw new PortInUseError(chosen);
        continue;
      }
      // EADDRNOTAVAIL / EAFNOSUPPORT: the machine has no IPv6 loopback; IPv4 alone will do.
    }
    for (const s of servers) {
      // Clients that keep connections alive must not hold a stopping local mode open.
      s.keepAliveTimeout = 5000;
    }
    return {
      port: chosen,
      hosts,
      close: () => Promise.all(servers.map(closeServer)).then(() => undefined),
    };
  }
}

function listen(server: http.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen({ port, host, ipv6Only: host === '::1' }, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
