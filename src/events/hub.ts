/**
 * The event hub: the machines' sinks, sequence numbers and replay rings, and the subscribers.
 *
 * A machine records events from the first time a stream can see it (a stream of that machine, or
 * the all-machines stream) until it is deleted; until then its sink stays null and the core builds
 * no events at all. Each fact is encoded once, when the core reports it: it gets the machine's next
 * seq and a time, goes into the machine's ring, and waits in `pending` for the next flush (at
 * setImmediate, or at once when many are waiting). A flush builds frames (JSON arrays of at most
 * `frameBytes`) once per distinct filter and hands the same buffers to every subscriber with that
 * filter; each subscriber's bounded queue (subscriber.ts) absorbs a slow socket.
 *
 * Nothing here throws into the core: a sink swallows (and counts) what it cannot encode.
 */
import type { CoreEvent } from "../core/events.js";
import type { Machine } from "../core/machine.js";
import { type EncodedFact, encodeFact } from "./encode.js";
import { EventFilter, type FilterSpec } from "./filter.js";
import { type Encoded, EventRing } from "./ring.js";
import { type DeliveryLimits, type EventSocket, type Frame, Subscriber } from "./subscriber.js";
import { CLOSE_CODES, ClientOp } from "./wire.js";

/** Zod issues listed in a BAD_MESSAGE reply. */
const MAX_REPLY_ISSUES = 10;

export interface HubOptions extends DeliveryLimits {
  /** Events each machine keeps for resuming clients. */
  ringSize: number;
  /** The largest frame, bytes (a single larger event still goes alone). */
  frameBytes: number;
  /** Flush at once when this many events wait (bounds memory during a long synchronous batch). */
  flushEvents: number;
  /** Ping every subscriber this often; one that has not answered the previous ping is cut (0: never). */
  heartbeatMs: number;
  /** Connections at once (the routes refuse more before the upgrade). */
  maxSubscribers: number;
}

export interface HubLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** Since per machine: a number for a machine stream, machine -> seq for the all-machines stream. */
export type Since = number | Readonly<Record<string, number>>;

class MachineStream {
  seq = 0;
  ring: EventRing | null = null;
  readonly idJson: string;
  constructor(
    readonly id: string,
    readonly machine: Machine,
  ) {
    this.idJson = JSON.stringify(id);
  }
}

export interface HubStats {
  /** Events recorded (given a seq). */
  events: number;
  /** Core facts with no type in the catalogue (skipped). */
  unknown: number;
  /** Facts whose encoding threw (skipped; a bug). */
  failed: number;
  delivered: number;
  /** Events dropped by overflowing connections. */
  dropped: number;
  gaps: number;
  /** Connections closed, by reason. */
  closed: Record<"client" | "slow" | "dead" | "shutdown" | "machine_gone", number>;
}

const REASONS: Record<number, keyof HubStats["closed"]> = {
  [CLOSE_CODES.TOO_SLOW]: "slow",
  [CLOSE_CODES.GOING_AWAY]: "shutdown",
  [CLOSE_CODES.MACHINE_GONE]: "machine_gone",
  [-1]: "dead",
};

export class EventHub {
  readonly stats: HubStats = {
    events: 0,
    unknown: 0,
    failed: 0,
    delivered: 0,
    dropped: 0,
    gaps: 0,
    closed: { client: 0, slow: 0, dead: 0, shutdown: 0, machine_gone: 0 },
  };
  /** Set by close(): no new subscribers. */
  closing = false;

  private readonly streams = new Map<string, MachineStream>();
  private readonly subs = new Set<Subscriber>();
  private pending: Encoded[] = [];
  private scheduled = false;
  /** An all-machines stream has been opened: every machine records. */
  private recordAll = false;
  private readonly heartbeat: NodeJS.Timeout | null;
  private lastMs = 0;
  private lastIso = "";
  private readonly warned = new Set<string>();
  private readonly flushNow = () => this.flush();

  constructor(
    readonly opts: HubOptions,
    private readonly log: HubLogger,
  ) {
    this.heartbeat = opts.heartbeatMs > 0 ? setInterval(() => this.beat(), opts.heartbeatMs) : null;
    this.heartbeat?.unref();
  }

  get subscriberCount(): number {
    return this.subs.size;
  }

  /** The subscribers (tests and metrics look at their backlog). */
  subscribers(): readonly Subscriber[] {
    return [...this.subs];
  }

  // -------------------------------------------------------------------------------------------
  // Machines

  /** A machine exists (the registry's onCreate). It records only once a stream can see it. */
  addMachine(id: string, machine: Machine): void {
    const s = new MachineStream(id, machine);
    this.streams.set(id, s);
    if (this.recordAll) this.record(s);
  }

  /** A machine is gone (the registry's onDelete): its streams close with 4404. */
  removeMachine(id: string): void {
    const s = this.streams.get(id);
    if (!s) return;
    this.flush();
    s.machine.sink = null;
    this.streams.delete(id);
    for (const sub of this.subs)
      if (sub.scope === id) sub.close(CLOSE_CODES.MACHINE_GONE, `machine ${id} was deleted`);
  }

  hasMachine(id: string): boolean {
    return this.streams.has(id);
  }

  /** The latest seq of a machine (0: none yet, or not recording). */
  lastSeq(id: string): number {
    return this.streams.get(id)?.seq ?? 0;
  }

  private record(s: MachineStream): void {
    if (s.ring) return;
    s.ring = new EventRing(this.opts.ringSize);
    s.machine.sink = (fact) => this.onFact(s, fact);
  }

  private now(): string {
    const t = Date.now();
    if (t !== this.lastMs) {
      this.lastMs = t;
      this.lastIso = new Date(t).toISOString();
    }
    return this.lastIso;
  }

  /** The sink: called synchronously by the core after each committed change. */
  private onFact(s: MachineStream, fact: CoreEvent): void {
    let enc: EncodedFact | null;
    try {
      enc = encodeFact(fact);
      if (!enc) {
        this.stats.unknown++;
        this.warnOnce(
          `unknown:${String(fact?.type)}`,
          { type: fact?.type },
          "core fact not in the catalogue",
        );
        return;
      }
    } catch (err) {
      this.stats.failed++;
      this.warnOnce(
        `failed:${String(fact?.type)}`,
        { err, type: fact?.type },
        "could not encode a core fact",
      );
      return;
    }
    const seq = ++s.seq;
    const e: Encoded = {
      seq,
      machine: s.id,
      pid: fact.pid,
      mm: fact.mm,
      type: enc.type,
      json: `{"seq":${seq},"time":"${this.now()}","machine":${s.idJson},${enc.tail}`,
    };
    this.stats.events++;
    s.ring!.push(e);
    this.pending.push(e);
    if (this.pending.length >= this.opts.flushEvents) {
      try {
        this.flush();
      } catch (err) {
        this.warnOnce("flush", { err }, "flush failed");
      }
    } else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushNow);
    }
  }

  private warnOnce(key: string, obj: object, msg: string): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.log.warn(obj, msg);
  }

  // -------------------------------------------------------------------------------------------
  // Delivery

  /** Hand every pending event to the subscribers whose filter lets it through. */
  flush(): void {
    this.scheduled = false;
    const batch = this.pending;
    if (!batch.length) return;
    this.pending = [];
    if (!this.subs.size) return;
    const byFilter = new Map<string, Frame[]>();
    for (const sub of this.subs) {
      const f = sub.filter;
      if (!f) continue;
      let frames = byFilter.get(f.key);
      if (!frames) {
        frames = this.frames(batch, f);
        byFilter.set(f.key, frames);
      }
      for (const fr of frames) sub.deliver(fr);
    }
  }

  /** The events that pass the filter, as frames of at most frameBytes. */
  private frames(events: readonly Encoded[], f: EventFilter): Frame[] {
    const out: Frame[] = [];
    const max = this.opts.frameBytes;
    let parts: string[] = [];
    let evs: Encoded[] = [];
    let bytes = 1;
    for (const e of events) {
      if (!f.matches(e)) continue;
      if (evs.length && bytes + e.json.length + 1 > max) {
        out.push({ buf: Buffer.from(`[${parts.join(",")}]`), events: evs });
        parts = [];
        evs = [];
        bytes = 1;
      }
      parts.push(e.json);
      evs.push(e);
      bytes += e.json.length + 1;
    }
    if (evs.length) out.push({ buf: Buffer.from(`[${parts.join(",")}]`), events: evs });
    return out;
  }

  // -------------------------------------------------------------------------------------------
  // Subscribers

  /**
   * A new stream on an open socket: `scope` is the machine of a machine stream (which must exist)
   * or null for all machines. Sends `subscribed`, then (with since) the ring after it, then live
   * events.
   */
  connect(ws: EventSocket, scope: string | null, spec: FilterSpec, since?: Since): Subscriber {
    const sub = new Subscriber(ws, scope, new EventFilter(scope, spec), this.opts, this.stats, (s, code) =>
      this.onClosed(s, code),
    );
    ws.on("pong", () => {
      sub.alive = true;
    });
    ws.on("close", () => sub.closedBySocket());
    ws.on("message", (data, isBinary) => this.message(sub, data, isBinary));
    this.subs.add(sub);
    this.log.info({ stream: scope ?? "*", filter: sub.filter!.spec, since }, "event stream opened");
    this.subscribe(sub, sub.filter!, since);
    return sub;
  }

  private onClosed(sub: Subscriber, code: number): void {
    if (!this.subs.delete(sub)) return;
    const reason = REASONS[code] ?? "client";
    this.stats.closed[reason]++;
    this.log.info({ stream: sub.scope ?? "*", reason, ...sub.counts }, "event stream closed");
  }

  /** Make `filter` the subscription from here on (flushing what the old one should get first). */
  private subscribe(sub: Subscriber, filter: EventFilter, since?: Since): void {
    this.flush();
    sub.filter = filter;
    if (filter.scope === null) this.recordAll = true;
    const latest: Record<string, number> = {};
    for (const s of this.streams.values()) {
      if (!filter.seesMachine(s.id)) continue;
      this.record(s);
      latest[s.id] = s.seq;
    }
    sub.control({ type: "subscribed", filter: filter.spec, latest });
    if (since === undefined) return;
    const wanted = typeof since === "number" ? { [filter.scope ?? ""]: since } : since;
    for (const [id, after] of Object.entries(wanted)) {
      const s = this.streams.get(id);
      if (!s || !filter.seesMachine(id)) continue;
      this.replay(sub, s, after);
    }
  }

  /** The ring's events after `since` (a gap first for those no longer in it). */
  private replay(sub: Subscriber, s: MachineStream, since: number): void {
    if (since > s.seq) {
      sub.control({
        type: "error",
        code: "SINCE_AHEAD",
        message: `since ${since} is past machine ${s.id}'s latest seq ${s.seq} (recreated, or the server restarted): replaying from the ring's start`,
      });
      since = 0;
    }
    const ring = s.ring!;
    const oldest = ring.size ? ring.first : s.seq + 1;
    if (since + 1 < oldest) {
      this.stats.gaps++;
      sub.control({ type: "gap", machine: s.id, from: since + 1, to: oldest - 1 });
    }
    for (const f of this.frames(ring.after(since), sub.filter!)) sub.deliver(f);
  }

  /** A client message: one op. Anything else gets an error item; the connection stays. */
  private message(sub: Subscriber, data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void {
    if (sub.closed) return;
    let value: unknown;
    try {
      if (isBinary) throw new Error("binary message");
      const text = Array.isArray(data)
        ? Buffer.concat(data).toString("utf8")
        : Buffer.from(data as ArrayBuffer).toString("utf8");
      value = JSON.parse(text);
    } catch {
      sub.control({ type: "error", code: "BAD_JSON", message: "expected a JSON text message: an op object" });
      return;
    }
    const r = ClientOp.safeParse(value);
    if (!r.success) {
      sub.control({
        type: "error",
        code: "BAD_MESSAGE",
        message:
          'expected {"op":"subscribe", types?, pids?, mm?, since?}, {"op":"unsubscribe"} or {"op":"ping"}',
        // The first few: a reply stays small whatever the message (a long bad list is one issue each).
        issues: r.error.issues.slice(0, MAX_REPLY_ISSUES).map((i) => ({
          path: i.path.map((p) => (typeof p === "symbol" ? String(p) : p)),
          message: i.message,
        })),
      });
      return;
    }
    const op = r.data;
    if (op.op === "ping") {
      sub.control(op.id === undefined ? { type: "pong" } : { type: "pong", id: op.id });
      return;
    }
    if (op.op === "unsubscribe") {
      this.flush();
      sub.filter = null;
      sub.control({ type: "unsubscribed" });
      return;
    }
    const scope = sub.scope;
    if (scope !== null && op.machines !== undefined) {
      sub.control({
        type: "error",
        code: "BAD_MESSAGE",
        message: "machines applies to the all-machines stream only",
      });
      return;
    }
    if (scope !== null ? typeof op.since === "object" : typeof op.since === "number") {
      sub.control({
        type: "error",
        code: "BAD_MESSAGE",
        message:
          scope !== null
            ? "since is a seq number on a machine stream"
            : "since is an object {machine: seq} on the all-machines stream",
      });
      return;
    }
    this.subscribe(sub, new EventFilter(scope, op), op.since);
  }

  /** Heartbeat: cut peers that did not answer the last ping, ping the rest, close the too slow. */
  private beat(): void {
    const now = Date.now();
    for (const sub of this.subs) {
      if (!sub.alive) {
        sub.terminate(-1);
        continue;
      }
      sub.alive = false;
      sub.ws.ping();
      sub.checkSlow(now);
    }
  }

  /**
   * Shutdown: deliver what is pending, close every stream with 1001, and wait until they are closed
   * (a client that does not answer is cut after closeGraceMs).
   */
  async close(): Promise<void> {
    this.closing = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.flush();
    const subs = [...this.subs];
    for (const sub of subs) sub.close(CLOSE_CODES.GOING_AWAY, "server shutting down");
    // Each socket closes by itself or is cut after closeGraceMs; do not wait on one that never reports it.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(subs.map((s) => s.done)),
      new Promise((r) => {
        timer = setTimeout(r, this.opts.closeGraceMs + 1000);
      }),
    ]);
    clearTimeout(timer);
    for (const s of this.streams.values()) s.machine.sink = null;
  }
}
