/**
 * The `log` notifier: one structured line in the agent's log (JSON on stdout, ECS names), whose
 * message says what fired in one line. The multi-line block of the other channels is not written
 * to stdout, where it would break the JSON lines a log shipper reads; a caller that owns a
 * console (a terminal UI) can ask for it with `write`.
 */
import type { Logger } from '../telemetry/logger.ts';
import { redact } from '../telemetry/redact.ts';
import type { Notifier } from './notifier.ts';
import { formatThreshold } from '../rules/threshold.ts';
import { formatNumber, renderText, type AlertMessage } from './render.ts';

export function createLogNotifier(name: string, options: { logger: Logger; write?: (text: string) => void }): Notifier {
  const write = options.write;
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
      const where = msg.alert.segment ? ` [${msg.alert.segment}]` : '';
      const verb = msg.kind === 'recovered' ? 'alert recovered' : msg.kind === 'realert' ? 'alert still firing' : 'alert firing';
      const line = `${verb}: ${msg.alert.rule} on ${msg.alert.field}${where}: ${r.statistic} = ${formatNumber(r.value)}${r.threshold ? ` (threshold ${formatThreshold(r.threshold)})` : ''}`;
      if (msg.kind === 'recovered') options.logger.info(fields, line);
      else options.logger.warn(fields, line);
      write?.(redact(`\n${renderText(msg)}`));
    },
  };
}
