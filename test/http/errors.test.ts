/**
 * Every class of HTTP error, each with the one body shape, and that a refused request changes
 * nothing: 400 (body, params, query, unknown flag name), 404 (machine, task, file, route), 409
 * (zombie, vfork parent, name clash), 413 (body, batch), 429 (machines, tasks, RAM, max_map_count),
 * 401 (token).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorBody } from "../../src/http/schemas/common.js";
import { call, type Server, spawn, startServer } from "./helpers.js";

const W = "0x100000000000";
const PG = 4096;

function expectError(res: { status: number; body: unknown }, status: number, code: string) {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(ErrorBody.safeParse(res.body).success, JSON.stringify(res.body)).toBe(true);
  expect(res.body).toMatchObject({ statusCode: status, code });
}

describe("errors", () => {
  let s: Server;
  beforeAll(async () => {
    s = await startServer({
      limits: {
        machines: 3,
        tasksPerMachine: 4,
        bodyBytes: 4096,
        batchCalls: 10,
        machineRamBytes: 2 ** 32,
        totalRamBytes: 10 * 2 ** 30,
      },
    });
  });
  afterAll(() => s.close());

  it("400: invalid body with zod issue paths, unknown names, bad params and query", async () => {
    const pid = await spawn(s, { image: "empty" });
    const r = await s.http
      .post(`/v1/machines/default/tasks/${pid}/mmap`)
      .send({ length: "12x", prot: "PROT_REED", flags: 0x22 });
    expectError(r, 400, "FST_ERR_VALIDATION");
    expect(r.body.issues.map((i: { path: string[] }) => i.path)).toEqual([["length"], ["prot"]]);
    expect(r.body.message).toMatch(/^body\/length: /);
    const extra = await s.http
      .post(`/v1/machines/default/tasks/${pid}/munmap`)
      .send({ addr: W, length: PG, lenght: 1 });
    expectError(extra, 400, "FST_ERR_VALIDATION");
    expect(extra.body.issues[0].code).toBe("unrecognized_keys");
    const missing = await s.http.post(`/v1/machines/default/tasks/${pid}/mprotect`).send({ addr: W });
    expect(missing.body.issues.map((i: { path: string[] }) => i.path)).toEqual([["length"], ["prot"]]);
    expectError(
      await s.http.post(`/v1/machines/default/tasks/${pid}/memory/write`).send({ addr: W }),
      400,
      "FST_ERR_VALIDATION",
    );
    expectError(
      await s.http.post(`/v1/machines/default/tasks/${pid}/memory/read`).send({ addr: W, length: 2 ** 21 }),
      400,
      "FST_ERR_VALIDATION",
    );
    const badPid = await s.http.post("/v1/machines/default/tasks/abc/fork");
    expectError(badPid, 400, "FST_ERR_VALIDATION");
    expect(badPid.body.issues[0].path).toEqual(["pid"]);
    expect(badPid.body.message).toMatch(/^params\/pid: /);
    const q = await s.http.get(`/v1/machines/default/tasks/${pid}/pagemap?start=1&end=0`);
    expectError(q, 400, "FST_ERR_VALIDATION");
    expect(q.body.message).toMatch(/^querystring/);
    expectError(await s.http.post("/v1/machines").send({ name: "bad name!" }), 400, "FST_ERR_VALIDATION");
    expectError(
      await s.http.patch("/v1/machines/default/sysctl").send({ "vm.overcommit_memory": 3 }),
      400,
      "FST_ERR_VALIDATION",
    );
    expectError(
      await s.http
        .post(`/v1/machines/default/tasks/${pid}/mmap`)
        .set("content-type", "application/json")
        .send("{not json"),
      400,
      "FST_ERR_CTP_INVALID_JSON_BODY",
    );
    expectError(
      await s.http
        .post(`/v1/machines/default/tasks/${pid}/mmap`)
        .set("content-type", "application/json; charset=utf-8")
        .send(""),
      400,
      "FST_ERR_CTP_EMPTY_JSON_BODY",
    );
    // The call routes parse JSON without secure-json-parse: __proto__ and constructor, own keys
    // after JSON.parse, are refused as unknown arguments, at the top and nested.
    const mmap = '"length": 4096, "prot": "PROT_READ", "flags": "MAP_PRIVATE|MAP_ANONYMOUS"';
    for (const [path, body] of [
      [`tasks/${pid}/mmap`, `{${mmap}, "__proto__": {"polluted": 1}}`],
      [`tasks/${pid}/mmap`, `{${mmap}, "constructor": {"prototype": {"polluted": 1}}}`],
      [`tasks/${pid}/execve`, '{"image": {"__proto__": {"polluted": 1}}}'],
      [`tasks/${pid}/execve`, '{"image": "empty", "argv": ["x"], "constructor": {"polluted": 1}}'],
    ] as const) {
      const r = await s.http
        .post(`/v1/machines/default/${path}`)
        .set("content-type", "application/json")
        .send(body);
      expectError(r, 400, "FST_ERR_VALIDATION");
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    }
    // Nothing was mapped by any of these.
    expect((await s.http.get(`/v1/machines/default/tasks/${pid}/maps`)).text).toBe(
      "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n",
    );
  });

  it("404: machine, task, file, route, call", async () => {
    expectError(await s.http.get("/v1/machines/nope"), 404, "MACHINE_NOT_FOUND");
    expectError(await s.http.post("/v1/machines/nope/tasks/1/fork"), 404, "MACHINE_NOT_FOUND");
    expectError(await s.http.post("/v1/machines/default/tasks/999/fork"), 404, "TASK_NOT_FOUND");
    expectError(await s.http.get("/v1/machines/default/tasks/999/maps"), 404, "TASK_NOT_FOUND");
    expectError(await s.http.get("/v1/machines/default/files/no/such"), 404, "FILE_NOT_FOUND");
    expectError(await s.http.post("/v1/machines/default/tasks/1/reboot"), 404, "ROUTE_NOT_FOUND");
    expectError(await s.http.get("/v2"), 404, "ROUTE_NOT_FOUND");
  });

  it("409: a zombie, a vfork parent, a taken machine name", async () => {
    const parent = await spawn(s, { image: "empty" });
    const child = (await call(s, parent, "fork")).ret as number;
    await call(s, child, "exit", { status: 0 });
    expectError(
      await s.http
        .post(`/v1/machines/default/tasks/${child}/mmap`)
        .send({ length: PG, prot: 3, flags: 0x22 }),
      409,
      "TASK_ZOMBIE",
    );
    expectError(await s.http.get(`/v1/machines/default/tasks/${child}/mm`), 409, "TASK_ZOMBIE");
    expect((await s.http.get(`/v1/machines/default/tasks/${child}/maps`)).text).toBe("");
    await call(s, parent, "wait4", { pid: child });
    expectError(await s.http.post("/v1/machines").send({ name: "default" }), 409, "MACHINE_EXISTS");
    await call(s, parent, "exit_group");
  });

  it("413: a body over BODY_LIMIT, a batch over BATCH_MAX_CALLS; nothing runs", async () => {
    const pid = await spawn(s, { image: "empty" });
    const big = await s.http
      .post(`/v1/machines/default/tasks/${pid}/open`)
      .send({ path: `/${"x".repeat(5000)}`, flags: "O_CREAT" });
    expectError(big, 413, "FST_ERR_CTP_BODY_TOO_LARGE");
    const calls = Array.from({ length: 11 }, (_, i) => ({
      pid,
      call: "mmap",
      args: {
        addr: 0x100000000000 + i * PG,
        length: PG,
        prot: 3,
        flags: "MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED",
      },
    }));
    expectError(await s.http.post("/v1/machines/default/batch").send({ calls }), 413, "BATCH_TOO_LARGE");
    const mm = (await s.http.get(`/v1/machines/default/tasks/${pid}/mm`)).body;
    expect(mm.map_count).toBe(0);
    expect(
      (await s.http.get("/v1/machines/default/files")).body.files.map((f: { path: string }) => f.path),
    ).not.toContain(`/${"x".repeat(5000)}`);
    const ok = await s.http.post("/v1/machines/default/batch").send({ calls: calls.slice(0, 10) });
    expect(ok.status).toBe(200);
    expect((await s.http.get(`/v1/machines/default/tasks/${pid}/mm`)).body.map_count).toBe(1);
    await call(s, pid, "exit_group");
  });

  it("429: machines, tasks per machine, RAM, max_map_count", async () => {
    expectError(await s.http.post("/v1/machines").send({ ramBytes: 2 ** 33 }), 429, "LIMIT_MACHINE_RAM");
    expectError(
      await s.http.post("/v1/machines").send({ sysctl: { "vm.max_map_count": 70000 } }),
      429,
      "LIMIT_MAX_MAP_COUNT",
    );
    expectError(
      await s.http.patch("/v1/machines/default/sysctl").send({ "vm.max_map_count": 70000 }),
      429,
      "LIMIT_MAX_MAP_COUNT",
    );
    expect((await s.http.post("/v1/machines").send({ name: "a", ramBytes: 2 ** 32 })).status).toBe(201);
    expect((await s.http.post("/v1/machines").send({ name: "b", ramBytes: 2 ** 31 })).status).toBe(201);
    expectError(await s.http.post("/v1/machines").send({ name: "c" }), 429, "LIMIT_MACHINES");
    await s.http.delete("/v1/machines/b");
    expectError(
      await s.http.post("/v1/machines").send({ name: "c", ramBytes: 2 ** 32 }),
      429,
      "LIMIT_TOTAL_RAM",
    );
    expect((await s.http.get("/v1/machines")).body.machines).toHaveLength(2);

    const p = await spawn(s, { image: "empty" }, "a");
    await call(s, p, "fork", undefined, "a");
    await call(s, p, "vfork", undefined, "a");
    await spawn(s, { image: "empty" }, "a");
    expectError(await s.http.post("/v1/machines/a/tasks").send({}), 429, "LIMIT_TASKS");
    expectError(await s.http.post(`/v1/machines/a/tasks/${p + 3}/fork`), 429, "LIMIT_TASKS");
    expect((await s.http.get("/v1/machines/a/tasks")).body.tasks).toHaveLength(4);
  });

  it("the vfork parent is refused in a batch too, in place, and the rest still runs", async () => {
    const p = await spawn(s, { image: "empty" });
    const r = await s.http.post("/v1/machines/default/batch").send({
      calls: [
        { pid: p, call: "vfork" },
        { pid: p, call: "mmap", args: { length: PG, prot: 3, flags: 0x22 } },
        { pid: p + 1, call: "execve", args: { image: "empty" } },
        { pid: p, call: "mmap", args: { length: PG, prot: 3, flags: 0x22 } },
        { pid: p, call: "nosuch" },
        { pid: 0, call: "fork" },
        { pid: p, call: "munmap", args: { addr: "zz" } },
        "junk",
      ],
    });
    expect(r.status).toBe(200);
    const [v, refused, exec, mapped, unknown, badPid, badArgs, junk] = r.body.results;
    expect(v).toEqual({ ret: p + 1 });
    expect(refused).toMatchObject({ statusCode: 409, code: "TASK_VFORK_WAITING" });
    expect(exec).toEqual({ ret: 0 });
    expect(mapped.ret).toMatch(/^0x/);
    expect(unknown).toMatchObject({ statusCode: 404, code: "ROUTE_NOT_FOUND" });
    expect(badPid).toMatchObject({ statusCode: 400, issues: [{ path: ["pid"] }] });
    expect(badArgs).toMatchObject({ statusCode: 400 });
    expect(badArgs.issues.map((i: { path: string[] }) => i.path)).toEqual([["addr"], ["length"]]);
    expect(junk).toMatchObject({ statusCode: 400 });
    // Same bodies as the single routes give.
    const single = await s.http.post(`/v1/machines/default/tasks/${p}/munmap`).send({ addr: "zz" });
    expect(single.body).toEqual(badArgs);
    const envelope = await s.http.post("/v1/machines/default/batch").send({ calls: "x" });
    expectError(envelope, 400, "FST_ERR_VALIDATION");
  });
});

describe("401: the API token", () => {
  let s: Server;
  const token = "s3cret-token-0123456789";
  beforeAll(async () => {
    s = await startServer({ apiToken: token });
  });
  afterAll(() => s.close());

  it("every route but /healthz needs the bearer token", async () => {
    expect((await s.http.get("/healthz")).status).toBe(200);
    for (const [method, url] of [
      ["get", "/readyz"],
      ["get", "/metrics"],
      ["get", "/openapi.json"],
      ["get", "/v1/machines"],
      ["post", "/v1/machines/default/tasks"],
      ["get", "/v1/nothing-here"],
    ] as const) {
      const none = await s.http[method](url);
      expectError(none, 401, "NO_TOKEN");
      expect(none.headers["www-authenticate"]).toMatch(/^Bearer/);
      expectError(await s.http[method](url).set("authorization", "Bearer wrong"), 401, "BAD_TOKEN");
    }
    expect((await s.http.get("/v1/machines/default")).status).toBe(401);
    // Refused requests changed nothing.
    const ok = await s.http.get("/v1/machines/default/tasks").set("authorization", `Bearer ${token}`);
    expect(ok.status).toBe(200);
    expect(ok.body.tasks).toEqual([]);
    expect(
      (await s.http.post("/v1/machines/default/tasks").set("authorization", `Bearer ${token}`).send({}))
        .status,
    ).toBe(201);
  });
});

describe("500: a bug", () => {
  it("is logged and answered without internals", async () => {
    const { buildApp } = await import("../../src/app.js");
    const { makeConfig } = await import("../../src/config.js");
    const { InvariantError } = await import("../../src/core/abi/ulong.js");
    const logged: string[] = [];
    const stream = { write: (l: string) => logged.push(l) };
    const app = await buildApp(makeConfig(), { logger: { level: "error", stream } });
    app.get("/v1/machines/:mid/tasks/:pid/boom", () => {
      throw new InvariantError("vm_start > vm_end in the secret place");
    });
    const r = await app.inject({ method: "GET", url: "/v1/machines/default/tasks/3/boom" });
    await app.close();
    expect(r.statusCode).toBe(500);
    expect(r.json()).toEqual({
      statusCode: 500,
      error: "Internal Server Error",
      code: "INTERNAL",
      message: expect.stringMatching(/^internal error \(request req-[0-9a-z]+\)$/),
    });
    expect(logged).toHaveLength(1);
    expect(JSON.parse(logged[0]!)).toMatchObject({
      machine: "default",
      pid: 3,
      msg: "request failed",
      err: { type: "InvariantError" },
    });
  });
});
