/** The `log` notifier: the agent's structured log and a readable block on the console (the demo uses it). */
import type { Logger } from '../telemetry/logger.ts';
import { redact } from '../telemetry/redact.ts';
import type { Notifier } from './notifier.ts';
import { renderText, type AlertMessage } from './render.ts';

export function createLogNotifier(name: string, options: { logger: Logger; write?: (text: string) => void }): Notifier {
  const write = options.write ?? ((text: string) => { process.stdout.write(text); });
  return {
    name,
    type: 'log',
    async send(msg: AlertMessage) {
      const r = msg.result;
      const fields = {
        'event.kind': 'alert',
        'event.action': msg.kind,
        'rule.name': msg.alert.rule,
        'alert.key': msg.alert.key,
        'alert.field': msg.alert.field,
        'alert.segment': msg.alert.segment,
        'model.name': r.model,
        'model.version': r.version,
        'alert.severity': r.severity,
        'alert.statistic': r.statistic,
        'alert.value': r.value,
        'alert.threshold': r.threshold,
      };
      const line = `${msg.kind === 'recovered' ? 'alert recovered' : 'alert firing'}: ${msg.alert.rule} on ${msg.alert.field}`;
      if (msg.kind === 'recovered') options.logger.info(fields, line);
      else options.logger.warn(fields, line);
      write(redact(`\n${renderText(msg)}`));
    },
  };
}
