/**
 * The server side of bench:http (run as its own process, so the load generator does not share its
 * event loop): the real app on one port, and a bare Fastify app with one JSON route on another,
 * in the same process, and GET /cpu on the bare app (this process's CPU time). Prints "ports <app> <bare>" when both listen.
 */
import Fastify from "fastify";
import { buildApp } from "../src/app.js";
import { makeConfig } from "../src/config.js";

const app = await buildApp(makeConfig({ logLevel: "warn" }));
const bare = Fastify({ logger: false });
bare.post("/bare", async () => ({ ret: 0 }));
// The server process's CPU time (µs), so the bench can report CPU per request: on a shared,
// loaded machine that is steadier than wall-clock throughput.
bare.get("/cpu", async () => {
  const c = process.cpuUsage();
  return { us: c.user + c.system };
});
await app.listen({ port: 0, host: "127.0.0.1" });
await bare.listen({ port: 0, host: "127.0.0.1" });
const port = (s: typeof app.server) => (s.address() as { port: number }).port;
process.stdout.write(`ports ${port(app.server)} ${port(bare.server)}\n`);
process.on("SIGTERM", async () => {
  await Promise.all([app.close(), bare.close()]);
  process.exit(0);
});
