/**
 * Scenarios end to end over HTTP: fork and copy-on-write, threads sharing an mm, vfork, and /batch
 * giving exactly what the single routes give for the same sequence.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, type Server, spawn, startServer, validateAll } from "./helpers.js";

const W = "0x100000000000";
const PG = 4096;
const hex = (s: string) => Buffer.from(s).toString("hex");

let s: Server;
beforeAll(async () => {
  s = await startServer();
});
afterAll(() => s.close());

async function machine(name: string): Promise<string> {
  const r = await s.http.post("/v1/machines").send({ name, profile: { randomizeVaSpace: 0 } });
  expect(r.status).toBe(201);
  return name;
}

describe("scenarios", () => {
  it("spawn → mmap → write → fork → child writes → parent still reads its own bytes → maps of both", async () => {
    const mid = await machine("cow");
    const parent = await spawn(s, {}, mid);
    const a = (
      await call(
        s,
        parent,
        "mmap",
        {
          addr: W,
          length: 2 * PG,
          prot: "PROT_READ|PROT_WRITE",
          flags: "MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED",
        },
        mid,
      )
    ).ret;
    await call(s, parent, "memory/write", { addr: a, data: hex("parent data") }, mid);
    const child = (await call(s, parent, "fork", {}, mid)).ret as number;
    const w = await call(s, child, "memory/write", { addr: a, data: hex("CHILD") }, mid);
    expect(w.faults).toEqual({ minor: 1, major: 0 }); // the copy-on-write fault
    const mine = await call(s, parent, "memory/read", { addr: a, length: 11 }, mid);
    expect(Buffer.from(mine.data as string, "hex").toString()).toBe("parent data");
    const theirs = await call(s, child, "memory/read", { addr: a, length: 11 }, mid);
    expect(Buffer.from(theirs.data as string, "hex").toString()).toBe("CHILDt data");

    const pm = (await s.http.get(`/v1/machines/${mid}/tasks/${parent}/maps`)).text;
    const cm = (await s.http.get(`/v1/machines/${mid}/tasks/${child}/maps`)).text;
    expect(cm).toBe(pm); // the same layout, line for line
    expect(pm).toContain("100000000000-100000002000 rw-p 00000000 00:00 0 \n");
    // The written page is now private to each; the parent's other page was never touched.
    const pr = (
      await s.http.get(`/v1/machines/${mid}/tasks/${parent}/smaps`).set("accept", "application/json")
    ).body;
    const region = pr.find((v: { vm_start: string }) => v.vm_start === W).smaps;
    expect(region).toMatchObject({ Rss: 4, Private_Dirty: 4, Shared_Dirty: 0 });
    validateAll(s, mid);
  });

  it("threads sharing an mm see each other's mappings and bytes", async () => {
    const mid = await machine("threads");
    const leader = await spawn(s, { image: "empty" }, mid);
    const thread = (
      await call(s, leader, "clone", { flags: ["CLONE_VM", "CLONE_SIGHAND", "CLONE_THREAD"] }, mid)
    ).ret as number;
    const t = (await s.http.get(`/v1/machines/${mid}/tasks/${thread}`)).body;
    const l = (await s.http.get(`/v1/machines/${mid}/tasks/${leader}`)).body;
    expect(t).toMatchObject({ tgid: leader, mm: l.mm });
    const a = (
      await call(s, thread, "mmap", { length: PG, prot: 3, flags: "MAP_PRIVATE|MAP_ANONYMOUS" }, mid)
    ).ret;
    await call(s, thread, "memory/write", { addr: a, data: hex("from the thread") }, mid);
    const seen = await call(s, leader, "memory/read", { addr: a, length: 15 }, mid);
    expect(Buffer.from(seen.data as string, "hex").toString()).toBe("from the thread");
    expect((await s.http.get(`/v1/machines/${mid}/tasks/${leader}/maps`)).text).toBe(
      (await s.http.get(`/v1/machines/${mid}/tasks/${thread}/maps`)).text,
    );
    expect(await call(s, leader, "munmap", { addr: a, length: PG }, mid)).toEqual({ ret: 0 });
    const gone = await call(s, thread, "memory/read", { addr: a, length: 1 }, mid);
    expect(gone.signal).toMatchObject({ signo: "SIGSEGV", code: "SEGV_MAPERR" });
    expect((await s.http.get(`/v1/machines/${mid}/tasks/${leader}/mm`)).body.mm_users).toBe(2);
    validateAll(s, mid);
  });

  it("a vfork parent is refused (409) until the child execs; then it runs again", async () => {
    const mid = await machine("vfork");
    const parent = await spawn(s, {}, mid);
    const child = (await call(s, parent, "vfork", {}, mid)).ret as number;
    expect((await s.http.get(`/v1/machines/${mid}/tasks/${parent}`)).body.state).toBe("vfork-waiting");
    for (const [name, args] of [
      ["mmap", { length: PG, prot: 3, flags: 0x22 }],
      ["wait4", {}],
      ["memory/read", { addr: W, length: 1 }],
    ] as const) {
      const r = await s.http.post(`/v1/machines/${mid}/tasks/${parent}/${name}`).send(args);
      expect(r.status).toBe(409);
      expect(r.body).toMatchObject({ code: "TASK_VFORK_WAITING" });
    }
    // The child runs on the parent's mm until it execs.
    const shared = (await s.http.get(`/v1/machines/${mid}/tasks/${child}`)).body.mm;
    expect(shared).toBe((await s.http.get(`/v1/machines/${mid}/tasks/${parent}`)).body.mm);
    expect(await call(s, child, "execve", { argv: ["/usr/bin/prog", "x"] }, mid)).toEqual({ ret: 0 });
    expect((await s.http.get(`/v1/machines/${mid}/tasks/${parent}`)).body.state).toBe("running");
    expect((await s.http.get(`/v1/machines/${mid}/tasks/${child}`)).body.mm).not.toBe(shared);
    expect((await call(s, parent, "mmap", { length: PG, prot: 3, flags: 0x22 }, mid)).ret).toMatch(/^0x/);
    validateAll(s, mid);
  });

  it("/batch returns exactly what the single routes return for the same calls", async () => {
    const seq = (pid: number) => [
      {
        pid,
        call: "mmap",
        args: {
          addr: W,
          length: 8 * PG,
          prot: "PROT_READ|PROT_WRITE",
          flags: "MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED",
        },
      },
      { pid, call: "memory/write", args: { addr: W, data: "deadbeef" } },
      { pid, call: "mprotect", args: { addr: "0x100000002000", length: 2 * PG, prot: "PROT_READ" } },
      { pid, call: "memory/write", args: { addr: "0x100000002000", length: 4, fill: 1 } },
      { pid, call: "memory/read", args: { addr: W, length: 4 } },
      { pid, call: "mincore", args: { addr: W, length: 4 * PG } },
      { pid, call: "munmap", args: { addr: "0x100000000001", length: PG } },
      { pid, call: "mlock", args: { addr: W, length: PG } },
      { pid, call: "fork" },
      { pid, call: "madvise", args: { addr: W, length: 8 * PG, advice: "MADV_DONTNEED" } },
      { pid, call: "mremap", args: { old_address: W, old_size: PG, new_size: 2 * PG } },
      { pid, call: "wait4", args: { pid: -1 } },
      { pid: pid + 1, call: "exit", args: { status: 7 } },
      { pid, call: "wait4", args: { pid: -1 } },
      { pid, call: "nosuch" },
      { pid, call: "mprotect", args: { addr: W } },
      { pid: 9999, call: "fork" },
      { pid, call: "brk", args: { addr: 0 } },
    ];
    const a = await machine("single");
    const b = await machine("batched");
    const pa = await spawn(s, {}, a);
    const pb = await spawn(s, {}, b);
    expect(pb).toBe(pa);
    const single: unknown[] = [];
    for (const c of seq(pa)) {
      const r = await s.http.post(`/v1/machines/${a}/tasks/${c.pid}/${c.call}`).send(c.args ?? {});
      single.push(r.body);
    }
    const batched = await s.http.post(`/v1/machines/${b}/batch`).send({ calls: seq(pb) });
    expect(batched.status).toBe(200);
    // Identical, but for the machine's name in messages.
    const norm = (x: unknown, mid: string) => JSON.parse(JSON.stringify(x).replaceAll(mid, "MID"));
    expect(norm(batched.body.results, b)).toEqual(norm(single, a));
    expect(single[6]).toMatchObject({ ret: -1, errno: "EINVAL" });
    expect(single[14]).toMatchObject({ statusCode: 404 });
    expect(single[15]).toMatchObject({ statusCode: 400 });
    expect(single[16]).toMatchObject({ statusCode: 404, code: "TASK_NOT_FOUND" });
    // And the machines end in the same state.
    expect((await s.http.get(`/v1/machines/${b}/tasks/${pb}/smaps`)).text).toBe(
      (await s.http.get(`/v1/machines/${a}/tasks/${pa}/smaps`)).text,
    );
    validateAll(s, a);
    validateAll(s, b);
  });
});
