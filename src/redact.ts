/**
 * Removes secrets from text before it reaches a terminal, a log or an HTTP
 * body: passwords in connection URLs and in key=value connection strings.
 */
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*):([^@\s]*)@/gi;
const KV_PASSWORD = /\b(password|pwd)\s*=\s*('[^']*'|"[^"]*"|\S+)/gi;

export function redact(text: string): string {
  return text.replace(URL_PASSWORD, '$1:***@').replace(KV_PASSWORD, '$1=***');
}

/** A connection URL safe to show: password replaced, everything else kept. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return redact(url);
  }
}
