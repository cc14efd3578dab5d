/**
 * /metrics (Prometheus text) and /healthz, by default on 127.0.0.1:5066 as Beats do.
 * Loopback by default: metrics name files and models, which is nobody else's business.
 */
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { registry } from './metrics.ts';

export interface Health {
  status: 'ok' | 'degraded' | 'failed';
  [k: string]: unknown;
}

export interface TelemetryServer {
  url: string;
  /** Serves POST /api/v1/commands from now on (agent/remote.ts). */
  serveCommands(handler: CommandHandler): void;
  close(): Promise<void>;
}

/** Commands sent by the CLI while the agent holds the embedded store (agent/remote.ts). */
export interface CommandHandler {
  token: string;
  handle(body: unknown): Promise<{ status: number; reply: unknown }>;
}

const MAX_COMMAND_BYTES = 1 << 20;

function isLoopback(addr: string | undefined): boolean {
  return addr !== undefined && (addr === '::1' || /^(::ffff:)?127\./.test(addr));
}

function tokenMatches(header: string | undefined, token: string): boolean {
  const given = Buffer.from(/^Bearer (.+)$/.exec(header ?? '')?.[1] ?? '');
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_COMMAND_BYTES) throw new Error('request too large');
    chunks.push(c);
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

export async function startTelemetryServer(host: string, port: number, health: () => Health): Promise<TelemetryServer> {
  let commands: CommandHandler | undefined;
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/api/v1/commands' && req.method === 'POST') {
      // Only this host's users who can read the agent's data folder (the token file): a command
      // reads files and writes the store with the agent's rights.
      if (!commands) return void res.writeHead(404, { 'content-type': 'text/plain' }).end('commands are served with the embedded output only\n');
      if (!isLoopback(req.socket.remoteAddress)) return void res.writeHead(403, { 'content-type': 'text/plain' }).end('commands are served to loopback clients only\n');
      if (!tokenMatches(req.headers.authorization, commands.token)) return void res.writeHead(401, { 'content-type': 'text/plain' }).end('bad or missing token (see <path.data>/http-token)\n');
      const handler = commands;
      readBody(req)
        .then((body) => handler.handle(body))
        .then(
          ({ status, reply }) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(reply)),
          (err: unknown) => res.writeHead(400, { 'content-type': 'text/plain' }).end(`${(err as Error).message}\n`),
        );
      return;
    }
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
    serveCommands: (h) => { commands = h; },
    close: () => new Promise<void>((resolve) => { server.closeAllConnections?.(); server.close(() => resolve()); }),
  };
}
