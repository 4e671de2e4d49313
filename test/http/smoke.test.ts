import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, type Server, spawn, startServer } from "./helpers.js";

describe("the service answers", () => {
  let s: Server;
  beforeAll(async () => {
    s = await startServer();
  });
  afterAll(() => s.close());

  it("health, a spawn, an mmap and the maps", async () => {
    expect((await s.http.get("/healthz")).body).toEqual({ status: "ok" });
    const pid = await spawn(s, { image: "empty" });
    const r = await call(s, pid, "mmap", {
      length: 8192,
      prot: "PROT_READ|PROT_WRITE",
      flags: ["MAP_PRIVATE", "MAP_ANONYMOUS"],
    });
    expect(r.ret).toMatch(/^0x[0-9a-f]+$/);
    const maps = await s.http.get(`/v1/machines/default/tasks/${pid}/maps`);
    expect(maps.type).toBe("text/plain");
    expect(maps.text).toContain(`${(r.ret as string).slice(2)}-`);
  });
});
