/**
 * Every route's success path, against the real server on an ephemeral port.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { show_meminfo } from "../../src/core/mem/meminfo.js";
import { show_maps, show_smaps, show_smaps_rollup, show_statm } from "../../src/core/mm/procfs.js";
import { show_status } from "../../src/core/task/status.js";
import { call, type Server, spawn, startServer, validateAll } from "./helpers.js";

const W = "0x100000000000";
const PG = 4096;
const b64 = (s: string) => Buffer.from(s).toString("base64");
const hex = (s: string) => Buffer.from(s).toString("hex");

let s: Server;
beforeAll(async () => {
  s = await startServer();
});
afterAll(() => s.close());

describe("machines", () => {
  it("create, list, get, delete", async () => {
    const created = await s.http.post("/v1/machines").send({
      name: "m-api",
      seed: 7,
      ramBytes: 2 * 2 ** 30,
      swapBytes: 0,
      profile: { zeroPage: false },
      sysctl: { "vm.overcommit_memory": 2 },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id: "m-api", seed: 7, tasks: 0, frames: 0, committed_as: 0 });
    expect(created.body.profile).toMatchObject({
      zeroPage: false,
      ramBytes: 2 * 2 ** 30,
      overcommitMemory: 2,
    });
    const anon = await s.http.post("/v1/machines").send({});
    expect(anon.status).toBe(201);
    expect(anon.body.id).toMatch(/^m[0-9]+$/);
    const list = await s.http.get("/v1/machines");
    expect(list.body.machines.map((m: { id: string }) => m.id)).toEqual(["default", "m-api", anon.body.id]);
    expect((await s.http.get("/v1/machines/m-api")).body.id).toBe("m-api");
    expect((await s.http.delete(`/v1/machines/${anon.body.id}`)).status).toBe(204);
    expect((await s.http.get(`/v1/machines/${anon.body.id}`)).status).toBe(404);
  });

  it("sysctl: read, write (overcommit_kbytes zeroes overcommit_ratio, as in Linux)", async () => {
    await s.http.post("/v1/machines").send({ name: "m-sysctl" });
    const before = await s.http.get("/v1/machines/m-sysctl/sysctl");
    expect(before.body).toMatchObject({
      "vm.max_map_count": 65530,
      "vm.overcommit_ratio": 50,
      "kernel.randomize_va_space": 2,
    });
    const after = await s.http
      .patch("/v1/machines/m-sysctl/sysctl")
      .send({ "vm.overcommit_kbytes": 1024, "vm.max_map_count": 100, "vm.legacy_va_layout": 1 });
    expect(after.status).toBe(200);
    expect(after.body).toMatchObject({
      "vm.overcommit_kbytes": 1024,
      "vm.overcommit_ratio": 0,
      "vm.max_map_count": 100,
      "vm.legacy_va_layout": 1,
    });
    const m = (await s.http.get("/v1/machines/m-sysctl")).body;
    expect(m.profile).toMatchObject({
      maxMapCount: 100,
      overcommitKbytes: 1024,
      overcommitRatio: 0,
      legacyVaLayout: true,
    });
  });

  it("meminfo and vmstat follow the machine's memory (text by default, JSON on request)", async () => {
    await s.http.post("/v1/machines").send({ name: "m-mem", ramBytes: 2 ** 30, swapBytes: 2 ** 28 });
    const pid = await spawn(s, { image: "empty" }, "m-mem");
    const info = async () =>
      (await s.http.get("/v1/machines/m-mem/meminfo").set("accept", "application/json")).body;
    const vm = async () =>
      (await s.http.get("/v1/machines/m-mem/vmstat").set("accept", "application/json")).body;
    const i0 = await info();
    const v0 = await vm();
    expect(i0).toMatchObject({
      MemTotal: 1048576,
      SwapTotal: 262144,
      SwapFree: 262144,
      AnonPages: 0,
      Mlocked: 0,
      KernelStack: 16,
    });
    expect(i0.CommitLimit).toBe(1048576 / 2 + 262144);
    await call(
      s,
      pid,
      "mmap",
      { addr: W, length: 256 * PG, prot: 3, flags: "MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED|MAP_POPULATE" },
      "m-mem",
    );
    const i1 = await info();
    expect(i1.AnonPages - i0.AnonPages).toBe(1024);
    expect(i1.Committed_AS - i0.Committed_AS).toBe(1024);
    expect(i0.MemFree - i1.MemFree).toBeGreaterThanOrEqual(1024);
    expect(i1["Inactive(anon)"] - i0["Inactive(anon)"]).toBe(1024);
    await call(s, pid, "mlock", { addr: W, length: 16 * PG }, "m-mem");
    const i2 = await info();
    expect(i2.Mlocked).toBe(64);
    expect(i2.Unevictable).toBe(64);
    const v1 = await vm();
    expect(v1.pgfault - v0.pgfault).toBe(256);
    expect(v1.nr_anon_pages).toBe(256);
    expect(v1.nr_mlock).toBe(16);
    const text = await s.http.get("/v1/machines/m-mem/meminfo");
    expect(text.type).toBe("text/plain");
    expect(text.text).toBe(show_meminfo(s.app.machines.get("m-mem").machine));
    expect(text.text).toMatch(/^MemTotal: {8}1048576 kB\nMemFree: +[0-9]+ kB\n/);
    expect(text.text).toContain("\nHugePages_Total:       0\n");
    const vtext = await s.http.get("/v1/machines/m-mem/vmstat");
    expect(vtext.text).toMatch(/^nr_free_pages [0-9]+\n/);
    expect(vtext.text).toContain(`\npgfault ${v1.pgfault}\n`);
  });
});

describe("files", () => {
  it("create with data, read back, list, map it, unlink", async () => {
    const f = await s.http
      .post("/v1/machines/default/files")
      .send({ path: "/srv/data", data: b64("hello, file") });
    expect(f.status).toBe(201);
    expect(f.body).toMatchObject({
      path: "/srv/data",
      kind: "regular",
      size: 11,
      dev: "fe:00",
      cached_pages: 0,
    });
    const got = await s.http.get("/v1/machines/default/files/srv/data?data=true");
    expect(Buffer.from(got.body.data, "base64").toString()).toBe("hello, file");
    const list = await s.http.get("/v1/machines/default/files");
    expect(list.body.files.map((x: { path: string }) => x.path)).toContain("/srv/data");

    const pid = await spawn(s, { image: "empty" });
    const fd = (await call(s, pid, "open", { path: "/srv/data", flags: "O_RDWR" })).ret;
    expect(fd).toBe(3);
    const a = (
      await call(s, pid, "mmap", { length: PG, prot: "PROT_READ|PROT_WRITE", flags: "MAP_SHARED", fd })
    ).ret;
    const r = await call(s, pid, "memory/read", { addr: a, length: 11 });
    expect(Buffer.from(r.data as string, "hex").toString()).toBe("hello, file");
    expect(r.faults).toEqual({ minor: 0, major: 1 });
    await call(s, pid, "memory/write", { addr: a, data: hex("HELLO") });
    const after = await s.http.get("/v1/machines/default/files/srv/data?data=true");
    expect(Buffer.from(after.body.data, "base64").toString()).toBe("HELLO, file");
    expect(after.body.cached_pages).toBe(1);
    expect((await s.http.get("/v1/machines/default/files/srv/data")).body.data).toBeUndefined();

    expect((await s.http.delete("/v1/machines/default/files/srv/data")).status).toBe(204);
    expect((await s.http.get("/v1/machines/default/files/srv/data")).status).toBe(404);
    const maps = await s.http.get(`/v1/machines/default/tasks/${pid}/maps`);
    expect(maps.text).toContain("/srv/data (deleted)\n");
  });
});

describe("tasks", () => {
  it("spawn with the default image, list, get, kill", async () => {
    const res = await s.http
      .post("/v1/machines/default/tasks")
      .send({ comm: "worker", argv: ["worker", "-x"], envp: ["A=1"] });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ comm: "worker", state: "running", ppid: 0, exit_code: null });
    // comm is at most 15 bytes: 8 two-byte characters are too many.
    const long = await s.http.post("/v1/machines/default/tasks").send({ comm: "\u00e9".repeat(8) });
    expect(long.status).toBe(400);
    expect(long.body.issues[0].path).toEqual(["comm"]);
    const pid = res.body.pid;
    const maps = (await s.http.get(`/v1/machines/default/tasks/${pid}/maps`)).text;
    expect(maps).toMatch(/r-xp 00002000 fe:00 [0-9]+ +\/usr\/bin\/prog\n/);
    expect(maps).toMatch(/\[stack\]\n/);
    expect(maps).toMatch(/\[vdso\]\n/);
    const list = await s.http.get("/v1/machines/default/tasks");
    expect(list.body.tasks.map((t: { pid: number }) => t.pid)).toContain(pid);
    expect((await s.http.get(`/v1/machines/default/tasks/${pid}`)).body.pid).toBe(pid);
    const killed = await s.http.delete(`/v1/machines/default/tasks/${pid}`);
    expect(killed.status).toBe(200);
    // No parent to reap it: released at once.
    expect(killed.body).toMatchObject({ state: "dead", exit_code: 9, mm: null });
    expect((await s.http.get(`/v1/machines/default/tasks/${pid}`)).status).toBe(404);
  });

  it("spawn with an image spec, rlimits and caps", async () => {
    const image = {
      path: "/bin/static",
      pie: false,
      segments: [
        { vaddr: 0x400000, offset: 0, filesz: 0x1000, memsz: 0x1000, prot: "rx" },
        { vaddr: 0x401000, offset: 0x1000, filesz: 0x100, memsz: 0x3000, prot: "rw" },
      ],
      interp: null,
    };
    const pid = await spawn(s, {
      image,
      rlimits: { STACK: 1 << 20, AS: "unlimited" },
      caps: { CAP_IPC_LOCK: true },
    });
    const maps = (await s.http.get(`/v1/machines/default/tasks/${pid}/maps`)).text;
    expect(maps).toMatch(
      /^00400000-00401000 r-xp 00000000 fe:00 [0-9]+ +\/bin\/static\n00401000-00402000 rw-p 00001000/,
    );
  });
});

describe("calls", () => {
  it("every call's success path, and a failure as HTTP 200 with errno", async () => {
    const pid = await spawn(s, { image: "empty" });
    const a = (
      await call(s, pid, "mmap", {
        addr: W,
        length: 16 * PG,
        prot: 3,
        flags: "MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED",
      })
    ).ret;
    expect(a).toBe(W);
    await call(s, pid, "memory/write", { addr: "0x100000001000", length: 2 * PG, fill: 0xab });
    expect(await call(s, pid, "mincore", { addr: W, length: 4 * PG })).toEqual({ ret: 0, vec: [0, 1, 1, 0] });
    expect(await call(s, pid, "mprotect", { addr: W, length: PG, prot: "PROT_READ" })).toEqual({ ret: 0 });
    expect(await call(s, pid, "madvise", { addr: W, length: PG, advice: "MADV_DONTNEED" })).toEqual({
      ret: 0,
    });
    expect(await call(s, pid, "mlock", { addr: W, length: PG })).toEqual({ ret: 0 });
    expect(await call(s, pid, "munlock", { addr: W, length: PG })).toEqual({ ret: 0 });
    expect(await call(s, pid, "mlock2", { addr: W, length: PG, flags: "MLOCK_ONFAULT" })).toEqual({ ret: 0 });
    expect(await call(s, pid, "mlockall", { flags: ["MCL_CURRENT"] })).toEqual({ ret: 0 });
    expect(await call(s, pid, "munlockall")).toEqual({ ret: 0 });
    expect(await call(s, pid, "msync", { addr: W, length: PG, flags: "MS_SYNC" })).toEqual({ ret: 0 });
    // mlockall(MCL_CURRENT) populated the rest.
    expect(await call(s, pid, "mincore", { addr: W, length: 4 * PG })).toEqual({ ret: 0, vec: [1, 1, 1, 1] });
    const one = "0x100000100000";
    await call(s, pid, "mmap", {
      addr: one,
      length: 4 * PG,
      prot: 3,
      flags: "MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED",
    });
    const moved = await call(s, pid, "mremap", {
      old_address: one,
      old_size: 4 * PG,
      new_size: 32 * PG,
      flags: "MREMAP_MAYMOVE",
    });
    expect(moved.ret).toMatch(/^0x[0-9a-f]+$/);
    expect(await call(s, pid, "munmap", { addr: moved.ret, length: 32 * PG })).toEqual({ ret: 0 });
    expect(await call(s, pid, "brk", { addr: 0 })).toEqual({ ret: "0x0" });
    const fd = (await call(s, pid, "open", { path: "/tmp/new", flags: "O_RDWR|O_CREAT" })).ret;
    expect(await call(s, pid, "ftruncate", { fd, length: "0x2000" })).toEqual({ ret: 0 });
    expect(await call(s, pid, "close", { fd })).toEqual({ ret: 0 });
    expect(await call(s, pid, "close", { fd })).toEqual({
      ret: -1,
      errno: "EBADF",
      message: "Bad file descriptor",
    });
    expect(await call(s, pid, "munmap", { addr: "0x100000000001", length: PG })).toEqual({
      ret: -1,
      errno: "EINVAL",
      message: "Invalid argument",
    });
    expect(await call(s, pid, "mmap", { length: 0, prot: 0, flags: 0x22 })).toMatchObject({
      errno: "EINVAL",
    });

    const child = (await call(s, pid, "fork")).ret as number;
    expect(child).toBeGreaterThan(pid);
    const thread = (await call(s, pid, "clone", { flags: "CLONE_VM|CLONE_SIGHAND|CLONE_THREAD" }))
      .ret as number;
    expect((await s.http.get(`/v1/machines/default/tasks/${thread}`)).body).toMatchObject({ tgid: pid });
    expect(await call(s, child, "execve", { image: "empty", argv: ["x"] })).toEqual({ ret: 0 });
    expect(await call(s, child, "exit", { status: 3 })).toEqual({ ret: 0 });
    expect(await call(s, pid, "wait4", { pid: child })).toEqual({ ret: child, status: 3 << 8 });
    expect(await call(s, pid, "wait4")).toEqual({ ret: -1, errno: "ECHILD", message: "No child processes" });
    const v = (await call(s, pid, "vfork")).ret as number;
    expect(await call(s, v, "exit_group", { status: 0 })).toEqual({ ret: 0 });
    expect(await call(s, pid, "wait4", { pid: -1 })).toEqual({ ret: v, status: 0 });
    expect(await call(s, pid, "exit_group", { status: 1 })).toEqual({ ret: 0 });
    validateAll(s, "default");
  });

  it("memory: bytes round-trip, faults counted, signals reported", async () => {
    const pid = await spawn(s, { image: "empty" });
    await call(s, pid, "mmap", {
      addr: W,
      length: 2 * PG,
      prot: "PROT_READ|PROT_WRITE",
      flags: "MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED",
    });
    await call(s, pid, "mmap", {
      addr: "0x100000002000",
      length: PG,
      prot: "PROT_READ",
      flags: "MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED",
    });
    const w = await call(s, pid, "memory/write", { addr: "0x100000000ffe", data: "01020304" });
    expect(w).toEqual({ done: 4, faults: { minor: 2, major: 0 } });
    const r = await call(s, pid, "memory/read", { addr: "0x100000000ffe", length: 4 });
    expect(r).toEqual({ data: "01020304", faults: { minor: 0, major: 0 } });
    const acc = await call(s, pid, "memory/write", { addr: "0x100000001fff", data: "aabb" });
    expect(acc).toEqual({
      done: 1,
      faults: { minor: 0, major: 0 },
      signal: { signo: "SIGSEGV", code: "SEGV_ACCERR", addr: "0x100000002000" },
    });
    const map = await call(s, pid, "memory/read", { addr: "0x200000000000", length: 1 });
    expect(map).toEqual({
      data: "",
      faults: { minor: 0, major: 0 },
      signal: { signo: "SIGSEGV", code: "SEGV_MAPERR", addr: "0x200000000000" },
    });
    const x = await call(s, pid, "memory/exec", { addr: W });
    expect(x.signal).toEqual({ signo: "SIGSEGV", code: "SEGV_ACCERR", addr: W });
  });
});

describe("/proc views", () => {
  it("text byte for byte as the renderers print, JSON on request", async () => {
    const pid = await spawn(s);
    await call(s, pid, "mmap", {
      addr: W,
      length: 4 * PG,
      prot: 3,
      flags: "MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED|MAP_POPULATE",
    });
    const m = s.app.machines.get("default").machine;
    const mm = m.tasks.get(pid)!.mm;
    const base = `/v1/machines/default/tasks/${pid}`;
    const text = async (v: string) => {
      const r = await s.http.get(`${base}/${v}`);
      expect(r.status).toBe(200);
      expect(r.type).toBe("text/plain");
      return r.text;
    };
    const json = async (v: string) => {
      const r = await s.http.get(`${base}/${v}`).set("accept", "application/json");
      expect(r.status).toBe(200);
      expect(r.type).toBe("application/json");
      return r.body;
    };
    expect(await text("maps")).toBe(show_maps(m, mm));
    expect(await text("smaps")).toBe(show_smaps(m, mm));
    expect(await text("smaps_rollup")).toBe(show_smaps_rollup(m, mm));
    expect(await text("status")).toBe(show_status(m, m.tasks.get(pid)!));
    expect(await text("statm")).toBe(show_statm(m, mm));

    const maps = await json("maps");
    const ours = maps.find((v: { vm_start: string }) => v.vm_start === W);
    expect(ours).toMatchObject({ vm_end: "0x100000004000", perms: "rw-p", vm_file: null, name: null });
    const smaps = await json("smaps");
    expect(smaps.find((v: { vm_start: string }) => v.vm_start === W).smaps).toMatchObject({
      Size: 16,
      Rss: 16,
      Anonymous: 16,
    });
    expect((await json("smaps_rollup")).Rss).toBeGreaterThanOrEqual(16);
    expect(await json("status")).toMatchObject({
      Name: "prog",
      Umask: "0022",
      State: "R (running)",
      Pid: pid,
      VmSize: mm!.total_vm * 4,
      CapEff: "0000000000000000",
      Threads: 1,
      Cpus_allowed: "1",
      Cpus_allowed_list: "0",
    });
    expect(await json("statm")).toMatchObject({ size: mm!.total_vm });

    const mmv = (await s.http.get(`${base}/mm`)).body;
    expect(mmv).toMatchObject({ map_count: mm!.map_count, total_vm: mm!.total_vm, mm_users: 1 });
    expect(mmv.vmas).toHaveLength(mm!.map_count);
    expect((await s.http.get(`${base}/vmas`)).body).toHaveLength(mm!.map_count);
    const pm = (await s.http.get(`${base}/pagemap?start=${W}&end=0x100000005000`)).body;
    expect(pm.entries).toHaveLength(5);
    expect(pm.entries[0]).toMatchObject({
      addr: W,
      present: true,
      exclusive: true,
      file_shared: false,
      swapped: false,
    });
    expect(pm.entries[0].pfn).toBeGreaterThan(0);
    expect(pm.entries[4]).toMatchObject({ present: false, entry: "0x0" });
  });
});

describe("ops", () => {
  it("health, readiness, metrics, OpenAPI and docs", async () => {
    const pid = await spawn(s, { image: "empty" });
    await call(s, pid, "munmap", { addr: 1, length: PG });
    expect((await s.http.get("/healthz")).body).toEqual({ status: "ok" });
    const ready = await s.http.get("/readyz");
    expect(ready.status).toBe(200);
    expect(ready.body.status).toBe("ready");
    s.app.draining = true;
    const draining = await s.http.get("/readyz");
    expect(draining.status).toBe(503);
    expect(draining.body.status).toBe("draining");
    s.app.draining = false;
    const metrics = await s.http.get("/metrics");
    expect(metrics.type).toBe("text/plain");
    expect(metrics.text).toMatch(/mmsim_syscalls_total\{call="mmap",errno="none"\} [1-9]/);
    expect(metrics.text).toMatch(/mmsim_syscalls_total\{call="munmap",errno="EINVAL"\} [1-9]/);
    expect(metrics.text).toMatch(/mmsim_faults_total\{kind="minor"\} [1-9]/);
    expect(metrics.text).toMatch(/mmsim_faults_total\{kind="major"\} [1-9]/);
    expect(metrics.text).toMatch(/mmsim_machines [1-9]/);
    expect(metrics.text).toMatch(/mmsim_tasks [0-9]/);
    expect(metrics.text).toMatch(
      /mmsim_http_requests_total\{method="POST",route="\/v1\/machines\/:mid\/tasks\/:pid\/mmap",status_code="200"\} [1-9]/,
    );
    const oj = await s.http.get("/openapi.json");
    expect(oj.body.openapi).toBe("3.1.0");
    const oy = await s.http.get("/openapi.yaml");
    expect(oy.text).toMatch(/^openapi: 3\.1\.0\n/);
    const docs = await s.http.get("/docs/").redirects(2);
    expect(docs.status).toBe(200);
    expect(docs.text).toContain("swagger");
  });
});
