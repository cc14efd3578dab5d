/**
 * A loopback HTTP proxy between the agent and the real engine that injects the faults a real cluster
 * shows under load or in an outage: an HTTP status (429, 503) with the engine's error body, a slow
 * node, a dead node (connections reset at once), a node that accepts and never answers, and a reset
 * in the middle of a request. Everything else is forwarded to the engine as it is.
 *
 * A fault applies to every request until changed (`set`), or to the next `times` requests that match
 * `when` (then the proxy passes again). Faults are chosen per request, so a test can fail only the
 * `_bulk` calls and let detection (`GET /`) through.
 *
 *   const proxy = await startFaultProxy(engine.url);
 *   proxy.set({ kind: 'status', status: 503 });     // outage
 *   proxy.set({ kind: 'pass' });                     // recovery
 *   await proxy.close();
 */
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export type Fault =
  | { kind: 'pass' }
  /** Answer with this status and an engine-shaped error body, without forwarding. */
  | { kind: 'status'; status: number; body?: unknown }
  /** Forward after a delay (a slow node). */
  | { kind: 'delay'; ms: number }
  /** Reset every connection as it arrives (a dead node, or one restarting). */
  | { kind: 'refuse' }
  /** Read the request, then reset the connection before answering (a reset mid-request). */
  | { kind: 'reset' }
  /** Accept and never answer (a hung node: the client's timeout must fire). */
  | { kind: 'hang' };

export interface FaultRule { fault: Fault; times?: number; when?: (method: string, path: string) => boolean }

export interface FaultProxy {
  /** Base URL to give the agent instead of the engine's. */
  readonly url: string;
  /** Apply this fault to every request from now on. */
  set(fault: Fault): void;
  /** Apply this fault to the next `times` matching requests (default 1), then pass again. */
  failNext(fault: Fault, times?: number, when?: FaultRule['when']): void;
  /** Requests seen, by fault kind applied (pass included). */
  readonly seen: Record<string, number>;
  close(): Promise<void>;
}

function engineError(status: number): unknown {
  const type = status === 429 ? 'es_rejected_execution_exception' : 'cluster_block_exception';
  return { error: { root_cause: [{ type, reason: `injected by the test proxy (${status})` }], type, reason: `injected by the test proxy (${status})` }, status };
}

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  let standing: Fault = { kind: 'pass' };
  const once: FaultRule[] = [];
  const seen: Record<string, number> = {};
  const sockets = new Set<Socket>();

  const pick = (method: string, path: string): Fault => {
    const i = once.findIndex((r) => !r.when || r.when(method, path));
    if (i < 0) return standing;
    const rule = once[i]!;
    rule.times = (rule.times ?? 1) - 1;
    if (rule.times <= 0) once.splice(i, 1);
    return rule.fault;
  };

  const forward = (req: IncomingMessage, res: ServerResponse): void => {
    const out = httpRequest({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    out.on('error', () => res.destroy());
    req.pipe(out);
  };

  const server = createServer((req, res) => {
    const fault = pick(req.method ?? 'GET', req.url ?? '/');
    seen[fault.kind] = (seen[fault.kind] ?? 0) + 1;
    switch (fault.kind) {
      case 'pass': return forward(req, res);
      case 'delay': { const t = setTimeout(() => forward(req, res), fault.ms); res.on('close', () => clearTimeout(t)); return; }
      case 'status': {
        req.resume();
        req.on('end', () => {
          const body = JSON.stringify(fault.body ?? engineError(fault.status));
          res.writeHead(fault.status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(body) });
          res.end(body);
        });
        return;
      }
      case 'reset': req.resume(); req.on('end', () => req.socket.resetAndDestroy()); return;
      case 'hang': req.resume(); return;
      case 'refuse': req.socket.resetAndDestroy(); return;
    }
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    if (standing.kind === 'refuse' && once.length === 0) socket.resetAndDestroy();
  });
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('fault proxy: no port');

  return {
    url: `http://127.0.0.1:${address.port}`,
    set(fault) { standing = fault; once.length = 0; },
    failNext(fault, times = 1, when) { once.push({ fault, times, when }); },
    seen,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
