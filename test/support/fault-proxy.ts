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
 * Two things a real engine does that cannot be provoked on demand are made here, on top of the
 * real engine's answers: per-item rejections inside a 200 `_bulk` answer (`items`: the chosen items
 * are not forwarded, so the engine never indexed them, and their error items are spliced into the
 * engine's own answer in order), and a body-size limit (`limit`: 413, as http.max_content_length or
 * a reverse proxy's client_max_body_size). With `auth`, requests without those credentials answer
 * 401 as a secured cluster does (the test engine has no security plugin).
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
  /** Answer with this status and an engine-shaped error body (or `body`, `headers`), without forwarding. */
  | { kind: 'status'; status: number; body?: unknown; headers?: Record<string, string> }
  /** `_bulk` only: items for which `reject` answers an error are kept from the engine and answered with it. */
  | { kind: 'items'; reject: (item: BulkItem) => ItemError | undefined }
  /** Answer 413 to a request whose body is larger than `bytes`; forward the others. */
  | { kind: 'limit'; bytes: number }
  /** Forward after a delay (a slow node: it does the work even when the client gave up). */
  | { kind: 'delay'; ms: number }
  /** Reset every connection as it arrives (a dead node, or one restarting). */
  | { kind: 'refuse' }
  /** Read the request, then reset the connection before answering (a reset mid-request). */
  | { kind: 'reset' }
  /** Accept and never answer (a hung node: the client's timeout must fire). */
  | { kind: 'hang' };

/** One action of a `_bulk` request, as the `items` fault sees it. */
export interface BulkItem { n: number; op: string; index?: string; id?: string }
export interface ItemError { status: number; type: string; reason: string }

export interface FaultProxyOptions {
  /** Credentials the proxy demands (401 otherwise), as a secured cluster does. */
  auth?: { username: string; password: string } | { apiKey: string };
}

export interface FaultRule { fault: Fault; times?: number; when?: (method: string, path: string) => boolean }

export interface FaultProxy {
  /** Base URL to give the agent instead of the engine's. */
  readonly url: string;
  /** Apply this fault to every request from now on. */
  set(fault: Fault): void;
  /** Apply this fault to the next `times` matching requests (default 1), then pass again. */
  failNext(fault: Fault, times?: number, when?: FaultRule['when']): void;
  /** Requests seen, by fault kind applied (pass included); `items.rejected` counts rejected bulk items. */
  readonly seen: Record<string, number>;
  close(): Promise<void>;
}

function engineError(status: number): unknown {
  const type = status === 429 ? 'es_rejected_execution_exception' : 'cluster_block_exception';
  return { error: { root_cause: [{ type, reason: `injected by the test proxy (${status})` }], type, reason: `injected by the test proxy (${status})` }, status };
}

function expectedAuth(auth: FaultProxyOptions['auth']): string | undefined {
  if (!auth) return undefined;
  if ('apiKey' in auth) return `ApiKey ${auth.apiKey}`;
  return `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
}

/** Elasticsearch's answer to missing or wrong credentials (security plugin, 401). */
const UNAUTHORIZED = JSON.stringify({
  error: { root_cause: [{ type: 'security_exception', reason: 'unable to authenticate user [driftbeat] for REST request [/_bulk]' }], type: 'security_exception', reason: 'unable to authenticate user [driftbeat] for REST request [/_bulk]', header: { 'WWW-Authenticate': ['Basic realm="security" charset="UTF-8"', 'ApiKey'] } },
  status: 401,
});

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}

/** Splits an NDJSON bulk body into actions (with their source line, if any). */
function bulkActions(body: string): { item: BulkItem; text: string }[] {
  const lines = body.split('\n');
  const out: { item: BulkItem; text: string }[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] === '') continue;
    const action = JSON.parse(lines[i]!) as Record<string, { _index?: string; _id?: string }>;
    const op = Object.keys(action)[0]!;
    const meta = action[op] ?? {};
    const withSource = op !== 'delete';
    const text = withSource ? `${lines[i]}\n${lines[i + 1]}\n` : `${lines[i]}\n`;
    if (withSource) i++;
    out.push({ item: { n: out.length, op, ...(meta._index ? { index: meta._index } : {}), ...(meta._id ? { id: meta._id } : {}) }, text });
  }
  return out;
}

/** Streams a request on to the engine and its answer back, untouched. */
function forward(upstream: URL, req: IncomingMessage, res: ServerResponse): void {
  const out = httpRequest({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
    res.writeHead(up.statusCode ?? 502, up.headers);
    up.pipe(res);
  });
  out.on('error', () => res.destroy());
  req.pipe(out);
}

/** Sends a buffered request on and answers with the engine's status and parsed body. */
function forwardBuffered(upstream: URL, req: IncomingMessage, body: Buffer): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const headers = { ...req.headers, 'content-length': String(body.length) };
    delete headers['transfer-encoding'];
    delete headers['accept-encoding']; // the answer is parsed and rewritten here
    const out = httpRequest({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers }, (up) => {
      readBody(up).then((b) => resolve({ status: up.statusCode ?? 502, headers: up.headers, body: b }), reject);
    });
    out.on('error', reject);
    out.end(body);
  });
}

function answer(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': String(Buffer.byteLength(body)), ...headers });
  res.end(body);
}

/** The `items` fault: the engine indexes what is not rejected; the rejected items are answered here, in place. */
async function rejectItems(upstream: URL, seen: Record<string, number>, req: IncomingMessage, res: ServerResponse, reject: (item: BulkItem) => ItemError | undefined): Promise<void> {
  const actions = bulkActions((await readBody(req)).toString('utf8'));
  const errors = actions.map((a) => reject(a.item));
  seen['items.rejected'] = (seen['items.rejected'] ?? 0) + errors.filter(Boolean).length;
  const kept = actions.filter((_, i) => !errors[i]);
  let engineItems: unknown[] = [];
  let engineErrors = false;
  if (kept.length > 0) {
    const up = await forwardBuffered(upstream, req, Buffer.from(kept.map((a) => a.text).join('')));
    if (up.status !== 200) return answer(res, up.status, up.body.toString('utf8'));
    const parsed = JSON.parse(up.body.toString('utf8')) as { errors?: boolean; items?: unknown[] };
    engineItems = parsed.items ?? [];
    engineErrors = parsed.errors === true;
  }
  let k = 0;
  const items = actions.map((a, i) => {
    const e = errors[i];
    if (!e) return engineItems[k++];
    return { [a.item.op]: { _index: a.item.index, _id: a.item.id, status: e.status, error: { type: e.type, reason: e.reason } } };
  });
  answer(res, 200, JSON.stringify({ took: 1, errors: engineErrors || errors.some(Boolean), items }));
}

/** Answers one request the way `fault` says (pass it on, reject, delay, cut, ...). */
function applyFault(upstream: URL, seen: Record<string, number>, fault: Fault, req: IncomingMessage, res: ServerResponse): void {
  switch (fault.kind) {
    case 'pass': return forward(upstream, req, res);
    case 'items':
      if (!/^\/(?:[^/]+\/)?_bulk(?:\?|$)/.test(req.url ?? '')) return forward(upstream, req, res);
      rejectItems(upstream, seen, req, res, fault.reject).catch((e) => { console.error("fault proxy items:", e); res.destroy(); });
      return;
    case 'limit': {
      const length = Number(req.headers['content-length'] ?? 0);
      if (length <= fault.bytes) return forward(upstream, req, res);
      req.resume();
      req.on('end', () => answer(res, 413, ''));
      return;
    }
    case 'delay': {
      // A slow node does the work even when the client has given up: the request is read now and
      // sent on after the delay whatever the client does; the answer goes to it if still there.
      readBody(req).then((body) => new Promise((r) => setTimeout(r, fault.ms)).then(() => forwardBuffered(upstream, req, body))).then(
        (up) => { if (!res.destroyed && !res.writableEnded) answer(res, up.status, up.body.toString('utf8')); },
        () => res.destroy(),
      );
      return;
    }
    case 'status': {
      req.resume();
      req.on('end', () => answer(res, fault.status, JSON.stringify(fault.body ?? engineError(fault.status)), fault.headers));
      return;
    }
    case 'reset': req.resume(); req.on('end', () => req.socket.resetAndDestroy()); return;
    case 'hang': req.resume(); return;
    case 'refuse': req.socket.resetAndDestroy(); return;
  }
}

export async function startFaultProxy(target: string, options: FaultProxyOptions = {}): Promise<FaultProxy> {
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

  const auth = expectedAuth(options.auth);

  const server = createServer((req, res) => {
    if (auth !== undefined && req.headers.authorization !== auth) {
      seen['auth.refused'] = (seen['auth.refused'] ?? 0) + 1;
      req.resume();
      req.on('end', () => answer(res, 401, UNAUTHORIZED, { 'www-authenticate': 'Basic realm="security" charset="UTF-8"' }));
      return;
    }
    const fault = pick(req.method ?? 'GET', req.url ?? '/');
    seen[fault.kind] = (seen[fault.kind] ?? 0) + 1;
    applyFault(upstream, seen, fault, req, res);
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
