/**
 * One connection's delivery against a socket whose buffer the test controls: frames go out while
 * the socket keeps up, queue behind it, drop past the queue's bound (then a gap); control items
 * (replies to the client) are never dropped, within a reserve above the bound.
 */
import { describe, expect, it } from "vitest";
import type { Encoded } from "../../src/events/ring.js";
import {
  CONTROL_RESERVE_BYTES,
  type DeliveryLimits,
  type EventSocket,
  type Frame,
  Subscriber,
} from "../../src/events/subscriber.js";
import { CLOSE_CODES } from "../../src/events/wire.js";

/** A socket that holds what is sent until drain(): bufferedAmount is what it holds. */
class HeldSocket implements EventSocket {
  readyState = 1;
  held: { data: Buffer; cb: (err?: Error) => void }[] = [];
  out: string[] = [];
  closedWith: [number, string] | null = null;
  get bufferedAmount(): number {
    return this.held.reduce((n, h) => n + h.data.length, 0);
  }
  send(data: Buffer, _opts: { binary: boolean }, cb: (err?: Error) => void): void {
    this.held.push({ data, cb });
  }
  /** The client reads everything: each write completes (which pumps the queue). */
  drain(): void {
    while (this.held.length) {
      const h = this.held.shift()!;
      this.out.push(h.data.toString());
      h.cb();
    }
  }
  ping(): void {}
  close(code: number, reason: string): void {
    this.closedWith = [code, reason];
    this.readyState = 3;
  }
  terminate(): void {}
  on(): unknown {
    return this;
  }
}

const LIMITS: DeliveryLimits = {
  highWaterBytes: 1000,
  queueBytes: 10_000,
  queueEvents: 1_000_000,
  slowCloseMs: 0,
  closeGraceMs: 10,
};

let seq = 0;
/** A frame of one event of `bytes` bytes on machine m. */
function frame(bytes: number): Frame {
  const e = { seq: ++seq, machine: "m" } as unknown as Encoded;
  return { buf: Buffer.alloc(bytes, 0x20), events: [e] };
}

function subscriber(ws: HeldSocket): { sub: Subscriber; closes: number[] } {
  const closes: number[] = [];
  const counters = { delivered: 0, dropped: 0, gaps: 0 };
  const sub = new Subscriber(ws, "m", {} as never, LIMITS, counters, (_s, code) => closes.push(code));
  return { sub, closes };
}

describe("Subscriber: control items under a full queue", () => {
  it("a pong queued behind a full queue is delivered in order, before the gap", () => {
    seq = 0;
    const ws = new HeldSocket();
    const { sub } = subscriber(ws);
    sub.deliver(frame(2000)); // to the socket: now above the high-water mark
    for (let i = 0; i < 10; i++) sub.deliver(frame(1000)); // the queue, exactly full
    expect(sub.backlog).toMatchObject({ bytes: 10_000, dropping: false });
    sub.deliver(frame(1000)); // does not fit: dropped
    expect(sub.backlog.dropping).toBe(true);
    sub.control({ type: "pong", id: 1 }); // the queue is at its bound: the reserve takes it
    expect(sub.backlog.frames).toBe(11);
    ws.drain();
    const items = ws.out.map((t) => (t.startsWith("[{") ? JSON.parse(t)[0].type : "event"));
    expect(items).toEqual([...Array(11).fill("event"), "pong", "gap"]);
    expect(JSON.parse(ws.out.at(-1)!)).toEqual([{ type: "gap", machine: "m", from: 12, to: 12 }]);
  });

  it("a client that sends without reading until even the reserve is full is closed as too slow", () => {
    seq = 0;
    const ws = new HeldSocket();
    const { sub, closes } = subscriber(ws);
    sub.deliver(frame(2000));
    for (let i = 0; i < 10; i++) sub.deliver(frame(1000));
    const pong = Buffer.byteLength(JSON.stringify([{ type: "pong" }]));
    const fits = Math.floor(CONTROL_RESERVE_BYTES / pong);
    for (let i = 0; i < fits; i++) sub.control({ type: "pong" });
    expect(closes).toEqual([]);
    expect(sub.backlog.bytes).toBe(10_000 + fits * pong);
    sub.control({ type: "pong" });
    expect(closes).toEqual([CLOSE_CODES.TOO_SLOW]);
    expect(ws.closedWith?.[0]).toBe(CLOSE_CODES.TOO_SLOW);
  });
});
