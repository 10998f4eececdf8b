/** The resolve hook of import-trace.mjs (runs on Node's hooks thread). */
import fs from 'node:fs';

let file;

export function initialize(data) {
  file = data?.file;
}

export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  if (file && context.parentURL && !resolved.url.startsWith('node:')) {
    fs.appendFileSync(file, `${context.parentURL}\t${resolved.url}\n`);
  }
  return resolved;
}
