/**
 * When a fleet run stops starting tenants: the one rule every runner of the
 * run applies, at each claim, to the run's counts as the meta database has
 * them (so it holds across runners, not per process).
 *
 * In order: a canary failed; --fail-fast after a failure; --max-failures;
 * --max-failure-rate once --min-sample tenants finished; and the wave gate:
 * a wave (or the first wave after the canaries) starts only when the
 * failures so far are within --max-failure-rate (zero when not given). Only
 * queued tenants count: those decided without connecting are no sample.
 */

export interface RunPolicy {
  failFast: boolean;
  /** Infinity when not limited. */
  maxFailures: number;
  /** Percent, or null when not limited. */
  maxFailureRate: number | null;
  minSample: number;
}

/** Counts of one wave's queued tenants. */
export interface WaveCounts {
  wave: number;
  /** Never claimed. */
  pending: number;
  /** Claimed, lease not run out. */
  running: number;
  /** Claimed, lease run out (its runner is gone): claimable again. */
  expired: number;
  succeeded: number;
  failed: number;
  skipped: number;
}

export type RunDecision =
  | { kind: 'stop'; reason: string }
  /** Claim from this wave. */
  | { kind: 'claim'; wave: number }
  /** Nothing to claim now: tenants are running (on this or other runners). */
  | { kind: 'wait'; reason: string }
  /** Nothing left to claim or run: the run can end. */
  | { kind: 'end' };

export function decide(waves: readonly WaveCounts[], policy: RunPolicy, canaryFailures: readonly string[]): RunDecision {
  const sorted = [...waves].sort((a, b) => a.wave - b.wave);
  const failed = sum(sorted, (w) => w.failed);
  const sample = failed + sum(sorted, (w) => w.succeeded);
  const running = sum(sorted, (w) => w.running);
  // Nothing left to start: no stop is needed, the run ends once the running ones are done.
  if (!sorted.some((w) => w.pending + w.expired > 0)) {
    return running > 0 ? { kind: 'wait', reason: `${running} tenant(s) still running` } : { kind: 'end' };
  }
  if (canaryFailures.length > 0) {
    return { kind: 'stop', reason: `canary ${canaryFailures.join(', ')} failed; no other tenant was started` };
  }
  if (policy.failFast && failed > 0) return { kind: 'stop', reason: `stopped after a failure (--fail-fast)` };
  if (failed >= policy.maxFailures) return { kind: 'stop', reason: `stopped after ${failed} failures (--max-failures ${policy.maxFailures})` };
  if (policy.maxFailureRate !== null && sample >= policy.minSample && exceeds(failed, sample, policy.maxFailureRate)) {
    return { kind: 'stop', reason: `${rateText(failed, sample)} failed, above --max-failure-rate ${policy.maxFailureRate}%` };
  }
  const open = sorted.find((w) => w.pending + w.running + w.expired > 0) as WaveCounts;
  if (open.pending + open.expired === 0) {
    return { kind: 'wait', reason: `${open.wave === 0 ? 'the canaries' : `wave ${open.wave}`} still running (${open.running} tenant(s))` };
  }
  const untouched = open.running + open.expired + open.succeeded + open.failed + open.skipped === 0;
  const earlier = sorted.some((w) => w.wave < open.wave);
  if (untouched && earlier && exceeds(failed, sample, policy.maxFailureRate ?? 0)) {
    const budget = policy.maxFailureRate ?? 0;
    return {
      kind: 'stop',
      reason: `${rateText(failed, sample)} failed before wave ${open.wave}, above the failure budget of ${budget}%`,
    };
  }
  return { kind: 'claim', wave: open.wave };
}

function exceeds(failed: number, sample: number, ratePct: number): boolean {
  return sample > 0 && failed * 100 > ratePct * sample;
}

function rateText(failed: number, sample: number): string {
  return `${failed} of ${sample} tenants (${Math.round((failed * 1000) / sample) / 10}%)`;
}

function sum<T>(items: readonly T[], of: (item: T) => number): number {
  return items.reduce((total, item) => total + of(item), 0);
}
