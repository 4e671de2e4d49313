/**
 * Event streams over WebSocket, with real ws clients against a listening server: what a stream
 * carries, filters (query and in-band), resume from the ring, gaps, the all-machines stream, bad
 * client messages. Every received item is validated against the catalogue by EventClient.
 */
import { describe, expect, it } from "vitest";
import type { CoreEvent } from "../../src/core/events.js";
import { range, seqs, streamsOf } from "./events_client.js";
import { call, type Server, spawn, startServer } from "./helpers.js";

const W = "0x100000000000";
const PG = 4096;

let s: Server;
const { open } = streamsOf(() => s);

/** An empty task with n pages mapped read-write at W. */
async function task(n = 4, mid = "default"): Promise<number> {
  const pid = await spawn(s, { image: "empty" }, mid);
  await call(
    s,
    pid,
    "mmap",
    { addr: W, length: n * PG, prot: "PROT_READ|PROT_WRITE", flags: "MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED" },
    mid,
  );
  return pid;
}

describe("a machine stream", () => {
  it("carries every fact in seq order: calls with their VMAs, splits, merges, faults, tasks", async () => {
    s = await startServer();
    const c = await open("/v1/machines/default/events");
    expect(c.items[0]).toEqual({ type: "subscribed", filter: {}, latest: { default: 0 } });
    const pid = await task(4);
    await call(s, pid, "mprotect", { addr: "0x100000001000", length: PG, prot: "PROT_READ" });
    await call(s, pid, "mprotect", { addr: "0x100000001000", length: PG, prot: "PROT_READ|PROT_WRITE" });
    await call(s, pid, "memory/write", { addr: W, length: 2 * PG, fill: 7 });
    await call(s, pid, "memory/read", { addr: "0x200000000000", length: 1 });
    const child = (await call(s, pid, "fork")).ret as number;
    await call(s, child, "exit", { status: 3 });
    await call(s, pid, "munmap", { addr: "0x100000000001", length: PG }); // EINVAL
    await c.sync();
    const ev = c.events;
    expect(seqs(ev)).toEqual(range(1, ev.length));
    expect(ev.map((e) => e.type)).toEqual([
      "task_new",
      "mmap",
      "vma_split",
      "vma_split",
      "mprotect",
      "vma_merge",
      "mprotect",
      "fault",
      "fault",
      "fault",
      "fork",
      "mm_release",
      "exit",
      "munmap",
    ]);
    expect(
      ev.every(
        (e) =>
          e.machine === "default" && e.pid === (e.type === "exit" || e.type === "mm_release" ? child : pid),
      ),
    ).toBe(true);
    const mprotect = ev[4]!;
    expect(mprotect).toMatchObject({
      type: "mprotect",
      args: { addr: "0x100000001000", length: PG, prot: 1 },
      ret: 0,
      errno: null,
    });
    if (mprotect.type !== "mprotect") throw new Error();
    expect(mprotect.before.map((v) => [v.vm_start, v.vm_end, v.perms])).toEqual([
      [W, "0x100000004000", "rw-p"],
    ]);
    expect(mprotect.after.map((v) => [v.vm_start, v.vm_end, v.perms])).toEqual([
      [W, "0x100000001000", "rw-p"],
      ["0x100000001000", "0x100000002000", "r--p"],
      ["0x100000002000", "0x100000004000", "rw-p"],
    ]);
    expect(ev[1]).toMatchObject({
      type: "mmap",
      ret: W,
      args: { addr: W, length: 4 * PG, fd: -1, offset: 0 },
    });
    expect(ev[5]).toMatchObject({
      type: "vma_merge",
      removed: 2,
      into: { vm_start: W, vm_end: "0x100000004000" },
    });
    expect(ev[7]).toMatchObject({
      type: "fault",
      addr: W,
      access: "write",
      kind: "minor",
      detail: "anon",
      result: "ok",
      si_code: null,
      pages: 1,
      vma: { vm_start: W, perms: "rw-p" },
    });
    expect(ev[9]).toMatchObject({
      type: "fault",
      addr: "0x200000000000",
      access: "read",
      kind: null,
      result: "SIGSEGV",
      si_code: "SEGV_MAPERR",
      vma: null,
    });
    expect(ev[10]).toMatchObject({ type: "fork", child, flags: 0 });
    expect(ev[12]).toMatchObject({ type: "exit", pid: child, status: 3, signal: null });
    expect(ev[13]).toMatchObject({
      type: "munmap",
      ret: -1,
      errno: "EINVAL",
      args: { addr: "0x100000000001" },
    });
    // Coalesced: fewer messages than items.
    expect(c.messages).toBeLessThan(c.items.length);
  });

  it("filters by type and pid from the query", async () => {
    s = await startServer();
    const a = await task(2);
    const b = await task(2);
    const faultsOfA = await open(`/v1/machines/default/events?types=fault&pid=${a}`);
    const mapsOfBoth = await open("/v1/machines/default/events?types=mmap,munmap");
    expect(faultsOfA.items[0]).toMatchObject({ filter: { types: ["fault"], pids: [a] } });
    for (const pid of [a, b]) {
      await call(s, pid, "memory/write", { addr: W, length: 2 * PG, fill: 1 });
      await call(s, pid, "munmap", { addr: W, length: PG });
    }
    await faultsOfA.sync();
    await mapsOfBoth.sync();
    expect(faultsOfA.events.map((e) => [e.type, e.pid])).toEqual([
      ["fault", a],
      ["fault", a],
    ]);
    expect(mapsOfBoth.events.map((e) => [e.type, e.pid])).toEqual([
      ["munmap", a],
      ["munmap", b],
    ]);
  });

  it("changes its filter in-band: subscribe, unsubscribe, subscribe again", async () => {
    s = await startServer();
    const pid = await task(8);
    const c = await open("/v1/machines/default/events?types=mprotect");
    await call(s, pid, "mprotect", { addr: W, length: PG, prot: "PROT_READ" });
    c.send({ op: "subscribe", types: ["fault"], pids: pid });
    await c.until((x) => x.of("subscribed").length === 2, "subscribed");
    expect(c.of("subscribed")[1]).toMatchObject({ filter: { types: ["fault"], pids: [pid] } });
    await call(s, pid, "memory/write", { addr: "0x100000001000", length: PG, fill: 1 });
    await call(s, pid, "mprotect", { addr: W, length: PG, prot: "PROT_READ|PROT_WRITE" });
    c.send({ op: "unsubscribe" });
    await c.until((x) => x.of("unsubscribed").length === 1, "unsubscribed");
    await call(s, pid, "memory/write", { addr: "0x100000002000", length: PG, fill: 1 });
    await c.sync();
    c.send({ op: "subscribe" });
    await c.until((x) => x.of("subscribed").length === 3, "subscribed");
    await call(s, pid, "munmap", { addr: "0x100000007000", length: PG });
    await c.sync();
    expect(c.items.map((i) => i.type)).toEqual([
      "subscribed",
      "mprotect",
      "subscribed",
      "fault",
      "unsubscribed",
      "pong",
      "subscribed",
      "vma_split",
      "munmap",
      "pong",
    ]);
  });
});

describe("resume", () => {
  it("after a disconnect, since gets everything after it that is in the ring: no gap, no duplicate", async () => {
    s = await startServer();
    const pid = await task(64);
    const first = await open("/v1/machines/default/events");
    await call(s, pid, "memory/write", { addr: W, length: 8 * PG, fill: 1 });
    await first.sync();
    const seen = seqs(first.events);
    first.close();
    await first.closed;
    // While nobody is connected the machine keeps recording.
    await call(s, pid, "memory/write", { addr: W + 0, length: 32 * PG, fill: 2 });
    await call(s, pid, "mprotect", { addr: W, length: PG, prot: "PROT_READ" });
    const last = seen.at(-1)!;
    const again = await open(`/v1/machines/default/events?since=${last}`);
    expect(again.items[0]).toMatchObject({ type: "subscribed" });
    await call(s, pid, "munmap", { addr: W, length: PG });
    await again.sync();
    expect(again.of("gap")).toEqual([]);
    const resumed = seqs(again.events);
    expect(resumed[0]).toBe(last + 1);
    expect([...seen, ...resumed]).toEqual(range(1, resumed.at(-1)!));
    expect(again.events.at(-1)!.type).toBe("munmap");
  });

  it("reports a gap for what left the ring, then replays the rest", async () => {
    s = await startServer({ events: { ringSize: 10 } });
    const watcher = await open("/v1/machines/default/events"); // the machine records from here
    const pid = await task(32);
    await call(s, pid, "memory/write", { addr: W, length: 30 * PG, fill: 1 });
    await watcher.sync();
    const latest = watcher.events.at(-1)!.seq;
    expect(latest).toBeGreaterThan(20);
    const late = await open("/v1/machines/default/events?since=3");
    await late.sync();
    expect(late.items.slice(0, 2)).toEqual([
      { type: "subscribed", filter: {}, latest: { default: latest } },
      { type: "gap", machine: "default", from: 4, to: latest - 10 },
    ]);
    expect(seqs(late.events)).toEqual(range(latest - 9, latest));
  });

  it("since past the latest seq is reported and the ring replays from its start", async () => {
    s = await startServer();
    await open("/v1/machines/default/events");
    await task(1);
    const c = await open("/v1/machines/default/events?since=1000");
    await c.sync();
    expect(c.items[1]).toMatchObject({ type: "error", code: "SINCE_AHEAD" });
    expect(seqs(c.events)).toEqual([1, 2]);
  });

  it("in-band subscribe with since replays too", async () => {
    s = await startServer();
    const c = await open("/v1/machines/default/events?types=mmap");
    await task(1);
    await task(1);
    c.send({ op: "subscribe", types: ["task_new"], since: 0 });
    await c.until((x) => x.of("subscribed").length === 2);
    await c.sync();
    expect(c.events.map((e) => e.type)).toEqual(["mmap", "mmap", "task_new", "task_new"]);
  });
});

describe("the all-machines stream", () => {
  it("interleaves machines, each with its own seq; filters by machine; resumes per machine", async () => {
    s = await startServer();
    await s.http.post("/v1/machines").send({ name: "m2" }).expect(201);
    const all = await open("/v1/events");
    const onlyM2 = await open("/v1/events?machine=m2&types=task_new");
    expect(all.items[0]).toEqual({ type: "subscribed", filter: {}, latest: { default: 0, m2: 0 } });
    await task(1, "default");
    await task(1, "m2");
    await s.http.post("/v1/machines").send({ name: "m3" }).expect(201);
    await task(1, "m3");
    await all.sync();
    await onlyM2.sync();
    expect(all.events.map((e) => [e.machine, e.seq, e.type])).toEqual([
      ["default", 1, "task_new"],
      ["default", 2, "mmap"],
      ["m2", 1, "task_new"],
      ["m2", 2, "mmap"],
      ["m3", 1, "task_new"],
      ["m3", 2, "mmap"],
    ]);
    expect(onlyM2.events.map((e) => [e.machine, e.seq])).toEqual([["m2", 1]]);
    const resumed = await open("/v1/events?since=default:1,m3:0");
    await resumed.sync();
    expect(resumed.events.map((e) => [e.machine, e.seq])).toEqual([
      ["default", 2],
      ["m3", 1],
      ["m3", 2],
    ]);
  });

  it("keeps going when a machine is deleted; that machine's own streams close with 4404", async () => {
    s = await startServer();
    await s.http.post("/v1/machines").send({ name: "gone" }).expect(201);
    const all = await open("/v1/events");
    const one = await open("/v1/machines/gone/events");
    await task(1, "gone");
    await s.http.delete("/v1/machines/gone").expect(204);
    expect(await one.closed).toEqual({ code: 4404, reason: "machine gone was deleted" });
    await task(1, "default");
    await all.sync();
    expect(all.events.map((e) => [e.machine, e.type])).toEqual([
      ["gone", "task_new"],
      ["gone", "mmap"],
      ["default", "task_new"],
      ["default", "mmap"],
    ]);
  });
});

describe("client messages", () => {
  it("bad messages get an error item and the stream goes on", async () => {
    s = await startServer();
    const c = await open("/v1/machines/default/events");
    c.send("not json");
    c.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    c.send({ op: "dance" });
    c.send({ op: "subscribe", types: ["no_such_type"] });
    c.send({ op: "subscribe", machines: ["default"] });
    c.send({ op: "subscribe", since: { default: 1 } });
    c.send([1, 2]);
    // A long bad list, and an id too long to echo: small replies all the same.
    c.send({ op: "subscribe", types: Array(5000).fill("x") });
    c.send({ op: "ping", id: "i".repeat(257) });
    c.send({ op: "ping", id: 7 });
    await c.until((x) => x.of("pong").length === 1, "pong");
    expect(c.of("error").map((e) => e.code)).toEqual([
      "BAD_JSON",
      "BAD_JSON",
      "BAD_MESSAGE",
      "BAD_MESSAGE",
      "BAD_MESSAGE",
      "BAD_MESSAGE",
      "BAD_MESSAGE",
      "BAD_MESSAGE",
      "BAD_MESSAGE",
    ]);
    expect(c.of("error")[3]!.issues?.[0]?.path).toEqual(["types", 0]);
    expect(c.of("error")[7]!.issues).toHaveLength(10);
    expect(c.of("pong")).toEqual([{ type: "pong", id: 7 }]);
    await task(1);
    await c.sync();
    expect(c.events.map((e) => e.type)).toEqual(["task_new", "mmap"]);
  });

  it("a message over the size limit closes the connection with 1009", async () => {
    s = await startServer();
    const c = await open("/v1/machines/default/events");
    c.send({ op: "ping", id: "x".repeat(70_000) });
    expect((await c.closed).code).toBe(1009);
  });
});

describe("facts the catalogue does not know", () => {
  it("are counted and skipped; seq stays consecutive and delivery goes on", async () => {
    s = await startServer();
    const c = await open("/v1/machines/default/events");
    const m = s.app.machines.get("default").machine;
    await task(1);
    m.emit({ type: "compact_stall", pid: 0, mm: 0, nr_migrated: 5 } as unknown as CoreEvent);
    m.emit({
      type: "syscall",
      call: "mmap2",
      pid: 1,
      mm: 1,
      args: {},
      ret: 0,
      errno: null,
      before: [],
      after: [],
    });
    await call(s, 1, "munmap", { addr: W, length: PG });
    await c.sync();
    expect(c.events.map((e) => [e.seq, e.type])).toEqual([
      [1, "task_new"],
      [2, "mmap"],
      [3, "munmap"],
    ]);
    expect(s.app.events.stats.unknown).toBe(2);
    const metrics = await s.http.get("/metrics");
    expect(metrics.text).toMatch(/^mmsim_events_uncatalogued_total 2$/m);
  });
});
