/**
 * The server side of bench:events (its own process, so the clients do not share its event loop):
 * the real app on an ephemeral port; prints "port N". Reads commands on stdin: "cpu" prints
 * "cpu <µs>" (the process's CPU time so far); "mem" prints
 * "mem <rss> <heapUsed> <external+arrayBuffers>" in bytes after full GCs (run node with --expose-gc),
 * and the state of the stream connections.
 */
import { createInterface } from "node:readline";
import { buildApp } from "../src/app.js";
import { makeConfig } from "../src/config.js";

const app = await buildApp(makeConfig({ logLevel: "warn", events: { slowCloseMs: 0, heartbeatMs: 0 } }));
await app.listen({ port: 0, host: "127.0.0.1" });
process.stdout.write(`port ${(app.server.address() as { port: number }).port}\n`);

const gc = (globalThis as { gc?: () => void }).gc;
createInterface({ input: process.stdin }).on("line", async (line) => {
  if (line === "cpu") {
    const c = process.cpuUsage();
    process.stdout.write(`cpu ${c.user + c.system}\n`);
    return;
  }
  if (line !== "mem") return;
  // Two full GCs half a second apart: V8 gives freed pages back in the background.
  gc?.();
  await new Promise((r) => setTimeout(r, 500));
  gc?.();
  const m = process.memoryUsage();
  const subs = app.events.subscribers().map((s) => ({ ...s.backlog, buffered: s.ws.bufferedAmount }));
  process.stdout.write(
    `mem ${m.rss} ${m.heapUsed} ${m.external} ${JSON.stringify({ subs, stats: app.events.stats })}\n`,
  );
});
process.on("SIGTERM", async () => {
  await app.close();
  process.exit(0);
});
