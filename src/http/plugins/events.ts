/**
 * Event streams as a service of the app (`app.events`): the hub (src/events) fed by every machine
 * of the registry, metrics, and shutdown (the event routes register @fastify/websocket, in their own
 * context, so that no other route pays its per-request hooks): streams are closed
 * with 1001 before the HTTP server closes (a client that does not answer is cut after a grace
 * period), so a stalled client cannot hold the shutdown.
 */
import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import { Counter, Gauge } from "prom-client";
import type { EventsConfig } from "../../config.js";
import { EventHub } from "../../events/hub.js";
import { isUpgrade } from "../upgrade.js";

declare module "fastify" {
  interface FastifyInstance {
    events: EventHub;
  }
}

async function eventsPlugin(app: FastifyInstance, opts: { config: EventsConfig }): Promise<void> {
  const hub = new EventHub(
    { ...opts.config, frameBytes: 64 * 1024, flushEvents: 4096, closeGraceMs: 2000 },
    app.log,
  );
  for (const e of app.machines.list()) hub.addMachine(e.id, e.machine);
  app.machines.onCreate((e) => hub.addMachine(e.id, e.machine));
  app.machines.onDelete((e) => hub.removeMachine(e.id));
  app.decorate("events", hub);

  // Registered before @fastify/websocket's own preClose (the event routes register it, in a child
  // context, whose preClose runs after this one; it would wait on every client's close handshake,
  // 30 s behind a backlog): ours cuts the ones that do not answer.
  app.addHook("preClose", async () => {
    await hub.close();
  });
  // An upgrade answered over HTTP (refused before @fastify/websocket's onRequest hook ran, as auth
  // is checked first, or sent to a route that is not an event stream: only the event routes' context
  // has @fastify/websocket) would leave its socket open once the reply was sent: HTTP no longer owns
  // an upgrade's socket.
  app.addHook("onResponse", (req, _reply, done) => {
    if (isUpgrade(req.raw.headers)) req.raw.socket.destroy();
    done();
  });

  const registers = [app.metrics.registry];
  new Gauge({
    name: "mmsim_event_subscribers",
    help: "Event stream connections open",
    registers,
    collect() {
      this.set(hub.subscriberCount);
    },
  });
  const counter = (name: string, help: string, value: () => number) =>
    new Counter({
      name,
      help,
      registers,
      collect() {
        this.reset();
        const n = value();
        if (n > 0) this.inc(n);
      },
    });
  const s = hub.stats;
  counter("mmsim_events_total", "Events recorded (given a seq) on all machines", () => s.events);
  counter("mmsim_events_delivered_total", "Events handed to stream connections", () => s.delivered);
  counter(
    "mmsim_events_dropped_total",
    "Events dropped by stream connections that fell behind",
    () => s.dropped,
  );
  counter("mmsim_event_gaps_total", "Gap items sent", () => s.gaps);
  counter(
    "mmsim_events_uncatalogued_total",
    "Core facts not streamed: no type in the catalogue, or their encoding failed",
    () => s.unknown + s.failed,
  );
  new Counter({
    name: "mmsim_event_disconnects_total",
    help: "Event stream connections closed, by reason (client, slow, dead, shutdown, machine_gone)",
    labelNames: ["reason"] as const,
    registers,
    collect() {
      this.reset();
      for (const [reason, n] of Object.entries(s.closed)) if (n > 0) this.inc({ reason }, n);
    },
  });
}

export default fp(eventsPlugin, { name: "events", dependencies: ["machines", "metrics"] });
