/**
 * A small closed-loop HTTP client for fault tests: a few loops per target,
 * each sending its next request as soon as the previous one answered, over
 * keep-alive loopback connections, counting answers by status per target.
 */
import http from 'node:http';
import { eventually } from './eventually.js';

export interface LoadTarget {
  name: string;
  tenantId: string;
  path: string;
  /** More request headers (the API's Authorization). */
  headers?: Record<string, string> | undefined;
}

export interface TargetCounts {
  total: number;
  ok: number;
  /** Status code (or 'network') -> count, for every answer that was not 2xx. */
  failures: Record<string, number>;
  /** A few failure bodies, for assertion messages. */
  samples: string[];
  /** ok count at the time of the last failure (to tell "recovered since"). */
  okAfterLastFailure: number;
}

export interface Load {
  /** Live counters of one target (they keep changing until stop()). */
  counts(name: string): TargetCounts;
  stop(): Promise<void>;
}

export function startLoad(base: string, targets: LoadTarget[], loopsPerTarget = 3): Load {
  const url = new URL(base);
  const agent = new http.Agent({ keepAlive: true, maxSockets: targets.length * loopsPerTarget });
  const counts = new Map<string, TargetCounts>(
    targets.map((t) => [t.name, { total: 0, ok: 0, failures: {}, samples: [], okAfterLastFailure: 0 }]),
  );
  let running = true;
  const loops = targets.flatMap((target) =>
    Array.from({ length: loopsPerTarget }, async () => {
      const c = counts.get(target.name) as TargetCounts;
      while (running) {
        const { status, body } = await request(agent, url, target);
        c.total++;
        if (status >= 200 && status < 300) {
          c.ok++;
          c.okAfterLastFailure++;
        } else {
          const key = status === 0 ? 'network' : String(status);
          c.failures[key] = (c.failures[key] ?? 0) + 1;
          c.okAfterLastFailure = 0;
          if (c.samples.length < 10) c.samples.push(`${key} ${body.slice(0, 200)}`);
          // A dead server must not become a busy loop.
          if (status === 0) await new Promise((resolve) => setTimeout(resolve, 10));
        }
      }
    }),
  );
  return {
    counts: (name) => counts.get(name) as TargetCounts,
    async stop() {
      running = false;
      await Promise.all(loops);
      agent.destroy();
    },
  };
}

function request(agent: http.Agent, url: URL, target: LoadTarget): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = http.request(
      { host: url.hostname, port: url.port, path: target.path, agent, headers: { ...target.headers, 'x-tenant-id': target.tenantId } },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', (err) => resolve({ status: 0, body: err.message }));
      },
    );
    req.on('error', (err) => resolve({ status: 0, body: err.message }));
    req.end();
  });
}

/** Load on tenants A and B through one server; resolves once both have been served (stops the load if they never are). */
export async function loadTwoTenants(
  base: string,
  a: { id: string; headers?: Record<string, string> | undefined },
  b: { id: string; headers?: Record<string, string> | undefined },
  path: string,
): Promise<{ load: Load; A: TargetCounts; B: TargetCounts }> {
  const load = startLoad(base, [
    { name: 'A', tenantId: a.id, path, headers: a.headers },
    { name: 'B', tenantId: b.id, path, headers: b.headers },
  ]);
  const A = load.counts('A');
  const B = load.counts('B');
  try {
    await eventually('both tenants are served', () => A.ok > 0 && B.ok > 0, 30_000);
  } catch (err) {
    await load.stop();
    throw err;
  }
  return { load, A, B };
}

/** Statuses a target got other than 503 (the only failure a tenant whose database is away may answer). */
export function failuresOtherThan503(counts: TargetCounts): string[] {
  return Object.keys(counts.failures).filter((status) => status !== '503');
}
