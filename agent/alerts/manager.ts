/**
 * AlertManager: the facade the scheduler calls after each evaluation.
 *
 * process(results, rules): for every result, step the alert's state machine (lifecycle.ts), put
 * the messages in the persisted outbox (one entry per notifier of the rule), then save the alert
 * states, the history of transitions and the rule cursors in the StateStore. Messages go to the
 * outbox first and their ids are deterministic, so a crash between the two steps re-creates the
 * same messages on replay and the outbox drops them as duplicates: nothing repeats, nothing is lost.
 */
import { join } from 'node:path';
import type { Config } from '../config/schema.ts';
import { resolvePath } from '../config/load.ts';
import { parseDuration } from '../config/units.ts';
import { alertKey, type RuleResult } from '../rules/result.ts';
import type { Logger } from '../telemetry/logger.ts';
import { createNotifiers } from '../notify/notifiers.ts';
import type { Notifier } from '../notify/notifier.ts';
import { DEFAULT_RETRY, Outbox, type RetryPolicy } from '../notify/outbox.ts';
import type { AlertMessage } from '../notify/render.ts';
import { buildMessage } from './message.ts';
import { retire, step, type AlertPolicy, type AlertState, type Transition } from './lifecycle.ts';
import type { Lease } from './lease.ts';
import { silencedUntil, toEvent, type StateStore } from './state.ts';

/** What the manager needs from a rule; the rule engine's rule type fits structurally. */
export interface AlertRule {
  name: string;
  notify?: string[];
  /** Consecutive breaching windows before firing (default 1). */
  for?: number;
  /** Re-send while firing: ms or a duration such as `4h`. */
  realert?: number | string;
}

export interface AlertManagerOptions {
  config: Pick<Config, 'notifiers' | 'path'> & Partial<Pick<Config, 'rules'>>;
  store: StateStore;
  logger: Logger;
  /** Overrides config.rules.kibanaUrl for links in messages. */
  kibanaUrl?: string;
  /** Prebuilt notifiers (tests); default: built from config.notifiers. */
  notifiers?: Map<string, Notifier>;
  /** Default `<path.data>/outbox`. */
  outboxDir?: string;
  /** Console output of log notifiers. */
  write?: (text: string) => void;
  /** With several agents: process() does nothing unless this agent holds the lease, and reloads the state from the store when it has just taken it over. */
  lease?: Lease;
  /** Clock (tests). */
  now?: () => Date;
}

export interface ProcessReport {
  /** True when another agent holds the rules lease: nothing was done. */
  standby?: boolean;
  transitions: Transition[];
  /** Messages put in the outbox (one per notifier). */
  enqueued: number;
  messages: AlertMessage[];
}

export class AlertManager {
  private readonly opts: AlertManagerOptions;
  private readonly outbox: Outbox;
  private readonly notifiers: Map<string, Notifier>;
  private readonly states = new Map<string, AlertState>();
  private cursorMap: Record<string, string> = {};
  private readonly warnedUnknown = new Set<string>();
  private started = false;
  private loaded = false;
  private leading = false;
  private restoredLogged = false;

  constructor(opts: AlertManagerOptions) {
    this.opts = opts;
    this.notifiers = opts.notifiers ?? createNotifiers(opts.config.notifiers, { logger: opts.logger, ...(opts.write ? { write: opts.write } : {}) });
    const retry = (name: string): RetryPolicy => {
      const c = opts.config.notifiers[name];
      return c ? { maxAttempts: c.retry.maxAttempts, initialBackoff: c.retry.initialBackoff, maxBackoff: c.retry.maxBackoff } : DEFAULT_RETRY;
    };
    this.outbox = new Outbox({
      dir: opts.outboxDir ?? join(resolvePath(opts.config.path.data), 'outbox'),
      notifiers: this.notifiers,
      retry,
      logger: opts.logger,
    });
  }

  private now(): Date {
    return this.opts.now?.() ?? new Date();
  }

  /** Loads state from the store and starts delivering the outbox (including what a previous run left). */
  async start(): Promise<void> {
    if (this.started) return;
    await this.load();
    this.outbox.start();
    this.started = true;
  }

  private async load(): Promise<void> {
    if (this.loaded) return;
    await this.opts.store.init();
    this.states.clear();
    for (const s of await this.opts.store.loadAlerts()) this.states.set(s.key, s);
    this.cursorMap = await this.opts.store.loadCursors();
    this.loaded = true;
    const firing = [...this.states.values()].filter((s) => s.status === 'firing').length;
    // Said once per process; a reload after taking over the lease is not a restore.
    if (firing > 0 && !this.restoredLogged) this.opts.logger.info({ firing }, `restored ${firing} firing alert(s) from the ${this.opts.store.kind} state store`);
    else if (this.restoredLogged) this.opts.logger.debug({ firing }, `reloaded alert state from the ${this.opts.store.kind} state store (rules lease taken over)`);
    this.restoredLogged = true;
  }

  /** Delivers what it can within `timeoutMs`; the rest stays in the outbox for the next start. Safe twice. */
  async stop(timeoutMs = 5000): Promise<void> {
    if (!this.started) return;
    this.started = false;
    await this.outbox.stop(timeoutMs);
    await Promise.all([...this.notifiers.values()].map((n) => n.close?.()));
  }

  get isStarted(): boolean {
    return this.started;
  }

  /** End of the last evaluated window per rule (ISO), for catch-up after a restart. */
  cursors(): Record<string, string> {
    return { ...this.cursorMap };
  }

  /** Current alert states (copies). */
  alerts(): AlertState[] {
    return [...this.states.values()].map((s) => structuredClone(s));
  }

  get outboxPending(): number {
    return this.outbox.pending();
  }

  /** Waits until the outbox is empty (tests, `rules test --notify`). */
  drain(timeoutMs?: number): Promise<boolean> {
    return this.outbox.drain(timeoutMs);
  }

  async process(results: RuleResult[], rules: AlertRule[] | Map<string, AlertRule>): Promise<ProcessReport> {
    const lease = this.opts.lease;
    if (lease) {
      if (!lease.isLeader()) {
        this.leading = false;
        return { standby: true, transitions: [], enqueued: 0, messages: [] };
      }
      // Just took over: the previous leader moved the alerts on since we last read them.
      if (!this.leading) this.loaded = false;
      this.leading = true;
    }
    await this.load();
    const byName = rules instanceof Map ? rules : new Map(rules.map((r) => [r.name, r]));
    const now = this.now();
    const silences = await this.opts.store.loadSilences();
    const kibanaUrl = this.opts.kibanaUrl ?? this.opts.config.rules?.kibanaUrl;
    const report: ProcessReport = { transitions: [], enqueued: 0, messages: [] };
    const changed = new Map<string, AlertState>();
    const windowEnds = new Map<string, string>();

    // Oldest window first, so catch-up over several windows walks the state machine in order.
    const ordered = [...results].sort((a, b) => Date.parse(a.window.to) - Date.parse(b.window.to));
    for (const r of ordered) {
      const rule = byName.get(r.rule);
      const policy: AlertPolicy = { for: rule?.for ?? 1 };
      const realert = realertMs(rule?.realert);
      if (realert) policy.realertMs = realert;
      const until = silencedUntil(silences, r, now);
      if (until) policy.silencedUntil = until;

      const key = alertKey(r);
      const { state, transitions } = step(this.states.get(key), r, now, policy);
      if (state !== this.states.get(key)) {
        state.type = r.type;
        if (rule?.notify) state.notify = [...rule.notify];
        delete state.reason;
      }
      if (state !== this.states.get(key)) {
        this.states.set(key, state);
        changed.set(key, state);
      }
      const prevEnd = windowEnds.get(r.rule);
      if (!prevEnd || Date.parse(r.window.to) > Date.parse(prevEnd)) windowEnds.set(r.rule, r.window.to);

      for (const t of transitions) this.announce(t, state, rule?.notify ?? [], kibanaUrl, report);
    }

    if (changed.size > 0) await this.opts.store.saveAlerts([...changed.values()]);
    if (report.transitions.length > 0) await this.opts.store.recordEvents(report.transitions.map(toEvent));
    for (const [rule, end] of windowEnds) {
      const prev = this.cursorMap[rule];
      if (!prev || Date.parse(end) > Date.parse(prev)) {
        await this.opts.store.saveCursor(rule, end);
        this.cursorMap[rule] = end;
      }
    }
    return report;
  }

  private announce(t: Transition, state: AlertState, notify: readonly string[], kibanaUrl: string | undefined, report: ProcessReport): void {
    report.transitions.push(t);
    if (!t.message) return;
    const msg = buildMessage(t, state, kibanaUrl);
    report.messages.push(msg);
    for (const name of notify) {
      if (!this.outbox.has(name)) {
        if (!this.warnedUnknown.has(`${t.rule}|${name}`)) {
          this.warnedUnknown.add(`${t.rule}|${name}`);
          this.opts.logger.error({ 'rule.name': t.rule, 'notifier.name': name }, `rule "${t.rule}" notifies "${name}", which is not configured under notifiers:; its alerts are recorded but not sent there`);
        }
        continue;
      }
      if (this.outbox.enqueue(name, msg)) report.enqueued += 1;
    }
    this.opts.logger.info({ 'alert.key': t.key, 'event.action': t.message, 'rule.name': t.rule, ...(t.reason ? { 'event.reason': t.reason } : {}) }, `alert ${t.message}: ${t.rule} on ${t.field}${t.segment ? ` [${t.segment}]` : ''}${t.reason ? ` (${t.reason})` : ''}`);
  }

  /**
   * Resolves the alerts of rules that no longer exist (`rules`: the names of every rule the agent
   * now runs): firing ones recover with reason "rule removed", told to the notifiers the rule had,
   * pending ones go back to ok. Call it after the rules are loaded or reloaded.
   */
  async retireRemoved(rules: readonly string[]): Promise<ProcessReport> {
    const report: ProcessReport = { transitions: [], enqueued: 0, messages: [] };
    if (this.opts.lease && !this.opts.lease.isLeader()) return { ...report, standby: true };
    await this.load();
    const names = new Set(rules);
    const now = this.now();
    const kibanaUrl = this.opts.kibanaUrl ?? this.opts.config.rules?.kibanaUrl;
    const changed: AlertState[] = [];
    for (const prev of [...this.states.values()]) {
      if (names.has(prev.rule)) continue;
      const out = retire(prev, now, 'rule removed');
      if (!out) continue;
      this.states.set(prev.key, out.state);
      changed.push(out.state);
      for (const t of out.transitions) this.announce(t, out.state, prev.notify ?? [], kibanaUrl, report);
    }
    if (changed.length) await this.opts.store.saveAlerts(changed);
    if (report.transitions.length) await this.opts.store.recordEvents(report.transitions.map(toEvent));
    return report;
  }
}

function realertMs(v: number | string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'number') return v > 0 ? v : undefined;
  const ms = parseDuration(v);
  return ms && ms > 0 ? ms : undefined;
}
