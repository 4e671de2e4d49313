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

async function metricsPlugin(app: FastifyInstance): Promise<void> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "mmsim_process_" });
  const requests = new Counter({
    name: "mmsim_http_requests_total",
    help: "HTTP requests by method, route and status code",
    labelNames: ["method", "route", "status_code"] as const,
    registers: [registry],
  });
  const syscalls = new Counter({
    name: "mmsim_syscalls_total",
    help: "Calls executed (single and batched) by call name and errno (none = success)",
    labelNames: ["call", "errno"] as const,
    registers: [registry],
  });
  const faults = new Counter({
    name: "mmsim_faults_total",
    help: "Page faults taken by tasks during calls, by kind (minor, major)",
    labelNames: ["kind"] as const,
    registers: [registry],
  });
  const minorFaults = faults.labels("minor");
  const majorFaults = faults.labels("major");
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

  const bound = new Map<string, ReturnType<typeof syscalls.labels>>();
  const observe: Metrics["observe"] = (call, errno, minor, major) => {
    const key = errno === null ? call : `${call}\0${errno}`;
    let c = bound.get(key);
    if (!c) {
      c = syscalls.labels(call, errno ?? "none");
      bound.set(key, c);
    }
    c.inc();
    if (minor) minorFaults.inc(minor);
    if (major) majorFaults.inc(major);
  };

  const byRoute = new Map<string, ReturnType<typeof requests.labels>>();
  app.addHook("onResponse", (req, reply, done) => {
    const route = req.routeOptions.url ?? "unmatched";
    const key = `${req.method} ${route} ${reply.statusCode}`;
    let c = byRoute.get(key);
    if (!c) {
      c = requests.labels(req.method, route, String(reply.statusCode));
      byRoute.set(key, c);
    }
    c.inc();
    done();
  });

  app.decorate("metrics", { registry, observe });
}

export default fp(metricsPlugin, { name: "metrics", dependencies: ["machines"] });
