// A bulk endpoint that only counts (for bench/ship.bench.ts): answers GET / like Elasticsearch,
// and POST /_bulk with one 201 item per action (as filter_path trims it). Runs in its own process
// so the agent's CPU figures are its own. Prints its port on stdout; on stdin, `outage <ms>` makes
// it drop connections for that long and `stats` prints {docs, bytes, requests, firstMs, lastMs}.
import { createServer } from 'node:http';
import { createInterface } from 'node:readline';

let docs = 0;
let bytes = 0;
let requests = 0;
let firstMs = 0;
let lastMs = 0;
let downUntil = 0;
const ONE = '{"create":{"status":201}}';
// Responses by item count: the agent sends the same batch size over and over.
const bodies = new Map();
function responseFor(items) {
  let b = bodies.get(items);
  if (b === undefined) {
    b = Buffer.from(`{"errors":false,"items":[${new Array(items).fill(ONE).join(',')}]}`);
    if (bodies.size < 64) bodies.set(items, b);
  }
  return b;
}

const server = createServer((req, res) => {
  if (Date.now() < downUntil) { req.socket.destroy(); return; }
  if (req.method === 'GET' && req.url?.split('?')[0] === '/') {
    res.writeHead(200, { 'content-type': 'application/json', 'x-elastic-product': 'Elasticsearch' });
    res.end(JSON.stringify({ name: 'count', cluster_name: 'bench', version: { number: '8.15.0', build_flavor: 'default' }, tagline: 'You Know, for Search' }));
    return;
  }
  let n = 0;
  let size = 0;
  req.on('data', (chunk) => {
    size += chunk.length;
    // indexOf is native: counting newlines must not cost the agent's neighbour a core.
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) n++;
  });
  req.on('end', () => {
    const items = n >> 1;
    docs += items;
    bytes += size;
    requests++;
    lastMs = Date.now();
    if (firstMs === 0) firstMs = lastMs;
    const body = responseFor(items);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length, 'x-elastic-product': 'Elasticsearch' });
    res.end(body);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => console.log(String(server.address().port)));
createInterface({ input: process.stdin }).on('line', (l) => {
  const [cmd, arg] = l.trim().split(/\s+/);
  if (cmd === 'outage') downUntil = Date.now() + Number(arg);
  if (cmd === 'stats') console.log(JSON.stringify({ docs, bytes, requests, firstMs, lastMs }));
  if (cmd === 'exit') process.exit(0);
});
