/**
 * One connection's delivery: frames go straight to the socket while it keeps up; behind that, a
 * bounded queue; past the queue's bound, frames are dropped and the client later gets a `gap` for
 * what it missed, per machine. A connection that keeps dropping for too long is closed (4008).
 *
 * Frames are shared between connections (one Buffer per frame for every subscriber with the same
 * filter), so a queue holds references, not copies.
 */
import type { EventFilter } from "./filter.js";
import type { Encoded } from "./ring.js";
import { CLOSE_CODES } from "./wire.js";

/** What delivery needs of a WebSocket (ws's WebSocket has all of it). */
export interface EventSocket {
  /** Bytes handed to send() that the kernel has not taken yet. */
  readonly bufferedAmount: number;
  /** 1: open. */
  readonly readyState: number;
  send(data: Buffer, opts: { binary: boolean }, cb: (err?: Error) => void): void;
  ping(): void;
  close(code: number, reason: string): void;
  terminate(): void;
  on(event: "message", l: (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => void): unknown;
  on(event: "pong", l: () => void): unknown;
  on(event: "close", l: () => void): unknown;
  on(event: "error", l: (err: Error) => void): unknown;
}

/** Queue room kept for control items beyond queueBytes (some thousands of replies). */
export const CONTROL_RESERVE_BYTES = 64 * 1024;

/** One WebSocket message: its bytes, and the events it carries (none for a control item). */
export interface Frame {
  readonly buf: Buffer;
  readonly events: readonly Encoded[];
}

export interface DeliveryLimits {
  /** Send while the socket's bufferedAmount is below this; queue above it. */
  highWaterBytes: number;
  /** The queue's bounds; a frame that would exceed either is dropped (and reported as a gap). */
  queueBytes: number;
  queueEvents: number;
  /** Close (4008) a connection that has been dropping for this long (0: never). */
  slowCloseMs: number;
  /** After a close frame, how long to wait for the client before cutting the TCP connection. */
  closeGraceMs: number;
}

export interface DeliveryCounters {
  delivered: number;
  dropped: number;
  gaps: number;
}

const OPEN = 1;

export class Subscriber {
  /** null: unsubscribed (no events until the next subscribe). */
  filter: EventFilter | null;
  /** Set by a pong, cleared by each heartbeat ping: still clear at the next heartbeat means dead. */
  alive = true;
  /** No more sends; the connection is closing or closed. */
  closed = false;
  /** Resolves when the socket has closed. */
  readonly done: Promise<void>;

  private readonly queue: Frame[] = [];
  private qHead = 0;
  private queuedBytes = 0;
  private queuedEvents = 0;
  /** While dropping: machine -> [first, last] seq dropped. */
  private dropped: Map<string, [number, number]> | null = null;
  private droppingSince = 0;
  private sent = 0;
  private droppedEvents = 0;
  private readonly onSent = () => this.pump();
  private resolveDone!: () => void;

  constructor(
    readonly ws: EventSocket,
    /** The machine of a machine stream, or null for the all-machines stream. */
    readonly scope: string | null,
    filter: EventFilter,
    private readonly limits: DeliveryLimits,
    private readonly counters: DeliveryCounters,
    private readonly onClose: (s: Subscriber, code: number) => void,
  ) {
    this.filter = filter;
    this.done = new Promise((r) => {
      this.resolveDone = r;
    });
  }

  /** Frames waiting in the queue, and their bytes (what this connection holds beyond the socket's buffer). */
  get backlog(): { frames: number; bytes: number; events: number; dropping: boolean } {
    return {
      frames: this.queue.length - this.qHead,
      bytes: this.queuedBytes,
      events: this.queuedEvents,
      dropping: this.dropped !== null,
    };
  }

  deliver(f: Frame): void {
    if (this.closed) return;
    if (this.dropped) {
      this.drop(f);
      return;
    }
    if (this.qHead === this.queue.length && this.ws.bufferedAmount < this.limits.highWaterBytes) {
      this.send(f);
      return;
    }
    if (
      this.queuedBytes + f.buf.length > this.limits.queueBytes ||
      this.queuedEvents + f.events.length > this.limits.queueEvents
    ) {
      this.dropped = new Map();
      this.droppingSince = Date.now();
      this.drop(f);
      return;
    }
    this.enqueue(f);
  }

  /**
   * A control item (a reply to the client, or a gap): in order with the events and never dropped,
   * since a client waits for its pong or its subscribe's ack. Replies come only from the client's
   * own messages, so a reserve above the queue's bound holds them; a client that fills even that
   * (sending without reading) is closed as too slow.
   */
  control(item: object): void {
    if (this.closed) return;
    const f: Frame = { buf: Buffer.from(`[${JSON.stringify(item)}]`), events: [] };
    if (this.qHead === this.queue.length && this.ws.bufferedAmount < this.limits.highWaterBytes) this.send(f);
    else if (this.queuedBytes + f.buf.length <= this.limits.queueBytes + CONTROL_RESERVE_BYTES)
      this.enqueue(f);
    else this.close(CLOSE_CODES.TOO_SLOW, "replies to its own messages went unread: too slow");
  }

  /** Close with a code (the client gets a close frame after what is already in the socket's buffer). */
  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.length = this.qHead = this.queuedBytes = this.queuedEvents = 0;
    this.dropped = null;
    this.onClose(this, code);
    if (this.ws.readyState === OPEN) {
      this.ws.close(code, reason);
      // A client that does not read never answers the close frame: cut it after the grace period.
      setTimeout(() => this.ws.terminate(), this.limits.closeGraceMs).unref();
    } else this.ws.terminate();
  }

  /** Cut the connection at once (a dead peer). */
  terminate(code: number): void {
    if (!this.closed) {
      this.closed = true;
      this.queue.length = this.qHead = this.queuedBytes = this.queuedEvents = 0;
      this.onClose(this, code);
    }
    this.ws.terminate();
  }

  /** The socket has closed (either side). */
  closedBySocket(): void {
    if (!this.closed) {
      this.closed = true;
      this.queue.length = this.qHead = this.queuedBytes = this.queuedEvents = 0;
      this.onClose(this, 0);
    }
    this.resolveDone();
  }

  /** Has the connection been dropping for longer than allowed? Then close it (4008). */
  checkSlow(now: number): void {
    const limit = this.limits.slowCloseMs;
    if (this.dropped && limit > 0 && now - this.droppingSince >= limit)
      this.close(CLOSE_CODES.TOO_SLOW, `dropped events for over ${limit} ms: too slow`);
  }

  /** What this connection was sent and what it dropped (for the log line at close). */
  get counts(): { sent: number; dropped: number } {
    return { sent: this.sent, dropped: this.droppedEvents };
  }

  private send(f: Frame): void {
    this.sent += f.events.length;
    this.counters.delivered += f.events.length;
    this.ws.send(f.buf, { binary: false }, this.onSent);
  }

  private enqueue(f: Frame): void {
    this.queue.push(f);
    this.queuedBytes += f.buf.length;
    this.queuedEvents += f.events.length;
  }

  private drop(f: Frame): void {
    const d = this.dropped!;
    for (const e of f.events) {
      const r = d.get(e.machine);
      if (r) r[1] = e.seq;
      else d.set(e.machine, [e.seq, e.seq]);
    }
    this.droppedEvents += f.events.length;
    this.counters.dropped += f.events.length;
    if (f.events.length) this.checkSlow(Date.now());
  }

  /** Move queued frames to the socket while it is below the high-water mark (after each write). */
  private pump(): void {
    if (this.closed) return;
    const q = this.queue;
    while (this.qHead < q.length && this.ws.bufferedAmount < this.limits.highWaterBytes) {
      const f = q[this.qHead]!;
      q[this.qHead++] = undefined as unknown as Frame;
      this.queuedBytes -= f.buf.length;
      this.queuedEvents -= f.events.length;
      this.send(f);
    }
    if (this.qHead === q.length) {
      q.length = this.qHead = 0;
      if (this.dropped) {
        // The backlog is gone: report what was dropped, then take events again.
        const d = this.dropped;
        this.dropped = null;
        for (const [machine, [from, to]] of d) {
          this.counters.gaps++;
          this.control({ type: "gap", machine, from, to });
        }
      }
    } else if (this.qHead > 1024 && this.qHead * 2 > q.length) {
      q.splice(0, this.qHead);
      this.qHead = 0;
    }
  }
}
