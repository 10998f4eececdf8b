/**
 * Removes secrets from text before it reaches a terminal, a log or an HTTP
 * body: passwords in connection URLs and in key=value connection strings.
 */
import { hidePassword } from './connection-url.js';

const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*):([^@\s]*)@/gi;
const KV_PASSWORD = /\b(password|pwd)\s*=\s*('[^']*'|"[^"]*"|\S+)/gi;

export function redact(text: string): string {
  return text.replace(URL_PASSWORD, '$1:***@').replace(KV_PASSWORD, '$1=***');
}

/** A connection URL safe to show: password replaced, everything else kept (socket URLs too). */
export function redactUrl(url: string): string {
  return hidePassword(url) ?? redact(url);
}
