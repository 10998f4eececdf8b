/**
 * Loads the runtime (and with it pg) for a command that uses a database.
 *
 * pg decides at load time whether it runs on Cloudflare Workers: it reads
 * `navigator.userAgent`, and where there is no `navigator` (Node 20) it
 * builds a `Response`, which makes Node load its whole fetch implementation
 * (undici): about a quarter of a `tenant list --json` run's own cost. Node 21
 * and later define `navigator` themselves; on Node 20 one is defined, as
 * they define it, only while pg loads, and removed again.
 */
import type * as RuntimeModule from '../runtime/runtime.js';

export async function loadRuntime(): Promise<typeof RuntimeModule> {
  if ('navigator' in globalThis) return import('../runtime/runtime.js');
  Object.defineProperty(globalThis, 'navigator', { value: { userAgent: `Node.js/${process.versions.node.split('.')[0]}` }, configurable: true });
  try {
    return await import('../runtime/runtime.js');
  } finally {
    delete (globalThis as { navigator?: unknown }).navigator;
  }
}
