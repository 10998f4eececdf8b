/**
 * Renders `tenant credentials` results: the credential block of `show`, one
 * line per tenant as a rotation or isolation goes, and the totals. Nothing
 * here ever sees a password except a revealed URL, which is printed only
 * where `show --reveal` asked for it.
 */
import type { ChalkInstance } from 'chalk';
import { errorOf, type CredentialError, type RotationResult, type RotationStatus } from '../provision/credential-rotation.js';
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

/** A result of isolateTenants (src/provision/credential-isolation.ts), as far as the view reads it. */
export interface IsolationView {
  tenant: { id: string; slug: string };
  outcome: string;
  ownerRole?: string;
  appRole?: string;
  reowned: number;
  revokedFrom: string[];
  durationMs: number;
  error?: { code: string; message: string; hint?: string | undefined };
}

export function isolationLine(c: ChalkInstance, r: IsolationView): string {
  const slug = c.bold(shown(r.tenant.slug));
  if (r.outcome === 'failed') return `${slug}: ${credentialStatusLabel(c, 'failed')}: ${errorText(r.error && errorOf(r.error))}`;
  if (r.outcome !== 'isolated') return `${slug}: ${c.dim(shown(r.outcome))}`;
  const roles = `owner ${shown(r.ownerRole ?? '-')}, app ${shown(r.appRole ?? '-')}`;
  const reowned = r.reowned > 0 ? `, ${r.reowned} object(s) re-owned` : '';
  const revoked = r.revokedFrom.length > 0 ? `; ${r.revokedFrom.map(shown).join(', ')} lost access` : '';
  return `${slug}: ${credentialStatusLabel(c, 'isolated')} (${roles}${reowned})${revoked}`;
}

export function isolationJson(r: IsolationView): Record<string, unknown> {
  return {
    tenantId: r.tenant.id,
    slug: r.tenant.slug,
    status: r.outcome,
    ownerRole: r.ownerRole ?? null,
    appRole: r.appRole ?? null,
    reowned: r.reowned,
    revokedFrom: r.revokedFrom,
    durationMs: Math.round(r.durationMs),
    ...(r.error ? { error: errorOf(r.error) } : {}),
  };
}
