/**
 * Slow and dead clients: a stalled client stays within its bounds while a fast one receives every
 * event; after it resumes it gets a gap for exactly what it missed; a client that keeps dropping is
 * closed with 4008; a peer that stops answering pings is cut; 100 subscribers each get the whole
 * ordered stream. Real ws clients, a real server; the stall is a client that stops reading its socket.
 */
import { describe, expect, it } from "vitest";
import type { Subscriber } from "../../src/events/subscriber.js";
import { EventClient, range, seqs, streamsOf } from "./events_client.js";
import { type Server, spawn, startServer } from "./helpers.js";

const W = "0x100000000000";
const PG = 4096;

let s: Server;
const { open, keep } = streamsOf(() => s);

/** `rounds` x (mmap `pages` fresh pages at W, write them all): about rounds * (pages + 1) events. */
async function storm(pid: number, rounds: number, pages = 256): Promise<void> {
  const calls = [];
  for (let i = 0; i < rounds; i++) {
    calls.push({
      pid,
      call: "mmap",
      args: {
        addr: W,
        length: pages * PG,
        prot: "PROT_READ|PROT_WRITE",
        flags: "MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED",
      },
    });
    calls.push({ pid, call: "memory/write", args: { addr: W, length: pages * PG, fill: 1 } });
  }
  const r = await s.http.post("/v1/machines/default/batch").send({ calls });
  expect(r.status).toBe(200);
}

/** Each seq in 1..last exactly once, either delivered or inside a gap. */
function coverage(c: EventClient, last: number) {
  const got = seqs(c.events);
  const gaps = c.of("gap").map((g) => [g.from, g.to] as const);
  const all = [...got, ...gaps.flatMap(([a, b]) => range(a, b))].sort((a, b) => a - b);
  return { got, gaps, all, complete: all.length > 0 && all.at(-1) === last };
}

const subOf = (s: Server, pred: (x: Subscriber) => boolean) => s.app.events.subscribers().filter(pred);

describe("backpressure", () => {
  it("a stalled client stays within its bounds while a fast one receives everything; then it gets a gap", async () => {
    const limits = { highWaterBytes: 16 * 1024, queueBytes: 256 * 1024, queueEvents: 1000, slowCloseMs: 0 };
    s = await startServer({ events: limits });
    const pid = await spawn(s, { image: "empty" });
    const fast = await open();
    const stalled = await open();
    const [subFast, subStalled] = s.app.events.subscribers();
    stalled.stall();
    let maxBacklog = 0;
    let maxEvents = 0;
    let maxBuffered = 0;
    // Produce until the stalled one overflows (the kernel's socket buffers fill first), then more.
    let rounds = 0;
    let extra = 0;
    while (extra < 10 && rounds < 400) {
      await storm(pid, 4);
      rounds++;
      const b = subStalled!.backlog;
      maxBacklog = Math.max(maxBacklog, b.bytes);
      maxEvents = Math.max(maxEvents, b.events);
      maxBuffered = Math.max(maxBuffered, subStalled!.ws.bufferedAmount);
      if (b.dropping) extra++;
    }
    expect(extra).toBe(10);
    expect(s.app.events.stats.dropped).toBeGreaterThan(0);
    // Within its bounds: the queue, and the socket's own buffer (sends stop at the high-water mark;
    // one frame is at most 64 KiB).
    expect(maxBacklog).toBeLessThanOrEqual(limits.queueBytes);
    expect(maxEvents).toBeLessThanOrEqual(limits.queueEvents);
    expect(maxBuffered).toBeLessThanOrEqual(limits.highWaterBytes + 64 * 1024);
    const last = s.app.events.lastSeq("default");
    // The fast one: everything, in order, no gap.
    await fast.until((c) => c.events.at(-1)?.seq === last, "the fast client's last event");
    expect(fast.of("gap")).toEqual([]);
    expect(seqs(fast.events)).toEqual(range(1, last));
    expect(subFast!.backlog.dropping).toBe(false);
    // The stalled one resumes: events, then a gap for exactly what it missed, nothing twice.
    stalled.resume();
    await stalled.until((c) => coverage(c, last).complete, "the stalled client's coverage");
    const cov = coverage(stalled, last);
    expect(cov.gaps.length).toBeGreaterThan(0);
    expect(cov.all).toEqual(range(1, last));
    // Gaps come in order: each starts right after the last event delivered before it.
    const order = stalled.items.filter((i) => i.type === "gap" || "seq" in i);
    for (let i = 1; i < order.length; i++) {
      const it = order[i]!;
      if (it.type !== "gap") continue;
      const prev = order[i - 1]!;
      expect("seq" in prev && prev.seq + 1 === it.from).toBe(true);
    }
    // And it is live again.
    await storm(pid, 1, 4);
    const now = s.app.events.lastSeq("default");
    await stalled.until((c) => c.events.at(-1)?.seq === now, "live again");
  });

  it("a client that keeps dropping for longer than EVENTS_SLOW_CLOSE_MS is closed with 4008", async () => {
    s = await startServer({
      events: { highWaterBytes: 16 * 1024, queueBytes: 64 * 1024, queueEvents: 200, slowCloseMs: 100 },
    });
    const pid = await spawn(s, { image: "empty" });
    const fast = await open();
    const stalled = await open();
    stalled.stall();
    for (let i = 0; i < 400 && s.app.events.stats.closed.slow === 0; i++) {
      await storm(pid, 2);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(s.app.events.stats.closed.slow).toBe(1);
    stalled.resume();
    expect(await stalled.closed).toEqual({ code: 4008, reason: "dropped events for over 100 ms: too slow" });
    expect(s.app.events.subscriberCount).toBe(1);
    const last = s.app.events.lastSeq("default");
    await fast.until((c) => c.events.at(-1)?.seq === last, "the fast client's last event");
    expect(seqs(fast.events)).toEqual(range(1, last));
  });
});

describe("heartbeats", () => {
  it("cut a peer that does not answer pings; one that does stays", async () => {
    s = await startServer({ events: { heartbeatMs: 50 } });
    const live = await open();
    const { WebSocket } = await import("ws");
    const ws = new WebSocket(`${s.url.replace("http", "ws")}/v1/machines/default/events`, {
      autoPong: false,
    });
    const dead = keep(new EventClient(ws));
    await dead.until((c) => c.items.length > 0, "subscribed");
    expect((await dead.closed).code).toBe(1006);
    expect(s.app.events.stats.closed.dead).toBe(1);
    await new Promise((r) => setTimeout(r, 300)); // several more heartbeats
    expect(s.app.events.subscriberCount).toBe(1);
    await spawn(s, { image: "empty" });
    await live.until((c) => c.events.length === 1, "an event");
  });
});

describe("fan-out", () => {
  it("100 concurrent subscribers each get the full ordered stream", async () => {
    s = await startServer();
    const pid = await spawn(s, { image: "empty" });
    const subs = await Promise.all(Array.from({ length: 100 }, () => open()));
    expect(s.app.events.subscriberCount).toBe(100);
    await storm(pid, 4, 250);
    const last = s.app.events.lastSeq("default");
    expect(last).toBeGreaterThan(1000);
    await Promise.all(subs.map((c) => c.until((x) => x.events.at(-1)?.seq === last, "the last event")));
    for (const c of subs) {
      expect(c.of("gap")).toEqual([]);
      expect(seqs(c.events)).toEqual(range(1, last));
    }
    // Frames are built once per filter: all 100 got the same buffers, so the same message count.
    expect(new Set(subs.map((c) => c.messages)).size).toBe(1);
    expect(subOf(s, (x) => x.backlog.dropping)).toEqual([]);
  });
});
