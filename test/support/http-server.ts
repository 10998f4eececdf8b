/** Starts an HTTP handler on a free loopback port for a test file, and stops it. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TestHttpServer {
  base: string;
  stop(): Promise<void>;
}

export async function startHttpServer(handler: http.RequestListener): Promise<TestHttpServer> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async stop() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
