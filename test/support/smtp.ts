/** A real SMTP server (smtp-server) on 127.0.0.1 that keeps every message, plus a tiny MIME reader. */
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  from: string;
  to: string[];
  raw: string;
  user?: string;
}

export interface SmtpStub {
  port: number;
  mails: ReceivedMail[];
  /** Reply to the next `n` DATA commands with this SMTP error code. */
  failNext(n: number, code: number): void;
  close(): Promise<void>;
}

export async function startSmtp(options: { username?: string; password?: string } = {}): Promise<SmtpStub> {
  const mails: ReceivedMail[] = [];
  let failures = 0;
  let failCode = 451;
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    authOptional: !options.username,
    allowInsecureAuth: true,
    logger: false,
    onAuth(auth, _session, cb) {
      if (auth.username === options.username && auth.password === options.password) cb(null, { user: auth.username });
      else cb(new Error('Invalid username or password'));
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        if (failures > 0) {
          failures -= 1;
          const err = new Error('try again later') as Error & { responseCode: number };
          err.responseCode = failCode;
          cb(err);
          return;
        }
        const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
        mails.push({ from, to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks).toString('utf8'), ...(session.user ? { user: String(session.user) } : {}) });
        cb();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = ((server as unknown as { server: { address(): AddressInfo } }).server.address()).port;
  return {
    port,
    mails,
    failNext(n, code) { failures = n; failCode = code; },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Decoded header value (unfolded; RFC 2047 encoded-words of nodemailer decoded). */
export function header(raw: string, name: string): string | undefined {
  const head = raw.split(/\r?\n\r?\n/)[0]!.replace(/\r?\n[ \t]+/g, ' ');
  const m = new RegExp(`^${name}:\\s*(.*)$`, 'im').exec(head);
  if (!m) return undefined;
  return m[1]!.replace(/=\?utf-8\?([QB])\?([^?]*)\?=\s*/gi, (_x, enc: string, data: string) =>
    enc.toUpperCase() === 'B' ? Buffer.from(data, 'base64').toString('utf8') : decodeQP(data.replace(/_/g, ' ')));
}

function decodeQP(s: string): string {
  const bytes: number[] = [];
  const t = s.replace(/=\r?\n/g, '');
  for (let i = 0; i < t.length; i++) {
    if (t[i] === '=' && /^[0-9A-F]{2}$/i.test(t.slice(i + 1, i + 3))) { bytes.push(parseInt(t.slice(i + 1, i + 3), 16)); i += 2; }
    else bytes.push(...Buffer.from(t[i]!, 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}

/** The decoded body of the first part with this content type (text/plain, text/html). */
export function part(raw: string, contentType: string): string | undefined {
  const sections = raw.split(/\r?\n--[^\r\n]+/);
  for (const sec of sections) {
    const [head, ...rest] = sec.split(/\r?\n\r?\n/);
    if (!head || !new RegExp(`content-type:\\s*${contentType}`, 'i').test(head)) continue;
    const body = rest.join('\r\n\r\n');
    const enc = /content-transfer-encoding:\s*(\S+)/i.exec(head)?.[1]?.toLowerCase();
    if (enc === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
    if (enc === 'quoted-printable') return decodeQP(body);
    return body;
  }
  return undefined;
}
