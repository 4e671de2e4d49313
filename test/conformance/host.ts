/**
 * The host side of the conformance suite: compiles the C runner with the cc on PATH, runs traces
 * on the real kernel, and detects the kernel profile the engine must use to be compared like for like.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { KernelProfile } from "../../src/core/profile.js";

const here = dirname(fileURLToPath(import.meta.url));

/** Why the suite cannot run here, or null when it can. */
export function unsupportedReason(): string | null {
  if (process.platform !== "linux") return `host is ${process.platform}, not Linux`;
  if (process.arch !== "x64") return `host is ${process.arch}, not x86_64`;
  const cc = spawnSync("cc", ["--version"], { encoding: "utf8" });
  if (cc.error || cc.status !== 0) return "no C compiler (cc) on PATH";
  return null;
}

export interface Host {
  runner: string;
  /** Scratch directory; traces' files are created inside it (per trace: a fresh subdirectory). */
  dir: string;
  profile: Partial<KernelProfile>;
  root: boolean;
  cleanup(): void;
}

export function setupHost(): Host {
  const dir = mkdtempSync(join(tmpdir(), "mmsim-conf-"));
  const runner = join(dir, "runner");
  execFileSync("cc", ["-O1", "-Wall", "-o", runner, join(here, "runner.c")], { stdio: "pipe" });
  const host: Host = {
    runner,
    dir,
    profile: {},
    root: process.getuid?.() === 0,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
  host.profile = detectProfile(host);
  return host;
}

let traceNo = 0;

/** Run one trace on the kernel; returns its output lines. */
export function runOnHost(host: Host, trace: string[]): { lines: string[]; workdir: string } {
  const workdir = join(host.dir, `t${traceNo++}`);
  mkdirSync(workdir);
  const r = spawnSync(host.runner, [workdir], {
    input: `${trace.join("\n")}\n`,
    encoding: "utf8",
    maxBuffer: 64 << 20,
  });
  if (r.status !== 0) throw new Error(`runner exited ${r.status}: ${r.stderr}\n${r.stdout}`);
  rmSync(workdir, { recursive: true, force: true });
  return { lines: r.stdout.split("\n").filter((l) => l !== ""), workdir };
}

/** read_ahead_kb of the device holding `dir` (its backing_dev_info), or the stock 128. */
function readAheadKb(dir: string): number {
  const dev = statSync(dir).dev;
  // glibc's gnu_dev_major/minor.
  const major = ((dev >>> 8) & 0xfff) | (Math.floor(dev / 2 ** 32) & ~0xfff);
  const minor = (dev & 0xff) | ((dev >>> 12) & ~0xff & 0xfffff);
  try {
    return Number(readFileSync(`/sys/class/bdi/${major}:${minor}/read_ahead_kb`, "utf8").trim());
  } catch {
    return 128;
  }
}

function sysctl(name: string): number {
  return Number(readFileSync(`/proc/sys/${name.replaceAll(".", "/")}`, "utf8").trim());
}

function meminfoKb(key: string): number {
  const m = readFileSync("/proc/meminfo", "utf8").match(new RegExp(`^${key}:\\s+(\\d+) kB`, "m"));
  return m ? Number(m[1]) : 0;
}

/** The knobs of this kernel: sysctls, RAM and swap, and what the runner's probe observes. */
function detectProfile(host: Host): Partial<KernelProfile> {
  const { lines } = runOnHost(host, ["probe"]);
  const rss = lines.find((l) => l.includes("Rss:"));
  const flags = lines.find((l) => l.includes("VmFlags:")) ?? "";
  if (!rss) throw new Error(`probe gave no smaps: ${lines.join("\n")}`);
  const overcommit = sysctl("vm.overcommit_memory");
  return {
    // A read of untouched anonymous memory maps the zero page (Rss stays 0) on stock kernels.
    zeroPage: /Rss:\s+0 kB/.test(rss),
    softDirty: / sd( |$)/.test(flags),
    memoryFailure: lines.includes("hwpoison 0"),
    mmapMinAddr: sysctl("vm.mmap_min_addr"),
    maxMapCount: sysctl("vm.max_map_count"),
    overcommitMemory: (overcommit === 1 || overcommit === 2 ? overcommit : 0) as 0 | 1 | 2,
    overcommitRatio: sysctl("vm.overcommit_ratio"),
    ramBytes: meminfoKb("MemTotal") * 1024,
    swapBytes: meminfoKb("SwapTotal") * 1024,
    randomizeVaSpace: 2,
    readAheadKb: readAheadKb(host.dir),
  };
}
