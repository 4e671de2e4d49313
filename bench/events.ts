/**
 * bench:events — event delivery over WebSocket against a server process (bench/events_server.ts).
 *
 * 1. Throughput: N subscribers (1, 10, 100) on /v1/machines/{mid}/events while /batch requests
 *    produce faults (each request: `--rounds-per-batch` x {mmap 256 fresh pages, store one byte in
 *    each}, two requests in flight). Delivered events/s = N x events / the time from the first request to
 *    the last event reaching the last subscriber. Each client counts events without parsing them
 *    (one `{"seq":` per event) and checks it got exactly the produced seqs, with no gap. Medians of
 *    `--runs` runs. Target: >= 1 000 000 events/s delivered in total with 100 subscribers.
 * 2. Memory: one stalled subscriber (it stops reading its socket) and one live one, while
 *    `--stall-events` events are produced; the server's RSS and heap (after a full GC) every tenth of
 *    the way, and whether the live one got every event. Target: flat (once the ring and the
 *    stalled queue are full, the heap grows less than 4 MB over the second half of the run).
 *
 *   npm run bench:events -- [--runs 5] [--events 200000] [--stall-events 1000000]
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import type { Socket } from "node:net";
import { loadavg } from "node:os";
import { createInterface } from "node:readline";
import WebSocket from "ws";
import { arg, median } from "./figures.js";
import { post } from "./service.js";

const RUNS = arg("runs", 5);
const EVENTS = arg("events", 200_000);
const STALL_EVENTS = arg("stall-events", 1_000_000);
const PAGES = 256;
const ROUNDS_PER_BATCH = arg("rounds-per-batch", 8);
const SUBSCRIBERS = process.argv.includes("--only100") ? [100] : [1, 10, 100];
const BASE = "0x100000000000";

const MB = (b: number) => (b / 2 ** 20).toFixed(1);

const SEQ = Buffer.from('{"seq":');
const GAP = Buffer.from('[{"type":"gap"');

/** A subscriber that counts events without parsing them, and remembers the last seq. */
class Counter {
  events = 0;
  last = 0;
  gaps = 0;
  private target = Number.POSITIVE_INFINITY;
  private reached: (() => void) | null = null;
  constructor(readonly ws: WebSocket) {
    ws.on("message", (data: Buffer) => {
      let i = data.indexOf(SEQ);
      let lastAt = -1;
      while (i >= 0) {
        this.events++;
        lastAt = i;
        i = data.indexOf(SEQ, i + SEQ.length);
      }
      if (data.subarray(0, GAP.length).equals(GAP)) this.gaps++; // control items come in frames of their own
      if (lastAt >= 0) {
        const end = data.indexOf(44, lastAt); // ','
        this.last = Number(data.toString("latin1", lastAt + SEQ.length, end));
        if (this.last >= this.target) this.reached?.();
      }
    });
  }
  static async open(url: string): Promise<Counter> {
    const ws = new WebSocket(url, { skipUTF8Validation: true });
    const c = new Counter(ws);
    await once(ws, "message"); // subscribed
    return c;
  }
  until(seq: number): Promise<void> {
    if (this.last >= seq) return Promise.resolve();
    this.target = seq;
    return new Promise((r) => {
      this.reached = r;
    });
  }
}

/** A server process (bench/events_server.ts) and its stdin/stdout commands. */
class ServerProcess {
  private readonly lines;
  private constructor(
    readonly child: ChildProcess,
    readonly port: number,
    lines: ReturnType<typeof createInterface>,
  ) {
    this.lines = lines;
  }
  static async start(): Promise<ServerProcess> {
    const child = spawn(process.execPath, ["--expose-gc", "--import", "tsx", "bench/events_server.ts"], {
      stdio: ["pipe", "pipe", "inherit"],
    });
    const lines = createInterface({ input: child.stdout! });
    const [line] = (await once(lines, "line")) as [string];
    return new ServerProcess(child, Number(line.split(" ")[1]), lines);
  }
  private async next(prefix: string): Promise<string> {
    for (;;) {
      const [line] = (await once(this.lines, "line")) as [string];
      if (line.startsWith(prefix)) return line;
    }
  }
  /** CPU time (µs) the server process has used so far. */
  async cpu(): Promise<number> {
    this.child.stdin!.write("cpu\n");
    return Number((await this.next("cpu ")).split(" ")[1]);
  }
  async mem() {
    this.child.stdin!.write("mem\n");
    const [, rss, heap, external, json] = (await this.next("mem ")).match(/^mem (\d+) (\d+) (\d+) (.*)$/)!;
    return { rss: Number(rss), heap: Number(heap), external: Number(external), state: JSON.parse(json!) };
  }
  stop(): void {
    this.child.kill("SIGTERM");
  }
}

const clientCpu = () => {
  const c = process.cpuUsage();
  return c.user + c.system;
};

let srv = await ServerProcess.start();
try {
  const http = () => `http://127.0.0.1:${srv.port}/v1/machines`;
  const wsUrl = () => `ws://127.0.0.1:${srv.port}/v1/machines`;

  /** A machine with one task; returns a function producing at least n events (faults, mostly). */
  async function machine(name: string) {
    await post(http(), { name });
    const { pid } = (await post(`${http()}/${name}/tasks`, { image: "empty" })) as { pid: number };
    const calls = [];
    for (let i = 0; i < ROUNDS_PER_BATCH; i++) {
      const args = { addr: BASE, length: PAGES * 4096 };
      calls.push({
        pid,
        call: "mmap",
        args: { ...args, prot: "PROT_READ|PROT_WRITE", flags: "MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED" },
      });
      // A one-byte store per page (as fault benchmarks do): one write fault each.
      for (let p = 0; p < PAGES; p++)
        calls.push({
          pid,
          call: "memory/write",
          args: { addr: `0x${(0x100000000000 + p * 4096).toString(16)}`, data: "01" },
        });
    }
    const body = { calls };
    const perBatch = ROUNDS_PER_BATCH * (PAGES + 1);
    return async (n: number, inFlight = 2) => {
      let left = Math.ceil(n / perBatch);
      const worker = async () => {
        while (left-- > 0) await post(`${http()}/${name}/batch`, body);
      };
      await Promise.all(Array.from({ length: inFlight }, worker));
    };
  }

  /** A machine's latest seq: a fresh subscriber's `subscribed` item says it. */
  async function latest(name: string): Promise<number> {
    const probe = new WebSocket(`${wsUrl()}/${name}/events?types=task_new`);
    const [first] = (await once(probe, "message")) as [Buffer];
    probe.close();
    return (JSON.parse(first.toString())[0] as { latest: Record<string, number> }).latest[name]!;
  }

  // 1. Throughput
  const produce = await machine("tput");
  const results: Record<number, number[]> = {};
  const perCpu: Record<number, number[]> = {};
  const clientPerCpu: Record<number, number[]> = {};
  const exact: string[] = [];
  await produce(1); // warm up the paths once
  let seqBefore = await latest("tput");
  for (let run = 0; run < RUNS; run++) {
    for (const n of SUBSCRIBERS) {
      const subs = await Promise.all(Array.from({ length: n }, () => Counter.open(`${wsUrl()}/tput/events`)));
      const cpu0 = await srv.cpu();
      const ccpu0 = clientCpu();
      const t0 = process.hrtime.bigint();
      await produce(EVENTS);
      const tProduced = Number(process.hrtime.bigint() - t0) / 1e9;
      const last = await latest("tput");
      await Promise.all(subs.map((c) => c.until(last)));
      const secs = Number(process.hrtime.bigint() - t0) / 1e9;
      const cpu = ((await srv.cpu()) - cpu0) / 1e6;
      const ccpu = (clientCpu() - ccpu0) / 1e6;
      const produced = last - seqBefore;
      for (const c of subs) {
        if (c.events !== produced || c.gaps || c.last !== last)
          exact.push(
            `run ${run + 1}, ${n} subscribers: got ${c.events} of ${produced} events, ${c.gaps} gaps`,
          );
        c.ws.close();
      }
      const rate = (n * produced) / secs;
      results[n] = [...(results[n] ?? []), rate];
      perCpu[n] = [...(perCpu[n] ?? []), (n * produced) / cpu];
      clientPerCpu[n] = [...(clientPerCpu[n] ?? []), (n * produced) / ccpu];
      process.stderr.write(
        `run ${run + 1}: ${n} subscribers, ${produced} events in ${secs.toFixed(2)} s (produced in ${tProduced.toFixed(2)} s): ${(rate / 1e6).toFixed(2)} M events/s delivered; server CPU ${cpu.toFixed(2)} s, client CPU ${ccpu.toFixed(2)} s; load ${loadavg()[0]!.toFixed(1)}\n`,
      );
      seqBefore = last;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  // 2. Memory with a stalled subscriber, in a fresh server process
  srv.stop();
  srv = await ServerProcess.start();
  const produceStall = await machine("stall");
  const live = await Counter.open(`${wsUrl()}/stall/events`);
  const stalled = await Counter.open(`${wsUrl()}/stall/events`);
  (stalled.ws as unknown as { _socket: Socket })._socket.pause();
  const samples: { events: number; rss: number; heap: number; external: number }[] = [];
  const base = await srv.mem();
  samples.push({ events: 0, rss: base.rss, heap: base.heap, external: base.external });
  const step = STALL_EVENTS / 10;
  let end = base.state;
  for (let k = 1; k <= 10; k++) {
    await produceStall(step, 1);
    await live.until(await latest("stall"));
    const m = await srv.mem();
    end = m.state;
    samples.push({ events: Math.round(k * step), rss: m.rss, heap: m.heap, external: m.external });
  }
  const stallLast = live.last;
  const liveExact = live.events === stallLast && live.gaps === 0;
  const stalledState = end.subs.find((s: { dropping: boolean }) => s.dropping) ?? end.subs[1];

  console.log(
    `\n## Delivery (medians of ${RUNS} runs, ${EVENTS} events per run, all event types, no filter)\n`,
  );
  console.log(
    "| subscribers | delivered events/s | per subscriber | per server CPU-second | per client CPU-second | target |",
  );
  console.log("| ---: | ---: | ---: | ---: | ---: | --- |");
  const fmt = (x: number) => Math.round(x).toLocaleString("en");
  for (const n of SUBSCRIBERS) {
    const m = median(results[n]!);
    const target = n === 100 ? `>= 1 000 000 ${m >= 1e6 ? "met" : "MISSED"}` : "";
    console.log(
      `| ${n} | ${fmt(m)} | ${fmt(m / n)} | ${fmt(median(perCpu[n]!))} | ${fmt(median(clientPerCpu[n]!))} | ${target} |`,
    );
  }
  console.log(
    "(per CPU-second: events delivered per second of CPU the server process, or the clients' process, used: what one free core would sustain. The machine is shared: see the load averages above.)",
  );
  console.log(
    exact.length
      ? `\nNOT EXACT:\n${exact.join("\n")}`
      : "\nEvery subscriber got exactly the produced events, in order, without gaps.",
  );
  console.log(
    `\n## Server memory with one stalled subscriber (and one live), ${STALL_EVENTS} events, fresh server process\n\n(EVENTS_SLOW_CLOSE_MS and heartbeats off, so the stalled one stays connected and only its queue bounds hold it; RSS, heap and external after two full GCs)\n`,
  );
  console.log("| events produced | RSS MB | heap used MB | external MB |");
  console.log("| ---: | ---: | ---: | ---: |");
  for (const s of samples)
    console.log(`| ${s.events.toLocaleString("en")} | ${MB(s.rss)} | ${MB(s.heap)} | ${MB(s.external)} |`);
  // Once the ring (EVENTS_RING events) and the stalled queue (EVENTS_QUEUE_* bounds) are full,
  // nothing should grow: compare the second half of the run.
  const half = samples.slice(5);
  const range = (xs: number[]) => Math.max(...xs) - Math.min(...xs);
  const heapGrowth = samples.at(-1)!.heap - samples[5]!.heap;
  console.log(
    `\nSecond half (${samples[5]!.events.toLocaleString("en")} to ${samples.at(-1)!.events.toLocaleString("en")} events): RSS range ${MB(range(half.map((x) => x.rss)))} MB, heap range ${MB(range(half.map((x) => x.heap)))} MB, heap growth ${MB(heapGrowth)} MB; target flat: ${heapGrowth < 4 * 2 ** 20 ? "met" : "MISSED"} (heap growth < 4 MB)`,
  );
  console.log(
    `The live subscriber got ${liveExact ? "every event, 1 to" : "NOT every event, up to"} seq ${stallLast}; the stalled one holds ${stalledState.bytes} queued bytes (${stalledState.events} events, dropping: ${stalledState.dropping}), socket buffer ${stalledState.buffered} bytes; ${end.stats.dropped} events dropped for it, still connected: ${end.subs.some((s: { dropping: boolean }) => s.dropping)}.`,
  );
  live.ws.close();
  stalled.ws.terminate();
} finally {
  srv.stop();
}
