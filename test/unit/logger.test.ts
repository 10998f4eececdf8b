/** The reference log: JSON lines, redacted messages and fields, levels; request ids. */
import { describe, expect, it } from 'vitest';
import { createLogger, redactFields } from '../../src/reference/logger.js';
import { requestIdFor } from '../../src/reference/app.js';

function capture(level?: 'info' | 'warn') {
  let out = '';
  const logger = createLogger({ name: 'tenant-server', stream: { write: (s: string) => (out += s) }, ...(level ? { level } : {}) });
  return {
    logger,
    lines: () =>
      out
        .trimEnd()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe('logger', () => {
  it('writes one JSON object per line with level, ISO time, pid, name and message', () => {
    const { logger, lines } = capture();
    logger.info({ reqId: 'r1', route: '/x/:id', status: 200 }, 'GET /x/:id 200');
    expect(lines()).toEqual([
      {
        level: 'info',
        time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        pid: process.pid,
        name: 'tenant-server',
        reqId: 'r1',
        route: '/x/:id',
        status: 200,
        msg: 'GET /x/:id 200',
      },
    ]);
  });

  it('redacts passwords in messages and in fields, nested too', () => {
    const { logger, lines } = capture();
    logger.error(
      { url: 'postgres://app:hunter2@db/x', nested: { dsn: 'host=db password=hunter2' }, list: ['postgres://a:hunter2@h/d'] },
      'failed on postgres://app:hunter2@db/x',
    );
    const text = JSON.stringify(lines());
    expect(text).not.toContain('hunter2');
    expect(text).toContain('postgres://app:***@db/x');
    expect(redactFields(new Error('postgres://u:hunter2@h/d'))).toEqual({ type: 'Error', message: 'postgres://u:***@h/d' });
  });

  it('formats lines for reading on a terminal, with the same fields and the same redaction', () => {
    let out = '';
    const logger = createLogger({ name: 'tenant-server', stream: { write: (s: string) => (out += s) }, pretty: true });
    logger.warn({ route: '/x/:id', status: 503, url: 'postgres://app:hunter2@db/x' }, 'GET /x/:id 503');
    const plain = out.replace(/\x1b\[[0-9;]*m/g, '');
    expect(() => JSON.parse(plain) as unknown).toThrow();
    expect(plain).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] WARN \(tenant-server\): GET \/x\/:id 503\n/);
    expect(plain).toContain('route: "/x/:id"');
    expect(plain).toContain('status: 503');
    expect(plain).not.toContain('hunter2');
    expect(plain).toContain('postgres://app:***@db/x');
  });

  it('honours the level (LOG_LEVEL)', () => {
    const { logger, lines } = capture('warn');
    logger.info('quiet');
    logger.warn('loud');
    expect(lines().map((l) => l.msg)).toEqual(['loud']);
  });
});

describe('request ids', () => {
  it('keeps a sane X-Request-ID and replaces anything else with a UUID', () => {
    expect(requestIdFor('abc-123_x.y:z')).toBe('abc-123_x.y:z');
    for (const bad of [undefined, '', 'has space', 'x'.repeat(129), ['a', 'b'], 'line\nbreak']) {
      expect(requestIdFor(bad)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    }
  });
});
