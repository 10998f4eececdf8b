/**
 * Renders `tenant credentials` results: the credential block of `show`, one
 * line per tenant as a rotation or isolation goes, and the totals. Nothing
 * here ever sees a password except a revealed URL, which is printed only
 * where `show --reveal` asked for it.
 */
import type { ChalkInstance } from 'chalk';
import type { CredentialError, RotationResult, RotationStatus } from '../provision/credential-rotation.js';
import type { TenantCredentialInfo } from '../provision/tenant-credentials.js';
import type { Terminal } from './terminal.js';
import { detailBlock, shown } from './tenant-view.js';

export function credentialsJson(info: TenantCredentialInfo): Record<string, unknown> {
  return {
    tenantId: info.tenantId,
    slug: info.slug,
    mode: info.mode,
    ownerRole: info.ownerRole,
    appRole: info.appRole,
    loginRole: info.loginRole,
    keyId: info.keyId,
    secretVersion: info.secretVersion,
    rotatedAt: info.rotatedAt?.toISOString() ?? null,
    rotating: info.rotating,
    url: info.url,
    revealed: info.revealed,
  };
}

const MODE_TEXT = {
  isolated: 'isolated (its own login role)',
  shared: 'shared (its own owner; served by the shared login)',
  legacy: 'legacy (owned and served by the shared login)',
} as const;

/**
 * The terminal redacts every password it prints; a revealed URL is the one
 * thing meant to carry one, so it goes to `writeRevealed` (stdout, as is).
 */
export function renderCredentials(term: Terminal, info: TenantCredentialInfo, writeRevealed: (text: string) => void): void {
  if (term.json) {
    if (info.revealed) writeRevealed(`${JSON.stringify(credentialsJson(info), null, 2)}\n`);
    else term.printJson(credentialsJson(info));
    return;
  }
  const c = term.c;
  term.line(c.bold(shown(info.slug)));
  term.line(
    detailBlock(c, [
      ['mode', MODE_TEXT[info.mode]],
      ['owner role', info.ownerRole === null ? '-' : shown(info.ownerRole)],
      ['app role', info.appRole === null ? '-' : shown(info.appRole)],
      ['logs in as', shown(info.loginRole)],
      ['key id', info.keyId ?? '-'],
      ['secret version', info.secretVersion === null ? '-' : String(info.secretVersion)],
      ['rotated at', info.rotatedAt?.toISOString() ?? '-'],
      ['url', info.revealed ? '(below)' : shown(info.url)],
    ]),
  );
  if (info.revealed) writeRevealed(`${shown(info.url)}\n`);
  if (info.rotating) term.warn(`a rotation was left half done; run \`tenant credentials rotate ${shown(info.slug)}\` to complete it`);
  if (info.mode !== 'isolated') term.note(`run \`tenant credentials isolate ${shown(info.slug)}\` to give it a login role of its own`);
}

export function credentialStatusLabel(c: ChalkInstance, status: string): string {
  if (status === 'failed') return c.red(status);
  if (status === 'skipped') return c.dim(status);
  return c.green(status);
}

function errorText(error: CredentialError | undefined): string {
  if (!error) return '';
  return `${shown(error.message)}${error.hint ? ` (${shown(error.hint)})` : ''}`;
}

/** One line per finished tenant (human output only; --json prints the outcome at the end). */
export function rotationLine(c: ChalkInstance, r: RotationResult): string {
  const slug = c.bold(shown(r.slug));
  switch (r.status) {
    case 'rotated':
      return `${slug}: ${credentialStatusLabel(c, r.status)}${r.resumed ? ' (completed a rotation left half done)' : ''}${
        r.version === null ? '' : `, secret version ${r.version}`
      }`;
    case 'skipped':
      return `${slug}: ${credentialStatusLabel(c, r.status)}${r.reason ? ` (${shown(r.reason)})` : ''}`;
    case 'failed':
      return `${slug}: ${credentialStatusLabel(c, r.status)}: ${errorText(r.error)}`;
  }
}

export function rotationJson(r: RotationResult): Record<string, unknown> {
  return {
    tenantId: r.tenantId,
    slug: r.slug,
    status: r.status,
    role: r.role,
    resumed: r.resumed,
    version: r.version,
    durationMs: Math.round(r.durationMs),
    ...(r.reason ? { reason: r.reason } : {}),
    ...(r.error ? { error: r.error } : {}),
  };
}

export function totalsText(counts: Record<RotationStatus, number>, done: RotationStatus = 'rotated'): string {
  return `${counts[done]} ${done}, ${counts.skipped} skipped, ${counts.failed} failed`;
}

/** What every per-tenant credential result has (rotation, isolation). */
export interface TenantOutcome {
  tenantId: string;
  slug: string;
  status: string;
  reason?: string;
  error?: CredentialError;
}

/** One line for any per-tenant credential result. */
export function outcomeLine(c: ChalkInstance, r: TenantOutcome): string {
  const slug = c.bold(shown(r.slug));
  if (r.status === 'failed') return `${slug}: ${credentialStatusLabel(c, r.status)}: ${errorText(r.error)}`;
  return `${slug}: ${credentialStatusLabel(c, r.status)}${r.reason ? ` (${shown(r.reason)})` : ''}`;
}

export function countStatuses(results: readonly TenantOutcome[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of results) counts[r.status] = (counts[r.status] ?? 0) + 1;
  return counts;
}

export function countsText(counts: Record<string, number>): string {
  const parts = Object.entries(counts).map(([status, n]) => `${n} ${shown(status)}`);
  return parts.length > 0 ? parts.join(', ') : 'no tenants';
}
