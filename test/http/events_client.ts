/**
 * A real `ws` client for the event streams that checks the protocol as it reads: every message is
 * a non-empty JSON array, every item validates against the catalogue (ServerItem), and each
 * machine's seqs only go up (within one subscription). Tests wait on what it has collected.
 */
import { once } from "node:events";
import type { Socket } from "node:net";
import { afterEach, expect } from "vitest";
import WebSocket from "ws";
import { ServerItem, type ServerItemT, type WireEvent } from "../../src/events/wire.js";
import type { Server } from "./helpers.js";

export interface Closed {
  code: number;
  reason: string;
}

export class EventClient {
  readonly items: ServerItemT[] = [];
  /** Protocol violations seen (a test asserts there are none). */
  readonly problems: string[] = [];
  readonly closed: Promise<Closed>;
  messages = 0;
  private readonly lastSeq = new Map<string, number>();
  private waiters: (() => void)[] = [];

  constructor(readonly ws: WebSocket) {
    ws.on("message", (data, isBinary) => this.onMessage(data as Buffer, isBinary));
    this.closed = new Promise((resolve) => {
      ws.on("close", (code, reason) => {
        resolve({ code, reason: reason.toString() });
        this.wake();
      });
    });
    ws.on("error", () => {});
  }

  /** Open a stream (path under the server, e.g. /v1/machines/default/events?types=fault). */
  static async open(
    s: Server,
    path: string,
    headers: Record<string, string> = {},
    protocols: string[] = [],
  ): Promise<EventClient> {
    const ws = new WebSocket(`${s.url.replace("http", "ws")}${path}`, protocols, { headers });
    const c = new EventClient(ws);
    await once(ws, "open");
    await c.until((cl) => cl.items.some((i) => i.type === "subscribed"));
    return c;
  }

  /** The upgrade fails: the HTTP status and body the server answered with. */
  static async refused(
    s: Server,
    path: string,
    headers: Record<string, string> = {},
    protocols: string[] = [],
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const ws = new WebSocket(`${s.url.replace("http", "ws")}${path}`, protocols, { headers });
    ws.on("error", () => {});
    const [, res] = (await once(ws, "unexpected-response")) as [unknown, import("node:http").IncomingMessage];
    const socket = res.socket;
    let text = "";
    for await (const chunk of res) text += chunk;
    socket.destroy();
    ws.terminate();
    return { status: res.statusCode!, body: JSON.parse(text) };
  }

  get events(): WireEvent[] {
    return this.items.filter((i): i is WireEvent => "seq" in i);
  }

  of<T extends ServerItemT["type"]>(type: T): Extract<ServerItemT, { type: T }>[] {
    return this.items.filter((i) => i.type === type) as Extract<ServerItemT, { type: T }>[];
  }

  send(op: unknown): void {
    this.ws.send(typeof op === "string" ? op : JSON.stringify(op));
  }

  /** Resolve once pred holds for what has arrived (checked after each message and on close). */
  async until(pred: (c: EventClient) => boolean, what = "condition", timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred(this)) {
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${what} (${this.items.length} items)`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
  }

  /** A ping op and its pong: everything sent before the pong has been received. */
  async sync(): Promise<void> {
    const id = `sync-${Math.random()}`;
    this.send({ op: "ping", id });
    await this.until((c) => c.items.some((i) => i.type === "pong" && i.id === id), "pong");
  }

  /** Stop reading from the socket: the server's sends back up (a stalled client). */
  stall(): void {
    this.socket.pause();
  }
  resume(): void {
    this.socket.resume();
  }
  private get socket(): Socket {
    return (this.ws as unknown as { _socket: Socket })._socket;
  }

  close(): void {
    this.ws.close();
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    this.messages++;
    if (isBinary) this.problems.push("binary message");
    let arr: unknown;
    try {
      arr = JSON.parse(data.toString("utf8"));
    } catch {
      this.problems.push(`not JSON: ${data.toString("utf8").slice(0, 80)}`);
      return;
    }
    if (!Array.isArray(arr) || arr.length === 0) {
      this.problems.push(`not a non-empty array: ${JSON.stringify(arr).slice(0, 80)}`);
      return;
    }
    for (const raw of arr) {
      const r = ServerItem.safeParse(raw);
      if (!r.success) {
        this.problems.push(`invalid item ${JSON.stringify(raw).slice(0, 200)}: ${r.error.message}`);
        continue;
      }
      const item = r.data;
      // A new subscription may replay (in-band since): order holds within one subscription.
      if (item.type === "subscribed") this.lastSeq.clear();
      if ("seq" in item) {
        const last = this.lastSeq.get(item.machine) ?? 0;
        if (item.seq <= last) this.problems.push(`seq ${item.seq} after ${last} on ${item.machine}`);
        this.lastSeq.set(item.machine, item.seq);
      }
      this.items.push(item);
    }
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const r of w) r();
  }
}

/**
 * The streams a test file opens on its server (`server()`: the one the current test started).
 * `open` connects a stream and keeps it, `keep` adopts one made by hand. After each test every kept
 * stream must have seen no protocol problem; they are cut, then the server is closed.
 */
export function streamsOf(server: () => Server | undefined) {
  const kept: EventClient[] = [];
  afterEach(async () => {
    for (const c of kept.splice(0)) {
      expect(c.problems).toEqual([]);
      c.ws.terminate();
    }
    await server()?.close();
  });
  const keep = (c: EventClient) => {
    kept.push(c);
    return c;
  };
  return {
    keep,
    open: async (path = "/v1/machines/default/events", headers?: Record<string, string>) =>
      keep(await EventClient.open(server()!, path, headers)),
  };
}

/** The seqs of a machine's events, in arrival order. */
export const seqs = (events: readonly WireEvent[], machine = "default") =>
  events.filter((e) => e.machine === machine).map((e) => e.seq);

/** 1..n */
export const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
