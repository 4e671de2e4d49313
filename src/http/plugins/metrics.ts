/**
 * Prometheus metrics (prom-client, one registry per app): requests by route and status, syscalls by
 * name and errno, faults by kind, machines and tasks. Counters for the hot path are bound once per
 * label set, so a call costs a map lookup and an add.
 */
import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import { Counter, collectDefaultMetrics, Gauge, Registry } from "prom-client";
import type { CallContext } from "../calls.js";

export interface Metrics {
  readonly registry: Registry;
  readonly observe: CallContext["observe"];
}

declare module "fastify" {
  interface FastifyInstance {
    metrics: Metrics;
  }
}

/** Counts kept as plain numbers on the hot path and copied into a prom-client counter at scrape time. */
class Tally<L extends string> {
  private readonly counts = new Map<string, { labels: Record<L, string>; n: number }>();
  constructor(readonly counter: Counter<L>) {}
  add(key: string, labels: () => Record<L, string>, n = 1): void {
    const c = this.counts.get(key);
    if (c) c.n += n;
    else this.counts.set(key, { labels: labels(), n });
  }
  /** Publish (called from the counter's collect(), i.e. once per scrape). */
  publish(): void {
    this.counter.reset();
    for (const { labels, n } of this.counts.values()) this.counter.inc(labels, n);
  }
}

async function metricsPlugin(app: FastifyInstance): Promise<void> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "mmsim_process_" });
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]): Tally<L> => {
    const t: Tally<L> = new Tally(
      new Counter<L>({
        name,
        help,
        labelNames,
        registers: [registry],
        collect: () => t.publish(),
      }),
    );
    return t;
  };
  const requests = counter("mmsim_http_requests_total", "HTTP requests by method, route and status code", [
    "method",
    "route",
    "status_code",
  ] as const);
  const syscalls = counter(
    "mmsim_syscalls_total",
    "Calls executed (single and batched) by call name and errno (none = success)",
    ["call", "errno"] as const,
  );
  const faults = counter(
    "mmsim_faults_total",
    "Page faults taken by tasks during calls, by kind (minor, major)",
    ["kind"] as const,
  );
  new Gauge({
    name: "mmsim_machines",
    help: "Machines alive",
    registers: [registry],
    collect() {
      this.set(app.machines.size);
    },
  });
  new Gauge({
    name: "mmsim_tasks",
    help: "Tasks on all machines (zombies included)",
    registers: [registry],
    collect() {
      this.set(app.machines.taskCount());
    },
  });

  const observe: Metrics["observe"] = (call, errno, minor, major) => {
    syscalls.add(errno === null ? call : `${call} ${errno}`, () => ({ call, errno: errno ?? "none" }));
    if (minor) faults.add("minor", () => ({ kind: "minor" }), minor);
    if (major) faults.add("major", () => ({ kind: "major" }), major);
  };

  app.addHook("onResponse", (req, reply, done) => {
    const route = req.routeOptions.url ?? "unmatched";
    const status = reply.statusCode;
    requests.add(`${req.method} ${route} ${status}`, () => ({
      method: req.method,
      route,
      status_code: String(status),
    }));
    done();
  });

  app.decorate("metrics", { registry, observe });
}

export default fp(metricsPlugin, { name: "metrics", dependencies: ["machines"] });
