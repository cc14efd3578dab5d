/** A real SMTP server (smtp-server) on 127.0.0.1 that keeps every message, parsed by mailparser. */
import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

/** Mails received by the servers started here, parsed once on receipt (mailparser), by raw text. */
const parsedByRaw = new Map<string, ParsedMail>();

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
        const raw = Buffer.concat(chunks).toString('utf8');
        simpleParser(raw).then((parsed) => {
          parsedByRaw.set(raw, parsed);
          mails.push({ from, to: session.envelope.rcptTo.map((r) => r.address), raw, ...(session.user ? { user: String(session.user) } : {}) });
          cb();
        }, (err: Error) => cb(err));
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = ((server as unknown as { server: { address(): AddressInfo } }).server.address()).port;
  return {
    port,
    mails,
    failNext(n, code) { failures = n; failCode = code; },
    close: () => new Promise<void>((resolve) => server.close(() => {
      for (const m of mails) parsedByRaw.delete(m.raw);
      resolve();
    })),
  };
}

function parsedMail(raw: string): ParsedMail {
  const mail = parsedByRaw.get(raw);
  if (!mail) throw new Error('test/support/smtp.ts: header()/part() read only mails received by startSmtp() (pass mail.raw) before close()');
  return mail;
}

/** Decoded header value (unfolded; RFC 2047 encoded-words decoded; addresses as written). */
export function header(raw: string, name: string): string | undefined {
  const mail = parsedMail(raw);
  const value = mail.headers.get(name.toLowerCase());
  if (value === undefined) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null && 'text' in value) return String(value.text);
  const line = mail.headerLines.find((h) => h.key === name.toLowerCase())?.line;
  return line?.slice(line.indexOf(':') + 1).replace(/\r?\n[ \t]+/g, ' ').trim();
}

/** The decoded body of the first part with this content type (text/plain, text/html). */
export function part(raw: string, contentType: string): string | undefined {
  const mail = parsedMail(raw);
  const type = contentType.toLowerCase();
  if (type === 'text/plain') return mail.text;
  if (type === 'text/html') return mail.html === false ? undefined : mail.html;
  return mail.attachments.find((a) => a.contentType.toLowerCase() === type)?.content.toString('utf8');
}
