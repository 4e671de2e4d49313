/**
 * Prometheus metrics (prom-client, one registry per app): requests by route and status, syscalls by
 * name and errno, faults by kind, machines and tasks. Counters for the hot path are bound once per
 * label set, so a call costs a map lookup and an add.
 */
import type { FastifyInstance, onResponseHookHandler } from "fastify";
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
  /** Count n more under a key seen before; false when the key is new (then call add). */
  bump(key: string, n = 1): boolean {
    const c = this.counts.get(key);
    if (c === undefined) return false;
    c.n += n;
    return true;
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
    // No closure on the hot path: the labels are only built for a key seen the first time.
    if (!syscalls.bump(errno === null ? call : `${call} ${errno}`))
      syscalls.add(errno === null ? call : `${call} ${errno}`, () => ({ call, errno: errno ?? "none" }));
    if (minor) faults.add("minor", () => ({ kind: "minor" }), minor);
    if (major) faults.add("major", () => ({ kind: "major" }), major);
  };

  // Per route, per status: one map lookup and no string building on the hot path.
  const routes = new Map<string, Map<number, { n: number }>>();
  new Counter({
    name: "mmsim_http_requests_total",
    help: "HTTP requests by method, route and status code",
    labelNames: ["method", "route", "status_code"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [key, byStatus] of routes) {
        const sp = key.indexOf(" ");
        for (const [status, c] of byStatus)
          this.inc({ method: key.slice(0, sp), route: key.slice(sp + 1), status_code: String(status) }, c.n);
      }
    },
  });
  const statusesOf = (key: string) => {
    let byStatus = routes.get(key);
    if (!byStatus) {
      byStatus = new Map();
      routes.set(key, byStatus);
    }
    return byStatus;
  };
  const count = (byStatus: Map<number, { n: number }>, status: number) => {
    const c = byStatus.get(status);
    if (c) c.n++;
    else byStatus.set(status, { n: 1 });
  };
  // Each route counts in an onResponse hook of its own, made when the route is added with its
  // "METHOD /url" label (every route: the routes are added after this plugin), so no request
  // looks its route up (req.routeOptions builds an object per call).
  app.addHook("onRoute", (route) => {
    const method = Array.isArray(route.method) ? route.method.join(",") : route.method;
    const byStatus = statusesOf(`${method} ${route.url}`);
    const hook: onResponseHookHandler = (_req, reply, done) => {
      count(byStatus, reply.statusCode);
      done();
    };
    const own = route.onResponse;
    route.onResponse = own === undefined ? [hook] : [...(Array.isArray(own) ? own : [own]), hook];
  });
  // What no route matched (404s), by method.
  app.addHook("onResponse", (req, reply, done) => {
    if (req.is404) count(statusesOf(`${req.method} unmatched`), reply.statusCode);
    done();
  });

  app.decorate("metrics", { registry, observe });
}

export default fp(metricsPlugin, { name: "metrics", dependencies: ["machines"] });
