/**
 * The AsyncAPI 3 document of the event streams, generated from the same zod schemas that the
 * encoder follows and the tests validate against (src/events/wire.ts) and from the routes' query
 * schemas. `npm run asyncapi` writes it to asyncapi.yaml; a test fails when they differ.
 */
import { z } from "zod";
import { CLOSE_CODES, catalogue } from "../../../events/wire.js";
import { API_VERSION } from "../../plugins/swagger.js";
import { AllStreamQuery, MachineStreamQuery } from "./schemas.js";

type Json = Record<string, unknown>;

const REF = "#/components/schemas/";

/** A JSON Schema (draft 7, the AsyncAPI schema format's base) of a zod schema, without $schema. */
function jsonSchema(s: z.ZodType): Json {
  const out = z.toJSONSchema(s, { target: "draft-7", io: "input" }) as Json;
  delete out.$schema;
  return out;
}

/** The named schemas of the catalogue, referring to each other by #/components/schemas/<id>. */
function componentSchemas(): Json {
  const { schemas } = z.toJSONSchema(catalogue, {
    target: "draft-7",
    io: "input",
    uri: (id) => `${REF}${id}`,
  }) as { schemas: Record<string, Json> };
  const out: Json = {};
  for (const [id, s] of Object.entries(schemas)) {
    delete s.$schema;
    delete s.$id;
    out[id] = s;
  }
  return out;
}

const DESCRIPTION = `Live events of the simulated machines over WebSocket: every fault and every change to an address space, as facts emitted after the change.

**Server to client.** Each WebSocket text message is a JSON array of one or more items, in order. An item is an event (it has \`seq\`) or a control item (\`subscribed\`, \`unsubscribed\`, \`gap\`, \`pong\`, \`error\`). A busy stream coalesces many events into one message. Events carry \`{seq, time, machine, pid, mm, type, ...}\`: \`seq\` starts at 1 for a machine's first event and grows by one per event of that machine (streams of several machines interleave them); addresses are lowercase hex strings. The first item of a stream is \`subscribed\`, with each machine's latest seq.

**Mapping changes** are one event type per call (\`mmap\`, \`munmap\`, \`mprotect\`, \`mremap\`, \`brk\`, \`madvise\`, \`mlock\`, \`mlock2\`, \`munlock\`, \`mlockall\`, \`munlockall\`, \`msync\`, \`mincore\`, \`ftruncate\`, \`close\`) with the arguments, the result or errno, and the VMAs of the affected range before and after; the \`vma_split\` and \`vma_merge\` events of a call come just before the call's own event.

**Client to server.** One op per message: \`{"op":"subscribe", types?, pids?, mm?, machines?, since?}\` replaces the filter (an absent field lets everything through; with \`since\`, the ring after it is replayed first), \`{"op":"unsubscribe"}\`, \`{"op":"ping", id?}\`. A message that is not a valid op gets an \`error\` item; the connection stays open. Messages over 64 KiB close the connection (1009).

**Resume.** Each machine keeps its latest events in a ring (EVENTS_RING, default 10 000). Connecting with \`since=N\` (\`since=m1:N,m2:M\` on /v1/events) replays the events after N that are still in the ring, then goes live, with no gap and no duplicate; events no longer in the ring are reported first as \`{"type":"gap","machine","from","to"}\`. A machine records events from the first time a stream could see it until it is deleted.

**Backpressure.** A connection sends while its socket has less than EVENTS_HIGH_WATER (256 KiB) unsent, then queues up to EVENTS_QUEUE_EVENTS events / EVENTS_QUEUE_BYTES bytes; past that it drops events until its queue has drained, then sends a \`gap\` for what it dropped (per machine) and goes on. Replies to the client's own messages and gaps are never dropped (they wait in order in a 64 KiB reserve above the queue's bound). A connection that has been dropping for longer than EVENTS_SLOW_CLOSE_MS (default 30 s) is closed with ${CLOSE_CODES.TOO_SLOW}, as is one whose unread replies fill the reserve. The server pings every EVENTS_HEARTBEAT_MS (default 30 s) and cuts a connection that did not answer the previous ping.

**Close codes.** ${CLOSE_CODES.GOING_AWAY}: the server is shutting down (a client that does not answer the close within 2 s is cut). ${CLOSE_CODES.TOO_BIG}: a client message over 64 KiB. ${CLOSE_CODES.TOO_SLOW}: too slow (see backpressure). ${CLOSE_CODES.MACHINE_GONE}: the machine of a machine stream was deleted. 1006 (no close frame): a dead peer was cut.

**Auth.** With API_TOKEN set, the upgrade request needs \`Authorization: Bearer <token>\`, or (for browsers, which cannot set headers) the subprotocols \`mmsim\` and \`mmsim.bearer.<base64url(token)>\` offered together; the server then selects \`mmsim\`.

**Before the upgrade** the server answers with HTTP errors: 401 (API_TOKEN set and the token missing or wrong), 400 (a bad query), 404 (no such machine), 429 (EVENTS_MAX_SUBSCRIBERS streams open), 503 (shutting down); a plain GET gets 426.`;

export function asyncApiDocument(): Json {
  const messages = {
    events: {
      name: "events",
      title: "Events and control items",
      summary: "A JSON array of items in order",
      contentType: "application/json",
      payload: { type: "array", minItems: 1, items: { $ref: `${REF}ServerItem` } },
    },
    op: {
      name: "op",
      title: "Client op",
      summary: "subscribe, unsubscribe or ping",
      contentType: "application/json",
      payload: { $ref: `${REF}ClientOp` },
    },
  };
  const channel = (address: string, description: string, query: z.ZodType, parameters?: Json) => ({
    address,
    description,
    ...(parameters ? { parameters } : {}),
    messages: {
      events: { $ref: "#/components/messages/events" },
      op: { $ref: "#/components/messages/op" },
    },
    bindings: { ws: { method: "GET", query: jsonSchema(query), bindingVersion: "0.1.0" } },
  });
  const operations = (name: string, what: string) => ({
    [`${name}Events`]: {
      action: "send",
      channel: { $ref: `#/channels/${name}` },
      summary: `The server sends ${what}`,
      messages: [{ $ref: `#/channels/${name}/messages/events` }],
    },
    [`${name}Ops`]: {
      action: "receive",
      channel: { $ref: `#/channels/${name}` },
      summary: "The server receives client ops",
      messages: [{ $ref: `#/channels/${name}/messages/op` }],
    },
  });
  return {
    asyncapi: "3.1.0",
    info: {
      title: "mmsim events",
      version: API_VERSION,
      description: DESCRIPTION,
    },
    defaultContentType: "application/json",
    servers: {
      local: {
        host: "localhost:3000",
        protocol: "ws",
        description: "npm start (HOST and PORT set the address)",
        security: [{ $ref: "#/components/securitySchemes/bearer" }],
      },
    },
    channels: {
      machine: channel(
        "/v1/machines/{mid}/events",
        "The events of one machine. The query sets the first subscription.",
        MachineStreamQuery,
        { mid: { description: "Machine id (its name)", examples: ["default"] } },
      ),
      all: channel(
        "/v1/events",
        "The events of every machine, interleaved (each machine with its own seq). The query sets the first subscription.",
        AllStreamQuery,
      ),
    },
    operations: {
      ...operations("machine", "the machine's events"),
      ...operations("all", "every machine's events"),
    },
    components: {
      schemas: componentSchemas(),
      messages,
      securitySchemes: {
        bearer: {
          type: "http",
          scheme: "bearer",
          description:
            "Needed when the server has API_TOKEN set: the Authorization header of the upgrade request, or the subprotocol mmsim.bearer.<base64url token> beside mmsim",
        },
      },
    },
  };
}
