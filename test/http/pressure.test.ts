/**
 * Memory pressure through the HTTP API: machines created with small RAM, swap, a replacement policy
 * and vm.* sysctls; meminfo and vmstat as swapping goes on; the memory-pressure events on a real
 * WebSocket stream (validated against the catalogue by EventClient); the OOM killer's reply to the
 * call that ran out of memory, in single calls and in /batch; oom_score_adj and oom_score.
 */
import { describe, expect, it } from "vitest";
import { streamsOf } from "./events_client.js";
import { call, type Server, spawn, startServer, validateAll } from "./helpers.js";

const W = 0x100000000000;
const PG = 4096;
const MiB = 2 ** 20;
const RW = "PROT_READ|PROT_WRITE";
const ANON = "MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED";

let s: Server;
const { open } = streamsOf(() => s);

const hex = (x: number) => `0x${x.toString(16)}`;

async function json(path: string): Promise<Record<string, number>> {
  const r = await s.http.get(path).set("accept", "application/json");
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body;
}

/** One store of a page-numbering byte to each of n pages from addr, through /batch. */
async function touch(mid: string, pid: number, addr: number, n: number, fill = 1) {
  const calls = [];
  for (let i = 0; i < n; i++)
    calls.push({
      pid,
      call: "memory/write",
      args: { addr: hex(addr + i * PG), length: 8, fill: (i + fill) & 0xff || 1 },
    });
  const r = await s.http.post(`/v1/machines/${mid}/batch`).send({ calls });
  expect(r.status).toBe(200);
  return r.body.results as Record<string, unknown>[];
}

describe("machines under pressure", () => {
  it("creation takes RAM, swap, the replacement policy and vm.* sysctls; the machine shows them", async () => {
    s = await startServer();
    const r = await s.http.post("/v1/machines").send({
      name: "small",
      ramBytes: 4 * MiB,
      swapBytes: 16 * MiB,
      profile: { replacementPolicy: "clock" },
      sysctl: { "vm.swappiness": 100, "vm.watermark_scale_factor": 300 },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body.profile).toMatchObject({
      ramBytes: 4 * MiB,
      swapBytes: 16 * MiB,
      replacementPolicy: "clock",
      swappiness: 100,
    });
    const sc = (await s.http.get("/v1/machines/small/sysctl")).body;
    // min_free_kbytes is derived from RAM: sqrt(4096 kB * 16) = 256 kB.
    expect(sc).toMatchObject({
      "vm.swappiness": 100,
      "vm.watermark_scale_factor": 300,
      "vm.min_free_kbytes": 256,
    });
    // Watermarks: min 64 pages; low and high add max(min / 4, 1024 * 300 / 10000) = 30 pages each.
    const m = s.app.machines.get("small").machine;
    expect(m.watermarks).toEqual({ min: 64, low: 94, high: 124 });
    const w = await s.http.patch("/v1/machines/small/sysctl").send({ "vm.min_free_kbytes": 512 });
    expect(w.status).toBe(200);
    expect(w.body["vm.min_free_kbytes"]).toBe(512);
    // min 128 pages, and min / 4 = 32 is now the larger step.
    expect(m.watermarks).toEqual({ min: 128, low: 160, high: 192 });
    // 0 is a value (the kernel's handler takes it): no min watermark, low and high 30 pages apart.
    const z = await s.http.patch("/v1/machines/small/sysctl").send({ "vm.min_free_kbytes": 0 });
    expect(z.body["vm.min_free_kbytes"]).toBe(0);
    expect(m.watermarks).toEqual({ min: 0, low: 30, high: 60 });
    expect((await s.http.patch("/v1/machines/small/sysctl").send({ "vm.swappiness": 201 })).status).toBe(400);
    expect((await s.http.post("/v1/machines").send({ replacementPolicy: "random" })).status).toBe(400);
    expect(
      (await s.http.post("/v1/machines").send({ profile: { replacementPolicy: "random" } })).status,
    ).toBe(400);
    expect((await s.http.post("/v1/machines").send({ swapBytes: 2 ** 36 })).status).toBe(400);
  });

  it("a task touching twice RAM: vmstat and meminfo before and after, every byte back, events on the stream", async () => {
    s = await startServer();
    await s.http.post("/v1/machines").send({ name: "sw", ramBytes: 4 * MiB, swapBytes: 16 * MiB });
    const c = await open("/v1/machines/sw/events?types=reclaim,swap_out,swap_in,oom_kill");
    const pid = await spawn(s, { image: "empty" }, "sw");
    await call(s, pid, "mmap", { addr: hex(W), length: 2048 * PG, prot: RW, flags: ANON }, "sw");
    const v0 = await json("/v1/machines/sw/vmstat");
    const i0 = await json("/v1/machines/sw/meminfo");
    expect([v0.pswpout, i0.SwapTotal, i0.SwapFree]).toEqual([0, 16384, 16384]);
    const w = await touch("sw", pid, W, 2048);
    expect(w.every((r) => r.done === 8 && !r.oom)).toBe(true);
    const v1 = await json("/v1/machines/sw/vmstat");
    const i1 = await json("/v1/machines/sw/meminfo");
    expect(v1.pswpout).toBeGreaterThan(1000);
    expect(v1.pgscan_kswapd).toBeGreaterThanOrEqual(v1.pgsteal_kswapd!);
    expect(i1.SwapFree).toBeLessThan(16384);
    expect(i1.MemFree).toBeGreaterThanOrEqual(64 * 4);
    // Read every page back through /batch.
    const calls = [];
    for (let i = 0; i < 2048; i++)
      calls.push({ pid, call: "memory/read", args: { addr: hex(W + i * PG), length: 8 } });
    const rd = (await s.http.post("/v1/machines/sw/batch").send({ calls })).body.results as {
      data: string;
    }[];
    const bad = rd.filter((r, i) => r.data !== ((i + 1) & 0xff || 1).toString(16).padStart(2, "0").repeat(8));
    expect(bad).toEqual([]);
    const v2 = await json("/v1/machines/sw/vmstat");
    expect(v2.pswpin).toBeGreaterThan(1000);
    expect(v2.pgmajfault! - v1.pgmajfault!).toBe(v2.pswpin! + v2.swpin_zero! - v1.pswpin! - v1.swpin_zero!);
    validateAll(s, "sw");
    await c.sync();
    const types = new Set(c.events.map((e) => e.type));
    expect([...types].sort()).toEqual(["reclaim", "swap_in", "swap_out"]);
    const out = c.events.find((e) => e.type === "swap_out");
    expect(out).toMatchObject({ type: "swap_out", machine: "sw", pid, written: true });
    const rec = c.events.find((e) => e.type === "reclaim");
    expect(rec).toMatchObject({ mode: "kswapd", policy: "linux", pid });
  });

  it("PATCH switches a running machine's replacement policy; the pages stay and go on being reclaimed", async () => {
    s = await startServer();
    await s.http.post("/v1/machines").send({ name: "p", ramBytes: 4 * MiB, swapBytes: 16 * MiB });
    const pid = await spawn(s, { image: "empty" }, "p");
    await call(s, pid, "mmap", { addr: hex(W), length: 2048 * PG, prot: RW, flags: ANON }, "p");
    await touch("p", pid, W, 600);
    const m = s.app.machines.get("p").machine;
    const frames = m.frames.nr_used;
    const r = await s.http.patch("/v1/machines/p").send({ replacementPolicy: "clock" });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.profile.replacementPolicy).toBe("clock");
    expect(m.frames.lruvec.policy).toBe("clock");
    expect(m.frames.nr_used).toBe(frames);
    validateAll(s, "p");
    // The rest of the workload thrashes under the new policy: every byte comes back.
    const w = await touch("p", pid, W, 2048);
    expect(w.every((x) => x.done === 8 && !x.oom)).toBe(true);
    const back = await call(s, pid, "memory/read", { addr: hex(W + 7 * PG), length: 8 }, "p");
    expect(back.data).toBe("08".repeat(8));
    validateAll(s, "p");
    expect((await s.http.patch("/v1/machines/p").send({ replacementPolicy: "random" })).status).toBe(400);
    expect((await s.http.patch("/v1/machines/p").send({ ramBytes: 4096 })).status).toBe(400);
    expect((await s.http.patch("/v1/machines/nope").send({ replacementPolicy: "lru" })).status).toBe(404);
  });

  it("without swap the OOM killer takes the task that ran out (oom: killed), in /batch too; others stay", async () => {
    s = await startServer();
    await s.http.post("/v1/machines").send({
      name: "oom",
      ramBytes: 4 * MiB,
      swapBytes: 0,
      sysctl: { "vm.overcommit_memory": 1 },
    });
    const c = await open("/v1/machines/oom/events?types=oom_kill,exit");
    const keep = await spawn(s, { image: "empty", comm: "keeper" }, "oom");
    await call(s, keep, "mmap", { addr: hex(W), length: 4 * PG, prot: RW, flags: ANON }, "oom");
    await call(s, keep, "memory/write", { addr: hex(W), data: "6b656570" }, "oom");
    const hog = await spawn(s, { image: "empty", comm: "hog" }, "oom");
    await call(s, hog, "mmap", { addr: hex(W), length: 2048 * PG, prot: RW, flags: ANON }, "oom");
    const res = await touch("oom", hog, W, 2048);
    const killedAt = res.findIndex((r) => r.oom === "killed");
    expect(killedAt).toBeGreaterThan(800);
    expect(res[killedAt]).toMatchObject({ done: 0, oom: "killed" });
    // The calls after it find no such task (it was reaped: nobody waits for it).
    expect(res[killedAt + 1]).toMatchObject({ statusCode: 404 });
    const t = await s.http.get(`/v1/machines/oom/tasks/${hog}`);
    expect(t.status).toBe(404);
    const r = await call(s, keep, "memory/read", { addr: hex(W), length: 4 }, "oom");
    expect(r.data).toBe("6b656570");
    expect((await json("/v1/machines/oom/vmstat")).oom_kill).toBe(1);
    await c.sync();
    const kill = c.of("oom_kill")[0];
    expect(kill).toMatchObject({ type: "oom_kill", pid: hog, comm: "hog", killed: [hog], trigger: hog });
    expect(c.events.some((e) => e.type === "exit" && e.pid === hog && e.signal === 9)).toBe(true);
    validateAll(s, "oom");
  });

  it("oom_score_adj: set at spawn or later, read with oom_score; -1000 turns the killer away", async () => {
    s = await startServer();
    await s.http.post("/v1/machines").send({
      name: "adj",
      ramBytes: 4 * MiB,
      swapBytes: 0,
      sysctl: { "vm.overcommit_memory": 1 },
    });
    const a = await spawn(s, { image: "empty", oom_score_adj: -1000 }, "adj");
    const b = await spawn(s, { image: "empty" }, "adj");
    expect((await s.http.get(`/v1/machines/adj/tasks/${a}`)).body).toMatchObject({
      oom_score_adj: -1000,
      oom_killed: false,
    });
    expect((await s.http.get(`/v1/machines/adj/tasks/${a}/oom_score`)).body).toEqual({
      oom_score_adj: -1000,
      oom_score: 0,
    });
    const put = await s.http.put(`/v1/machines/adj/tasks/${b}/oom_score_adj`).send({ oom_score_adj: 500 });
    expect(put.status).toBe(200);
    // An empty task: no RSS; 500 thousandths of 1024 pages is 500 pages of badness: (1000 + 488) * 2 / 3.
    expect(put.body).toEqual({ oom_score_adj: 500, oom_score: 992 });
    expect(
      (await s.http.put(`/v1/machines/adj/tasks/${b}/oom_score_adj`).send({ oom_score_adj: 1001 })).status,
    ).toBe(400);
    await call(s, b, "mmap", { addr: hex(W), length: 16 * PG, prot: RW, flags: ANON }, "adj");
    await touch("adj", b, W, 16);
    await call(s, a, "mmap", { addr: hex(W), length: 2048 * PG, prot: RW, flags: ANON }, "adj");
    const res = await touch("adj", a, W, 2048);
    const stop = res.findIndex((r) => r.oom);
    expect(res[stop]).toMatchObject({ done: 0, oom: "no_victim" });
    expect((await s.http.get(`/v1/machines/adj/tasks/${a}`)).body).toMatchObject({ state: "running" });
    expect((await s.http.get(`/v1/machines/adj/tasks/${b}`)).status).toBe(404);
    // Nothing left to kill: no room for a new task's kernel stack either.
    const refused = await s.http.post("/v1/machines/adj/tasks").send({ image: "empty" });
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: "NO_MEMORY" });
    validateAll(s, "adj");
  });
});
