import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { runService, type ProcessHost, type Service, type ShutdownSignal } from '../../src/reference/run-service.js';
import { EXIT, UsageError } from '../../src/errors.js';

/** A process stand-in: signals are emitted by the test, exits are recorded and awaited. */
function fakeHost() {
  const signals = new EventEmitter();
  let output = '';
  const exits: number[] = [];
  let onExit: (code: number) => void = () => undefined;
  const exited = new Promise<number>((resolve) => (onExit = resolve));
  const host: ProcessHost = {
    on: (event, listener) => signals.on(event, listener),
    exit(code) {
      exits.push(code);
      onExit(code);
    },
    stderr: { write: (chunk: string) => (output += chunk) },
  };
  return { host, exits, exited, send: (s: ShutdownSignal) => signals.emit(s), output: () => output };
}

function service(stop: () => Promise<string>): Service & { calls: number } {
  const s = {
    calls: 0,
    stopping: 'draining',
    stop: () => {
      s.calls++;
      return stop();
    },
  };
  return s;
}

describe('runService', () => {
  it('stops gracefully on the first signal and exits 0 with the service’s last line', async () => {
    const h = fakeHost();
    const svc = service(async () => 'stopped (3 pools closed)');
    await runService({ name: 'svc', start: async () => svc, stopBoundMs: 60_000 }, h.host);
    h.send('SIGTERM');
    expect(await h.exited).toBe(EXIT.ok);
    expect(svc.calls).toBe(1);
    // JSON lines (pino): the messages, in order, end with the signal's and the service's last line.
    const lines = h
      .output()
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as { msg: string; level: string; name: string });
    expect(lines.slice(-2).map((l) => l.msg)).toEqual(['SIGTERM: draining', 'stopped (3 pools closed)']);
    expect(lines.at(-1)).toMatchObject({ level: 'info', name: 'svc' });
  });

  it('treats the same signal again right away as one request (npm forwards what the terminal sent)', async () => {
    const h = fakeHost();
    let finish: (line: string) => void = () => undefined;
    const svc = service(() => new Promise<string>((resolve) => (finish = resolve)));
    await runService({ name: 'svc', start: async () => svc, stopBoundMs: 60_000 }, h.host);
    h.send('SIGINT');
    h.send('SIGINT');
    expect(h.exits).toEqual([]);
    finish('stopped');
    expect(await h.exited).toBe(EXIT.ok);
    expect(svc.calls).toBe(1);
    expect(h.exits).toEqual([EXIT.ok]);
  });

  it('exits 130 at once on a second signal', async () => {
    const h = fakeHost();
    const svc = service(() => new Promise<string>(() => undefined));
    await runService({ name: 'svc', start: async () => svc, stopBoundMs: 60_000, repeatWindowMs: 0 }, h.host);
    h.send('SIGTERM');
    h.send('SIGTERM');
    expect(await h.exited).toBe(EXIT.interrupted);
    expect(h.output()).toContain('SIGTERM again: exiting at once');
  });

  it('a different signal is a second one even inside the repeat window', async () => {
    const h = fakeHost();
    await runService({ name: 'svc', start: async () => service(() => new Promise<string>(() => undefined)), stopBoundMs: 60_000 }, h.host);
    h.send('SIGTERM');
    h.send('SIGINT');
    expect(await h.exited).toBe(EXIT.interrupted);
  });

  it('exits 1 when stopping takes longer than the bound', async () => {
    const h = fakeHost();
    await runService({ name: 'svc', start: async () => service(() => new Promise<string>(() => undefined)), stopBoundMs: 20 }, h.host);
    h.send('SIGTERM');
    expect(await h.exited).toBe(EXIT.failed);
    expect(h.output()).toContain('did not stop within');
  });

  it('a signal during start stops the service once it is up', async () => {
    const h = fakeHost();
    let up: (s: Service) => void = () => undefined;
    const svc = service(async () => 'stopped');
    const running = runService({ name: 'svc', start: () => new Promise<Service>((resolve) => (up = resolve)), stopBoundMs: 60_000 }, h.host);
    h.send('SIGTERM');
    expect(h.exits).toEqual([]);
    up(svc);
    await running;
    expect(await h.exited).toBe(EXIT.ok);
    expect(svc.calls).toBe(1);
  });

  it('reports a failed start with the error’s exit code and hint, redacted', async () => {
    const h = fakeHost();
    const failing = async (): Promise<Service> => {
      throw new UsageError('bad META_DATABASE_URL postgres://u:hunter2@db/meta', { hint: 'fix it' });
    };
    await runService({ name: 'tenant-server', start: failing, stopBoundMs: 1_000 }, h.host);
    expect(h.exits).toEqual([EXIT.usage]);
    expect(h.output()).toContain('tenant-server failed to start: bad META_DATABASE_URL');
    expect(h.output()).toContain('hint: fix it');
    expect(h.output()).not.toContain('hunter2');
  });
});
