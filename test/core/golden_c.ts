/**
 * What the golden tests that capture from this machine's kernel share: whether they can (cc on
 * PATH, Linux x86_64), and compiling and running their C program.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";

function haveCc(): boolean {
  if (process.platform !== "linux" || process.arch !== "x64") return false;
  return spawnSync("cc", ["--version"], { stdio: "ignore" }).status === 0;
}

/** A live capture can run here. */
export const CAN_CAPTURE = haveCc();
/** Appended to a live suite's title: why it is skipped, when it is. */
export const CAPTURE_NOTE = CAN_CAPTURE ? "" : " (skipped: needs cc in PATH on Linux x86_64)";

/** Compile `source` with cc -O0 -Wall into dir/name, run it with args: its stdout (throws on failure). */
export function runC(dir: string, source: string, name: string, args: string[] = []): string {
  const exe = join(dir, name);
  const cc = spawnSync("cc", ["-O0", "-Wall", "-o", exe, source], { encoding: "utf8" });
  if (cc.status !== 0) throw new Error(`cc failed:\n${cc.stderr}`);
  const run = spawnSync(exe, args, { encoding: "utf8" });
  if (run.status !== 0) throw new Error(`${name} failed (${run.status}):\n${run.stderr}`);
  return run.stdout;
}
