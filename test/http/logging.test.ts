/**
 * Logs: JSON lines with the request id (x-request-id), machine and pid; never memory contents.
 */
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { buildApp } from "../../src/app.js";
import { makeConfig } from "../../src/config.js";

describe("logs", () => {
  it("carry request id, machine and pid, and no bytes", async () => {
    const lines: Record<string, unknown>[] = [];
    const stream = new Writable({
      write(chunk, _enc, cb) {
        for (const l of String(chunk).split("\n")) if (l) lines.push(JSON.parse(l));
        cb();
      },
    });
    const app = await buildApp(makeConfig({ logLevel: "debug" }), { logger: { level: "debug", stream } });
    const spawned = await app.inject({
      method: "POST",
      url: "/v1/machines/default/tasks",
      payload: { image: "empty" },
    });
    const pid = spawned.json().pid;
    await app.inject({
      method: "POST",
      url: `/v1/machines/default/tasks/${pid}/mmap`,
      headers: { "x-request-id": "trace-me-42" },
      payload: {
        addr: "0x100000000000",
        length: 4096,
        prot: 3,
        flags: "MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED",
      },
    });
    await app.inject({
      method: "POST",
      url: `/v1/machines/default/tasks/${pid}/memory/write`,
      payload: { addr: "0x100000000000", data: "5345435245545345" },
    });
    await app.close();
    const spawnLine = lines.find((l) => l.msg === "task spawned");
    expect(spawnLine).toMatchObject({ machine: "default", pid, service: "mmsim" });
    const callLine = lines.find((l) => l.msg === "call" && l.call === "mmap");
    expect(callLine).toMatchObject({ reqId: "trace-me-42", machine: "default", pid, ret: "0x100000000000" });
    const all = JSON.stringify(lines);
    expect(all).toContain('"call":"memory/write"');
    expect(all).not.toContain("5345435245545345");
    expect(all).not.toContain("SECRETSE");
  });
});
