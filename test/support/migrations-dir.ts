/** A temporary copy of db/migrations with extra files, for injecting new or failing migrations. */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';
import { REPO_ROOT } from './test-environment.js';

const created: string[] = [];
// Registered when a test file imports this module: the folders it made go with it.
afterAll(async () => {
  await Promise.all(created.splice(0).map((dir) => fs.rm(dir, { recursive: true, force: true })));
});

export async function migrationsWith(extra: Record<string, string>): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'metapus-migrations-'));
  created.push(dir);
  const source = path.join(REPO_ROOT, 'db', 'migrations');
  for (const name of await fs.readdir(source)) {
    if (name.endsWith('.sql')) await fs.copyFile(path.join(source, name), path.join(dir, name));
  }
  for (const [name, text] of Object.entries(extra)) await fs.writeFile(path.join(dir, name), text);
  return dir;
}
