/**
 * /metrics (Prometheus text) and /healthz, by default on 127.0.0.1:5066 as Beats do.
 * Loopback by default: metrics name files and models, which is nobody else's business.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { registry } from './metrics.ts';

export interface Health {
  status: 'ok' | 'degraded' | 'failed';
  [k: string]: unknown;
}

export interface TelemetryServer {
  url: string;
  close(): Promise<void>;
}

export async function startTelemetryServer(host: string, port: number, health: () => Health): Promise<TelemetryServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET') {
      res.writeHead(405).end();
      return;
    }
    if (path === '/metrics') {
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (err: unknown) => res.writeHead(500).end(String(err)),
      );
      return;
    }
    if (path === '/healthz') {
      const h = health();
      res.writeHead(h.status === 'failed' ? 503 : 200, { 'content-type': 'application/json' }).end(JSON.stringify(h));
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics or /healthz\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${shownHost}:${addr.port}`,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections?.(); server.close(() => resolve()); }),
  };
}
