import * as http from 'node:http';
import type { GatewayEmulator } from './gateway';

/**
 * The slice of the API Gateway management API that the admin Lambda calls: FlushStageAuthorizersCache
 * (`DELETE /restapis/{restApiId}/stages/{stageName}/cache/authorizers`). Local mode points the Lambdas at it
 * through AWS_ENDPOINT_URL_API_GATEWAY. Requests are not signature-checked (local mode has no IAM).
 */
export function controlPlaneListener(emulators: readonly GatewayEmulator[]): http.RequestListener {
  return (req, res) => {
    const reply = (status: number, body: unknown, errorType?: string) => {
      const text = JSON.stringify(body);
      res.writeHead(status, {
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(text)),
        ...(errorType ? { 'x-amzn-errortype': errorType } : {}),
      });
      res.end(text);
    };
    req.resume();
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://local');
      const m = /^\/restapis\/([^/]+)\/stages\/([^/]+)\/cache\/authorizers\/?$/.exec(url.pathname);
      if (!m || req.method !== 'DELETE') {
        return reply(
          404,
          { message: `local mode does not emulate ${req.method} ${url.pathname}` },
          'NotFoundException',
        );
      }
      const [restApiId, stageName] = [decodeURIComponent(m[1]), decodeURIComponent(m[2])];
      const target = emulators.find((e) => e.api.apiId === restApiId);
      if (!target) return reply(404, { message: 'Invalid API identifier specified' }, 'NotFoundException');
      if (target.api.stageName !== stageName)
        return reply(404, { message: 'Invalid stage identifier specified' }, 'NotFoundException');
      target.flushAuthorizerCache();
      reply(202, {});
    });
  };
}
