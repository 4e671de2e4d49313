/**
 * What every engine-versus-kernel benchmark shares: compiling its C side with the `cc` on PATH,
 * driving it over a line protocol on stdin/stdout (one command line in, one reply line out, "err …"
 * on failure), and full GCs between setups (the tables' figures are in figures.ts).
 */
import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { fail } from "./figures.js";

/** A full GC between setups, so garbage from building one space is not collected while timing the next. */
setFlagsFromString("--expose-gc");
export const fullGc = runInNewContext("gc") as () => void;

/**
 * Compile bench/<name>.c into dir with cc -O2 (-static first when asked: fewer VMAs in the
 * process, which some rows mirror; a machine without a static libc falls back to dynamic).
 */
export function compileC(
  dir: string,
  name: string,
  opts: { static?: boolean } = {},
): { bin: string; linking: string } {
  const src = fileURLToPath(new URL(`./${name}.c`, import.meta.url));
  const bin = join(dir, name);
  if (opts.static) {
    try {
      execFileSync("cc", ["-O2", "-static", "-Wall", "-o", bin, src], { stdio: "pipe" });
      return { bin, linking: "static" };
    } catch {
      execFileSync("cc", ["-O2", "-Wall", "-o", bin, src], { stdio: "inherit" });
      return { bin, linking: "dynamic (no static libc)" };
    }
  }
  execFileSync("cc", ["-O2", "-Wall", "-o", bin, src], { stdio: "inherit" });
  return { bin, linking: "dynamic" };
}

/** The kernel side of a benchmark: a C program answering one line per command. */
export class KernelChild {
  private constructor(
    private readonly name: string,
    private readonly proc: ChildProcessWithoutNullStreams,
    private readonly lines: AsyncIterator<string>,
  ) {}

  static start(binary: string, name: string): KernelChild {
    const proc = spawn(binary, [], {
      stdio: ["pipe", "pipe", "inherit"],
    }) as unknown as ChildProcessWithoutNullStreams;
    // A child that died after an "err" reply must not turn the final "quit" into an EPIPE crash.
    proc.stdin.on("error", () => undefined);
    const rl = createInterface({ input: proc.stdout });
    return new KernelChild(name, proc, rl[Symbol.asyncIterator]());
  }

  async next(): Promise<string[]> {
    const r = await this.lines.next();
    if (r.done) fail(`${this.name} exited early`);
    const f = r.value.trim().split(/\s+/);
    if (f[0] === "err") fail(`${this.name}: ${r.value.slice(4)}`);
    return f;
  }

  async cmd(line: string): Promise<string[]> {
    this.proc.stdin.write(`${line}\n`);
    return this.next();
  }

  /** A command whose reply starts with `tag` ("ok", "ns"): the numbers after it. */
  async expect(line: string, tag: string): Promise<number[]> {
    const f = await this.cmd(line);
    if (f[0] !== tag || f.length < 2) fail(`${this.name} ${line}: unexpected reply ${f.join(" ")}`);
    return f.slice(1).map(Number);
  }

  async quit(): Promise<void> {
    this.proc.stdin.end("quit\n");
    await new Promise<void>((resolve) => {
      if (this.proc.exitCode !== null) resolve();
      else this.proc.once("exit", () => resolve());
    });
  }
}
