/**
 * A TCP proxy in front of the test PostgreSQL for fault injection on a real
 * server, not a mock:
 * - freeze()/thaw(): data stops flowing both ways while sockets stay open,
 *   which is what a hung network or a dead host looks like to a client;
 * - cut(): every open connection is torn down at once (a TCP reset by
 *   default, like a firewall or a failover), new ones are accepted again;
 * - refuse(): new connections are reset as soon as they arrive (the database
 *   host is unreachable) until accept(); refuseNext(n) refuses only the next
 *   n attempts (a server that comes back a moment later).
 */
import net from 'node:net';

export interface TcpProxy {
  port: number;
  /** Connections currently open through the proxy. */
  readonly connections: number;
  /** Connections accepted since start. */
  readonly accepted: number;
  freeze(): void;
  thaw(): void;
  /** Destroys every open connection (RST unless reset is false); returns how many. Thaws. */
  cut(options?: { reset?: boolean }): number;
  /** Resets every new connection until accept(). */
  refuse(): void;
  accept(): void;
  /** Resets only the next `count` new connections. */
  refuseNext(count: number): void;
  /** The server goes away: refuse() new connections and cut() the open ones. */
  down(): void;
  /** The server is back: accept(). */
  up(): void;
  close(): Promise<void>;
}

interface Pair {
  a: net.Socket;
  b: net.Socket;
}

export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  const pairs = new Set<Pair>();
  let frozen = false;
  let refusing = false;
  let refuseCount = 0;
  let accepted = 0;
  const server = net.createServer((a) => {
    if (refusing || refuseCount > 0) {
      if (refuseCount > 0) refuseCount--;
      a.on('error', () => undefined);
      a.resetAndDestroy();
      return;
    }
    accepted++;
    const b = net.connect(targetPort, targetHost);
    const pair = { a, b };
    pairs.add(pair);
    const close = () => {
      pairs.delete(pair);
      a.destroy();
      b.destroy();
    };
    a.on('error', close).on('close', close);
    b.on('error', close).on('close', close);
    a.pipe(b);
    b.pipe(a);
    if (frozen) {
      a.pause();
      b.pause();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const proxy: TcpProxy = {
    port,
    get connections() {
      return pairs.size;
    },
    get accepted() {
      return accepted;
    },
    freeze() {
      frozen = true;
      for (const { a, b } of pairs) {
        a.unpipe(b);
        b.unpipe(a);
        a.pause();
        b.pause();
      }
    },
    thaw() {
      frozen = false;
      for (const { a, b } of pairs) {
        a.pipe(b);
        b.pipe(a);
        a.resume();
        b.resume();
      }
    },
    cut({ reset = true } = {}) {
      frozen = false;
      const victims = [...pairs];
      pairs.clear();
      for (const { a, b } of victims) {
        // The client side gets the RST; the server side just loses its peer.
        if (reset && !a.destroyed) a.resetAndDestroy();
        else a.destroy();
        b.destroy();
      }
      return victims.length;
    },
    refuse() {
      refusing = true;
    },
    accept() {
      refusing = false;
    },
    refuseNext(count) {
      refuseCount = count;
    },
    down() {
      proxy.refuse();
      proxy.cut();
    },
    up() {
      proxy.accept();
    },
    async close() {
      for (const { a, b } of pairs) {
        a.destroy();
        b.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return proxy;
}
