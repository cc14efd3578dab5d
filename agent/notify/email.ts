/** Email through SMTP (nodemailer): a plain-text and an HTML part with the same content. */
import nodemailer from 'nodemailer';
import type { NotifierConfig } from '../config/schema.ts';
import { DeliveryError, type Notifier } from './notifier.ts';
import { renderHtml, renderText, subject, type AlertMessage } from './render.ts';

type EmailConfig = Extract<NotifierConfig, { type: 'email' }>;

/** SMTP 4xx replies and connection failures are temporary; 5xx replies are permanent (RFC 5321 4.2.1). */
function classify(name: string, err: unknown): DeliveryError {
  const e = err as { responseCode?: number; code?: string; message?: string; response?: string };
  const code = e.responseCode;
  const retryable = code === undefined || (code >= 400 && code < 500);
  const what = code !== undefined ? `SMTP ${code} ${e.response ?? e.message ?? ''}` : `${e.code ?? ''} ${e.message ?? String(err)}`;
  return new DeliveryError(
    retryable ? 'ERR_NOTIFY_SMTP_TEMPORARY' : 'ERR_NOTIFY_SMTP_REJECTED',
    `notifier "${name}": ${what.trim()}; ${retryable ? 'will retry' : 'the server refused the message, check from/to and the credentials'}`,
    { retryable, ...(code !== undefined ? { status: code } : {}), cause: err },
  );
}

export function createEmailNotifier(name: string, config: EmailConfig, options: { timeoutMs?: number } = {}): Notifier {
  const timeout = options.timeoutMs ?? 30_000;
  const transport = nodemailer.createTransport({
    host: config.host,
    port: config.port,
    secure: config.secure,
    ...(config.username ? { auth: { user: config.username, pass: config.password ?? '' } } : {}),
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: timeout,
  });
  return {
    name,
    type: 'email',
    async send(msg: AlertMessage) {
      try {
        await transport.sendMail({
          from: config.from,
          to: config.to,
          subject: subject(msg, config.subjectPrefix),
          text: renderText(msg),
          html: renderHtml(msg),
          headers: { 'X-Driftbeat-Alert': msg.alert.key, 'X-Driftbeat-Message-Id': msg.id },
        });
      } catch (err) {
        throw classify(name, err);
      }
    },
    async close() {
      transport.close();
    },
  };
}
