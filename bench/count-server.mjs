// A bulk endpoint that only counts (for bench/ship.bench.ts): answers GET / like Elasticsearch,
// and POST /_bulk with one 201 item per action line. Runs in its own process so the agent's
// CPU figures are its own. Prints its port on stdout; `outage <ms>` on stdin makes it refuse.
import { createServer } from 'node:http';
import { createInterface } from 'node:readline';

let docs = 0;
let bytes = 0;
let downUntil = 0;
const server = createServer((req, res) => {
  if (Date.now() < downUntil) { req.socket.destroy(); return; }
  if (req.method === 'GET' && req.url?.split('?')[0] === '/') {
    res.writeHead(200, { 'content-type': 'application/json', 'x-elastic-product': 'Elasticsearch' });
    res.end(JSON.stringify({ name: 'count', cluster_name: 'bench', version: { number: '8.15.0', build_flavor: 'default' }, tagline: 'You Know, for Search' }));
    return;
  }
  if (req.method === 'GET' && req.url === '/_count_stats') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ docs, bytes }));
    return;
  }
  let n = 0;
  let size = 0;
  req.on('data', (chunk) => {
    size += chunk.length;
    for (let i = 0; i < chunk.length; i++) if (chunk[i] === 10) n++;
  });
  req.on('end', () => {
    const items = n >> 1;
    docs += items;
    bytes += size;
    const one = '{"create":{"status":201}}';
    res.writeHead(200, { 'content-type': 'application/json', 'x-elastic-product': 'Elasticsearch' });
    res.end(`{"errors":false,"items":[${new Array(items).fill(one).join(',')}]}`);
  });
});
server.listen(0, '127.0.0.1', () => console.log(String(server.address().port)));
createInterface({ input: process.stdin }).on('line', (l) => {
  const [cmd, arg] = l.trim().split(/\s+/);
  if (cmd === 'outage') downUntil = Date.now() + Number(arg);
  if (cmd === 'stats') console.log(JSON.stringify({ docs, bytes }));
  if (cmd === 'exit') process.exit(0);
});
