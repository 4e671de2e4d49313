/**
 * bench:http — autocannon against a running server (a child process): requests/s of mprotect on an
 * existing mapping (alternating PROT_READ and PROT_READ|PROT_WRITE on one page: a split, then a
 * merge) against a bare Fastify JSON route in the same process, munlockall (the same route machinery
 * around a call that does nothing), and syscalls/s through /batch.
 * Rounds are interleaved; the table shows medians. Targets: mprotect >= 80% of bare, batch >=
 * 300 000 syscalls/s.
 *
 *   npm run bench:http -- [--rounds 5] [--duration 5] [--connections 10] [--batch 1000]
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import autocannon from "autocannon";
import { arg, median } from "./figures.js";
import { post } from "./service.js";

const ROUNDS = arg("rounds", 5);
const DURATION = arg("duration", 5);
const CONNECTIONS = arg("connections", 10);
const BATCH = arg("batch", 1000);

let cpuUrl = "";
const cpuNow = async () => ((await (await fetch(cpuUrl)).json()) as { us: number }).us;

/** One autocannon run; also the server's CPU µs per request over it. */
async function run(opts: autocannon.Options): Promise<autocannon.Result & { cpuPerReq: number }> {
  const c0 = await cpuNow();
  const r = await autocannon({ duration: DURATION, connections: CONNECTIONS, ...opts });
  const c1 = await cpuNow();
  if (r.non2xx || r.errors) throw new Error(`${opts.url}: ${r.non2xx} non-2xx, ${r.errors} errors`);
  return Object.assign(r, { cpuPerReq: (c1 - c0) / r.requests.total });
}

const child = spawn(process.execPath, ["--import", "tsx", "bench/http_server.ts"], {
  stdio: ["ignore", "pipe", "inherit"],
});
try {
  const lines = createInterface({ input: child.stdout! });
  const [line] = (await once(lines, "line")) as [string];
  const [, appPort, barePort] = line.split(" ").map(Number);
  const base = `http://127.0.0.1:${appPort}/v1/machines/default`;
  cpuUrl = `http://127.0.0.1:${barePort}/cpu`;
  const { pid } = await post(`${base}/tasks`, { image: "empty" });
  const addr = "0x100000000000";
  await post(`${base}/tasks/${pid}/mmap`, {
    addr,
    length: 16 * 4096,
    prot: "PROT_READ|PROT_WRITE",
    flags: "MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED",
  });
  const ro = JSON.stringify({ addr, length: 4096, prot: "PROT_READ" });
  const rw = JSON.stringify({ addr, length: 4096, prot: "PROT_READ|PROT_WRITE" });
  const headers = { "content-type": "application/json" };
  const calls = Array.from({ length: BATCH }, (_, i) => ({
    pid,
    call: "mprotect",
    args: { addr, length: 4096, prot: i % 2 ? "PROT_READ|PROT_WRITE" : "PROT_READ" },
  }));
  const batchBody = JSON.stringify({ calls });
  // Check once that the calls succeed (a bench of errors would flatter the numbers).
  const check = (await post(`${base}/batch`, { calls: calls.slice(0, 2) })) as { results: { ret: number }[] };
  if (check.results.some((r) => r.ret !== 0)) throw new Error(`mprotect failed: ${JSON.stringify(check)}`);

  const ratios: number[] = [];
  const cpuRatios: number[] = [];
  const cpuBare: number[] = [];
  const cpuMprotect: number[] = [];
  const cpuBatch: number[] = [];
  const bare: number[] = [];
  const mprotect: number[] = [];
  const munlockall: number[] = [];
  const cpuMunlockall: number[] = [];
  const batch: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const b = await run({
      url: `http://127.0.0.1:${barePort}/bare`,
      method: "POST",
      headers,
      body: ro,
    });
    bare.push(b.requests.average);
    const m = await run({
      url: `${base}/tasks/${pid}/mprotect`,
      method: "POST",
      headers,
      requests: [{ body: ro }, { body: rw }],
    });
    mprotect.push(m.requests.average);
    ratios.push(m.requests.average / b.requests.average);
    // The same route machinery around a call that does nothing: what the plumbing costs.
    const u = await run({ url: `${base}/tasks/${pid}/munlockall`, method: "POST", headers, body: "{}" });
    munlockall.push(u.requests.average);
    cpuMunlockall.push(u.cpuPerReq);
    cpuRatios.push(b.cpuPerReq / m.cpuPerReq);
    cpuBare.push(b.cpuPerReq);
    cpuMprotect.push(m.cpuPerReq);
    const x = await run({
      url: `${base}/batch`,
      method: "POST",
      headers,
      body: batchBody,
      connections: 2,
    });
    batch.push(x.requests.average * BATCH);
    cpuBatch.push(x.cpuPerReq / BATCH);
    process.stderr.write(
      `round ${round + 1}: bare ${b.requests.average.toFixed(0)} req/s (${b.cpuPerReq.toFixed(1)} µs CPU/req), mprotect ${m.requests.average.toFixed(0)} req/s (${m.cpuPerReq.toFixed(1)} µs), batch ${(x.requests.average * BATCH).toFixed(0)} syscalls/s (${(x.cpuPerReq / BATCH).toFixed(2)} µs/call)\n`,
    );
  }
  const mb = median(bare);
  const mm = median(mprotect);
  const mx = median(batch);
  const mr = median(ratios);
  console.log(
    `\nmedians of ${ROUNDS} rounds, ${DURATION} s each, ${CONNECTIONS} connections (batch: 2 connections, ${BATCH} calls per request)`,
  );
  const cr = median(cpuRatios);
  console.log("| what | rate | ratio | server CPU per request | CPU ratio | target |");
  console.log("| --- | ---: | ---: | ---: | ---: | --- |");
  console.log(
    `| bare Fastify JSON route | ${mb.toFixed(0)} req/s | 1.00 | ${median(cpuBare).toFixed(1)} µs | 1.00 | anchor |`,
  );
  console.log(
    `| POST …/mprotect | ${mm.toFixed(0)} req/s | ${mr.toFixed(2)} | ${median(cpuMprotect).toFixed(1)} µs | ${cr.toFixed(2)} | >= 0.80: rate ${mr >= 0.8 ? "met" : "MISSED"}, CPU ${cr >= 0.8 ? "met" : "MISSED"} |`,
  );
  console.log(
    `| POST …/munlockall (plumbing only) | ${median(munlockall).toFixed(0)} req/s | | ${median(cpuMunlockall).toFixed(1)} µs | ${(median(cpuBare) / median(cpuMunlockall)).toFixed(2)} | |`,
  );
  console.log(
    `| POST …/batch | ${mx.toFixed(0)} syscalls/s | | ${median(cpuBatch).toFixed(2)} µs per call | | >= 300000 ${mx >= 300000 ? "met" : "MISSED"} (CPU-bound: ${(1e6 / median(cpuBatch)).toFixed(0)}/s) |`,
  );
  console.log(
    "(ratios: medians of per-round ratios, both routes measured back to back; CPU ratio = bare CPU per request / mprotect CPU per request, the throughput ratio once the server is the bottleneck)",
  );
} finally {
  child.kill("SIGTERM");
}
