/**
 * The event streams: GET /machines/{mid}/events (one machine) and GET /events (every machine), both
 * WebSocket upgrades. Query validation, auth, the machine's existence, the connection limit and
 * shutdown are checked before the upgrade (HTTP errors); then the socket belongs to the hub
 * (src/events). A plain GET (no upgrade) gets 426. The protocol is documented in asyncapi.yaml.
 */
import websocket from "@fastify/websocket";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import type { z } from "zod";
import { CLOSE_CODES } from "../../../events/wire.js";
import { overLimit } from "../../errors.js";
import { BEARER_PROTOCOL_PREFIX, STREAM_PROTOCOL } from "../../plugins/auth.js";
import { MachineParams } from "../../schemas/common.js";
import { AllStreamQuery, MachineStreamQuery } from "./schemas.js";

/** Largest client message (ops are small): ws closes the connection with 1009 above it. */
const MAX_CLIENT_MESSAGE = 64 * 1024;

function upgradeRequired(_req: FastifyRequest, reply: FastifyReply) {
  return reply.code(426).header("upgrade", "websocket").send({
    statusCode: 426,
    error: "Upgrade Required",
    code: "WEBSOCKET_ONLY",
    message: "this is a WebSocket endpoint: connect with Upgrade: websocket",
  });
}

export default async function eventRoutes(base: FastifyInstance): Promise<void> {
  // Here, not at the root: its onRequest and onResponse hooks and its handler wrapper would run on
  // every request of every route (~1 µs of a call's ~30). Its 'upgrade' listener is the server's,
  // so upgrades to any route still reach the router; one to a route that is not an event stream is
  // answered over HTTP, like any request (a server may ignore Upgrade), and its socket is then
  // closed (the events plugin's onResponse hook).
  await base.register(websocket, {
    options: {
      maxPayload: MAX_CLIENT_MESSAGE,
      // Select `mmsim` when offered, else the first subprotocol that is not a token (a browser
      // fails a connection whose offer gets no answer); never echo the token.
      handleProtocols: (offered: Set<string>) => {
        if (offered.has(STREAM_PROTOCOL)) return STREAM_PROTOCOL;
        for (const p of offered) if (!p.startsWith(BEARER_PROTOCOL_PREFIX)) return p;
        return false;
      },
    },
  });
  const app = base.withTypeProvider<ZodTypeProvider>();
  const max = app.events.opts.maxSubscribers;

  /** Before the upgrade: refuse while shutting down, and past the connection limit. */
  async function admit(req: FastifyRequest, reply: FastifyReply) {
    if (!req.ws) return; // a plain GET: the handler answers 426
    if (app.draining || app.events.closing)
      return reply.code(503).send({
        statusCode: 503,
        error: "Service Unavailable",
        code: "SHUTTING_DOWN",
        message: "the server is shutting down",
      });
    if (app.events.subscriberCount >= max)
      throw overLimit("LIMIT_SUBSCRIBERS", `at most ${max} event streams at once (EVENTS_MAX_SUBSCRIBERS)`);
  }

  app.route({
    method: "GET",
    url: "/machines/:mid/events",
    schema: { hide: true, params: MachineParams, querystring: MachineStreamQuery },
    preHandler: async (req, reply) => {
      app.machines.get((req.params as z.infer<typeof MachineParams>).mid); // 404 before the upgrade
      return admit(req, reply);
    },
    handler: upgradeRequired,
    wsHandler: (socket, req) => {
      const { mid } = req.params as z.infer<typeof MachineParams>;
      const q = req.query as z.infer<typeof MachineStreamQuery>;
      if (!app.events.hasMachine(mid)) {
        socket.close(CLOSE_CODES.MACHINE_GONE, `machine ${mid} was deleted`);
        return;
      }
      app.events.connect(socket, mid, { types: q.types, pids: q.pid, mm: q.mm }, q.since);
    },
  });

  app.route({
    method: "GET",
    url: "/events",
    schema: { hide: true, querystring: AllStreamQuery },
    preHandler: admit,
    handler: upgradeRequired,
    wsHandler: (socket, req) => {
      const q = req.query as z.infer<typeof AllStreamQuery>;
      app.events.connect(
        socket,
        null,
        { types: q.types, pids: q.pid, mm: q.mm, machines: q.machine },
        q.since,
      );
    },
  });
}
