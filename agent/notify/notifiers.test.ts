import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { NotifierSchema } from '../config/schema.ts';
import { loadConfig } from '../config/load.ts';
import { createLogger } from '../telemetry/logger.ts';
import { clearSecrets } from '../telemetry/redact.ts';
import { createNotifier } from './notifiers.ts';
import { DeliveryError } from './notifier.ts';
import { messages } from '../../test/support/alert-results.ts';
import { startRecorder } from '../../test/support/http-recorder.ts';
import { header, part, startSmtp } from '../../test/support/smtp.ts';
import { workspace } from '../../test/support/workspace.ts';

const tmp = workspace('notify');
after(() => clearSecrets());

function captureLogger() {
  const lines: string[] = [];
  const logger = createLogger({ level: 'info', destination: new Writable({ write(c, _e, cb) { lines.push(String(c)); cb(); } }) as never });
  return { logger, lines };
}

test('slack: a Block Kit message with the alert reaches the webhook', async () => {
  const slack = await startRecorder();
  try {
    const n = createNotifier('slack-ml', NotifierSchema.parse({ type: 'slack', webhook_url: `${slack.url}/services/T000/B000/XXXX`, channel: '#ml-alerts' }), { logger: captureLogger().logger });
    const { firing } = messages(0, {}, 'http://kibana:5601');
    await n.send(firing);
    assert.equal(slack.requests.length, 1);
    const req = slack.requests[0]!;
    assert.equal(req.method, 'POST');
    assert.equal(req.url, '/services/T000/B000/XXXX');
    assert.match(String(req.headers['content-type']), /application\/json/);
    const body = JSON.parse(req.body) as { text: string; channel: string; blocks: Array<{ type: string; fields?: Array<{ text: string }>; text?: { text: string }; elements?: Array<{ url?: string }> }> };
    assert.equal(body.channel, '#ml-alerts');
    assert.match(body.text, /FIRING critical: fraud-country/);
    assert.equal(body.blocks[0]!.type, 'header');
    const fields = body.blocks[1]!.fields!.map((f) => f.text).join('\n');
    assert.match(fields, /\*Model\*\nfraud 1\.4\.2/);
    assert.match(fields, /unseen_share = 0\.125 \(threshold &gt; 0\.05\)/);
    assert.match(JSON.stringify(body.blocks), /XK \(120\), ZZ \(30\)/);
    const button = body.blocks.find((b) => b.type === 'actions')!.elements![0]!;
    assert.match(button.url!, /^http:\/\/kibana:5601\/app\/dashboards#\/view\//);
  } finally {
    await slack.close();
  }
});

test('slack: 429 carries Retry-After, 500 is retryable, 404 is not; the webhook URL never shows in the error', async () => {
  const secretPath = '/services/T111/B222/s3cr3tTOKENvalue';
  const slack = await startRecorder([
    { status: 429, headers: { 'retry-after': '2' }, body: 'rate_limited' },
    { status: 500, body: 'oops' },
    { status: 404, body: 'no_service' },
  ]);
  const file = join(tmp, 'slack.yml');
  writeFileSync(file, 'output: {embedded: {}}\nnotifiers:\n  slack-ml: {type: slack, webhook_url: "${SLACK_URL}"}\n');
  const { config } = loadConfig(file, { env: { SLACK_URL: `${slack.url}${secretPath}` } });
  try {
    const n = createNotifier('slack-ml', config.notifiers['slack-ml']!, { logger: captureLogger().logger });
    const { firing } = messages();
    const e429 = await n.send(firing).then(() => null, (e: unknown) => e) as DeliveryError;
    assert.ok(e429 instanceof DeliveryError);
    assert.equal(e429.retryable, true);
    assert.equal(e429.retryAfterMs, 2000);
    const e500 = await n.send(firing).then(() => null, (e: unknown) => e) as DeliveryError;
    assert.equal(e500.retryable, true);
    const e404 = await n.send(firing).then(() => null, (e: unknown) => e) as DeliveryError;
    assert.equal(e404.retryable, false);
    assert.match(e404.message, /notifier "slack-ml": HTTP 404 no_service/);
    await slack.close();
    const down = await n.send(firing).then(() => null, (e: unknown) => e) as DeliveryError;
    assert.equal(down.retryable, true);
    for (const e of [e429, e500, e404, down]) assert.ok(!e.message.includes('s3cr3tTOKENvalue'), e.message);
  } finally {
    await slack.close();
  }
});

test('webhook: a PagerDuty Events v2 body from the template, with method and headers', async () => {
  const hook = await startRecorder();
  try {
    const cfg = NotifierSchema.parse({
      type: 'webhook',
      url: `${hook.url}/v2/enqueue`,
      method: 'PUT',
      headers: { 'X-Routing': 'abc' },
      body: {
        routing_key: 'R0UTING',
        event_action: '{{alert.event_action}}',
        dedup_key: '{{alert.dedup_key}}',
        payload: {
          summary: '{{alert.title}}',
          source: 'driftbeat/{{alert.model}}',
          severity: '{{alert.pagerduty_severity}}',
          custom_details: { value: '{{alert.value}}', threshold: '{{alert.threshold}}', unseen: '{{alert.details.unseen_values}}' },
        },
        links: [{ href: '{{alert.link}}', text: 'Kibana' }],
      },
    });
    const n = createNotifier('pagerduty', cfg, { logger: captureLogger().logger });
    const { firing, recovered } = messages(0, {}, 'http://kibana:5601');
    await n.send(firing);
    await n.send(recovered);
    assert.equal(hook.requests.length, 2);
    const [a, b] = hook.requests.map((r) => JSON.parse(r.body) as Record<string, any>);
    assert.equal(hook.requests[0]!.method, 'PUT');
    assert.equal(hook.requests[0]!.url, '/v2/enqueue');
    assert.equal(hook.requests[0]!.headers['x-routing'], 'abc');
    assert.equal(a!.event_action, 'trigger');
    assert.equal(b!.event_action, 'resolve');
    assert.equal(a!.dedup_key, 'fraud-country|features.country|');
    assert.equal(a!.dedup_key, b!.dedup_key);
    assert.equal(a!.payload.severity, 'critical');
    assert.equal(a!.payload.source, 'driftbeat/fraud');
    assert.equal(a!.payload.custom_details.value, 0.125);
    assert.deepEqual(a!.payload.custom_details.unseen, [{ value: 'XK', count: 120 }, { value: 'ZZ', count: 30 }]);
    assert.match(a!.links[0].href, /^http:\/\/kibana:5601\//);
  } finally {
    await hook.close();
  }
});

test('webhook: without a template the alert fields are posted as JSON', async () => {
  const hook = await startRecorder();
  try {
    const n = createNotifier('retrain', NotifierSchema.parse({ type: 'webhook', url: `${hook.url}/retrain` }), { logger: captureLogger().logger });
    await n.send(messages().firing);
    const body = JSON.parse(hook.requests[0]!.body) as Record<string, unknown>;
    assert.equal(hook.requests[0]!.method, 'POST');
    assert.equal(body.rule, 'fraud-country');
    assert.equal(body.model, 'fraud');
    assert.equal(body.version, '1.4.2');
    assert.equal(body.kind, 'firing');
    assert.equal(body.value, 0.125);
  } finally {
    await hook.close();
  }
});

test('email: a real SMTP server receives subject, text and HTML parts, with auth from the environment', async () => {
  const smtp = await startSmtp({ username: 'alerts', password: 'smtp-pa55word' });
  const file = join(tmp, 'email.yml');
  writeFileSync(file, [
    'output: {embedded: {}}',
    'notifiers:',
    '  oncall-email:',
    '    type: email',
    '    host: 127.0.0.1',
    `    port: ${smtp.port}`,
    '    username: alerts',
    '    password: ${SMTP_PASSWORD}',
    '    from: driftbeat@example.com',
    '    to: [oncall@example.com, ml@example.com]',
  ].join('\n'));
  try {
    const { config } = loadConfig(file, { env: { SMTP_PASSWORD: 'smtp-pa55word' } });
    const n = createNotifier('oncall-email', config.notifiers['oncall-email']!, { logger: captureLogger().logger, timeoutMs: 5000 });
    await n.send(messages(0, {}, 'http://kibana:5601').firing);
    await n.close?.();
    assert.equal(smtp.mails.length, 1);
    const mail = smtp.mails[0]!;
    assert.equal(mail.user, 'alerts');
    assert.equal(mail.from, 'driftbeat@example.com');
    assert.deepEqual(mail.to, ['oncall@example.com', 'ml@example.com']);
    assert.equal(header(mail.raw, 'Subject'), '[driftbeat] FIRING critical: fraud-country on features.country (fraud 1.4.2)');
    const text = part(mail.raw, 'text/plain')!;
    const html = part(mail.raw, 'text/html')!;
    assert.match(text, /Statistic: unseen_share = 0\.125 \(threshold > 0\.05\)/);
    assert.match(text, /Unseen values: XK \(120\), ZZ \(30\)/);
    assert.match(html, /<th[^>]*>Statistic<\/th><td>unseen_share = 0\.125 \(threshold &gt; 0\.05\)<\/td>/);
    assert.match(html, /XK \(120\), ZZ \(30\)/);
    assert.match(html, /href="http:\/\/kibana:5601\/app\/dashboards/);
  } finally {
    await smtp.close();
  }
});

test('email: a 4xx reply is temporary, a 5xx reply is permanent', async () => {
  const smtp = await startSmtp();
  try {
    const n = createNotifier('mail', NotifierSchema.parse({ type: 'email', host: '127.0.0.1', port: smtp.port, from: 'a@example.com', to: ['b@example.com'] }), { logger: captureLogger().logger, timeoutMs: 5000 });
    smtp.failNext(1, 451);
    const e4 = await n.send(messages().firing).then(() => null, (e: unknown) => e) as DeliveryError;
    assert.equal(e4.retryable, true);
    smtp.failNext(1, 550);
    const e5 = await n.send(messages().firing).then(() => null, (e: unknown) => e) as DeliveryError;
    assert.equal(e5.retryable, false);
    assert.match(e5.message, /notifier "mail": SMTP 550/);
    await n.close?.();
  } finally {
    await smtp.close();
  }
});

test('log: a structured line in the agent log and a readable block on the console', async () => {
  const { logger, lines } = captureLogger();
  const out: string[] = [];
  const n = createNotifier('console', { type: 'log', retry: { maxAttempts: 1, initialBackoff: 1, maxBackoff: 1 } }, { logger, write: (t) => out.push(t) });
  await n.send(messages().firing);
  const rec = JSON.parse(lines[0]!) as Record<string, unknown>;
  assert.equal(rec['log.level'], 'warn');
  assert.equal(rec['rule.name'], 'fraud-country');
  assert.equal(rec['event.action'], 'firing');
  assert.equal(rec['alert.value'], 0.125);
  assert.match(out.join(''), /FIRING critical: fraud-country on features\.country/);
});

test('log: without a console of its own, nothing but the one JSON line reaches stdout', async () => {
  const { logger, lines } = captureLogger();
  const n = createNotifier('log', { type: 'log', retry: { maxAttempts: 1, initialBackoff: 1, maxBackoff: 1 } }, { logger });
  const written: string[] = [];
  const real = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => { written.push(String(chunk)); return true; }) as typeof process.stdout.write;
  try {
    await n.send(messages().firing);
  } finally {
    process.stdout.write = real;
  }
  assert.deepEqual(written, []);
  assert.equal(lines.length, 1);
  const rec = JSON.parse(lines[0]!) as Record<string, unknown>;
  assert.equal(rec['message'], 'alert firing: fraud-country on features.country: unseen_share = 0.125 (threshold > 0.05)');
  assert.deepEqual(rec['alert.threshold'], { value: 0.05, direction: 'above', unit: 'share' });
});
