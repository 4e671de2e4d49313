/**
 * The process: src/server.ts started as `npm start` starts it. It refuses an invalid environment
 * with the reasons, and on SIGTERM finishes the request in flight before it exits 0.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { describe, expect, it } from "vitest";

function start(env: Record<string, string>): { child: ChildProcess; out: () => string; err: () => string } {
  const child = spawn(process.execPath, ["--import", "tsx", "src/server.ts"], {
    env: { PATH: process.env.PATH!, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout!.on("data", (d) => {
    out += d;
  });
  child.stderr!.on("data", (d) => {
    err += d;
  });
  return { child, out: () => out, err: () => err };
}

async function listening(p: ReturnType<typeof start>): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const m = /Server listening at (http:\/\/127\.0\.0\.1:[0-9]+)/.exec(p.out());
    if (m) return m[1]!;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`not listening: ${p.out()} ${p.err()}`);
}

describe("server process", () => {
  it("exits 1 naming the invalid variables", async () => {
    const p = start({ PORT: "http", MAX_MACHINES: "0" });
    const [code] = await once(p.child, "exit");
    expect(code).toBe(1);
    expect(p.err()).toMatch(/invalid configuration:\n {2}PORT: .*\n {2}MAX_MACHINES: /);
  });

  it("SIGTERM: the batch in flight completes, then the process exits 0", async () => {
    const p = start({ PORT: "0", LOG_LEVEL: "info" });
    const url = await listening(p);
    const spawned = await fetch(`${url}/v1/machines/default/tasks`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"image":"empty"}',
    });
    const { pid } = (await spawned.json()) as { pid: number };
    await fetch(`${url}/v1/machines/default/tasks/${pid}/mmap`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"addr":"0x100000000000","length":65536,"prot":3,"flags":"MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED"}',
    });
    const calls = Array.from({ length: 50000 }, (_, i) => ({
      pid,
      call: "mprotect",
      args: { addr: "0x100000000000", length: 4096, prot: i % 2 ? 3 : 1 },
    }));
    const inFlight = fetch(`${url}/v1/machines/default/batch`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ calls }),
    });
    // Signal once the request has reached the server (its body is being read or run).
    await new Promise((r) => setTimeout(r, 30));
    const exited = once(p.child, "exit");
    p.child.kill("SIGTERM");
    const res = await inFlight;
    expect(res.status).toBe(200);
    const body = (await res.json()) as { results: { ret: number }[] };
    expect(body.results).toHaveLength(50000);
    expect(body.results.every((r) => r.ret === 0)).toBe(true);
    const [code] = await exited;
    expect(code).toBe(0);
    expect(p.out()).toContain('"msg":"shutting down"');
    // Once closed, nothing listens any more.
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });
});
