/**
 * A loopback TCP proxy in front of the test PostgreSQL for connection
 * faults: cut() destroys every open connection (a server restart or a
 * dropped network as the client sees it), down() also refuses new ones
 * until up(), and refuseNext(n) refuses only the next n connection attempts
 * (a server that comes back a moment later). Real sockets, no mocks.
 */
import { EventEmitter } from 'node:events';
import net from 'node:net';

export interface FaultProxy {
  port: number;
  /** Emits 'refused' and 'accepted' for each connection attempt. */
  events: EventEmitter;
  /** Connections accepted so far (refused ones not counted). */
  readonly accepted: number;
  cut(): void;
  down(): void;
  up(): void;
  refuseNext(count: number): void;
  close(): Promise<void>;
}

export async function startFaultProxy(targetHost: string, targetPort: number): Promise<FaultProxy> {
  const sockets = new Set<net.Socket>();
  const events = new EventEmitter();
  let isDown = false;
  let refuse = 0;
  let accepted = 0;
  const server = net.createServer((a) => {
    if (isDown || refuse > 0) {
      if (refuse > 0) refuse -= 1;
      a.destroy();
      events.emit('refused');
      return;
    }
    accepted += 1;
    const b = net.connect(targetPort, targetHost);
    sockets.add(a).add(b);
    const close = () => {
      sockets.delete(a);
      sockets.delete(b);
      a.destroy();
      b.destroy();
    };
    a.on('error', close).on('close', close);
    b.on('error', close).on('close', close);
    a.pipe(b);
    b.pipe(a);
    events.emit('accepted');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const cut = () => {
    for (const socket of sockets) socket.destroy();
    sockets.clear();
  };
  return {
    port: (server.address() as net.AddressInfo).port,
    events,
    get accepted() {
      return accepted;
    },
    cut,
    down() {
      isDown = true;
      cut();
    },
    up() {
      isDown = false;
    },
    refuseNext(count) {
      refuse = count;
    },
    async close() {
      cut();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
