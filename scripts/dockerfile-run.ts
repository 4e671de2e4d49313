/**
 * Runs the Dockerfile without a container engine, as far as that can be done here: each stage in
 * its own empty directory standing for its filesystem (WORKDIR inside it), COPY from the build
 * context or an earlier stage, RUN with the stage's ENV; then the final stage's CMD as its USER
 * (uid 1000 through setpriv, as the image's `node` user), the HEALTHCHECK command against it, a
 * call through the API, the absence of dev dependencies, and a SIGTERM that must end it cleanly.
 *
 * Not checked here: the base image itself (node 22 from Docker Hub cannot be pulled; the host's
 * node runs instead), file ownership inside layers, and the engine's HEALTHCHECK scheduling.
 *
 *   npm run verify:image   (needs root for setpriv; ~1 minute, mostly npm ci)
 */
import { execFileSync, spawn } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type Copy, DockerfileParser, type Env, type From } from "dockerfile-ast";

const ctx = resolve(new URL("..", import.meta.url).pathname);
const df = DockerfileParser.parse(readFileSync(join(ctx, "Dockerfile"), "utf8"));
const root = mkdtempSync(join(tmpdir(), "mmsim-image-"));
const log = (s: string) => process.stdout.write(`${s}\n`);

interface Stage {
  name: string;
  dir: string;
  workdir: string;
  env: Record<string, string>;
  user: string | null;
  cmd: string[] | null;
  healthcheck: string[] | null;
  expose: string[];
  stopsignal: string | null;
}

const stages: Stage[] = [];
let cur: Stage | null = null;
const inStage = (s: Stage, p: string) => join(s.dir, p.startsWith("/") ? p : join(s.workdir, p));

for (const ins of df.getInstructions()) {
  const kw = ins.getKeyword();
  const args = ins.getArguments().map((a) => a.getValue());
  if (kw === "FROM") {
    const name = (ins as From).getBuildStage() ?? `stage${stages.length}`;
    cur = {
      name,
      dir: join(root, name),
      workdir: "/",
      env: {},
      user: null,
      cmd: null,
      healthcheck: null,
      expose: [],
      stopsignal: null,
    };
    mkdirSync(cur.dir, { recursive: true });
    stages.push(cur);
    log(`== ${name} (FROM ${args[0]})`);
    continue;
  }
  if (!cur) throw new Error(`${kw} before FROM`);
  const s: Stage = cur;
  switch (kw) {
    case "WORKDIR":
      s.workdir = resolve(s.workdir, args[0]!);
      mkdirSync(inStage(s, s.workdir), { recursive: true });
      break;
    case "ENV":
      for (const p of (ins as Env).getProperties()) s.env[p.getName()] = p.getValue() ?? "";
      break;
    case "COPY": {
      const from = (ins as Copy)
        .getFlags()
        .find((f) => f.getName() === "from")
        ?.getValue();
      const plain = args.filter((a) => !a.startsWith("--"));
      const dest = plain.pop()!;
      const srcRoot = from ? stages.find((x) => x.name === from) : null;
      if (from && !srcRoot) throw new Error(`COPY --from=${from}: no such stage`);
      for (const src of plain) {
        const path = srcRoot ? inStage(srcRoot, src) : join(ctx, src);
        const target = dest.endsWith("/") ? join(inStage(s, dest), src.split("/").pop()!) : inStage(s, dest);
        cpSync(path, target, { recursive: true });
        log(`COPY ${from ? `--from=${from} ` : ""}${src} -> ${dest}`);
      }
      break;
    }
    case "RUN": {
      const cmd = ins.getArgumentsContent()!.replace(/\\\n/g, " ");
      log(`RUN ${cmd}`);
      execFileSync("bash", ["-ec", cmd], {
        cwd: inStage(s, s.workdir),
        env: { ...process.env, ...s.env },
        stdio: "inherit",
      });
      break;
    }
    case "USER":
      s.user = args[0]!;
      break;
    case "EXPOSE":
      s.expose.push(...args);
      break;
    case "STOPSIGNAL":
      s.stopsignal = args[0]!;
      break;
    case "CMD":
      s.cmd = JSON.parse(ins.getArgumentsContent()!);
      break;
    case "HEALTHCHECK": {
      const text = ins.getArgumentsContent()!.replace(/\\\n/g, " ");
      s.healthcheck = JSON.parse(text.slice(text.indexOf("CMD") + 3).trim());
      break;
    }
    default:
      throw new Error(`unsupported instruction ${kw}`);
  }
}

const final = stages.at(-1)!;
const check = (cond: unknown, what: string) => {
  if (!cond) throw new Error(`FAILED: ${what}`);
  log(`ok: ${what}`);
};
check(stages.length >= 2, `multi-stage (${stages.map((s) => s.name).join(", ")})`);
check(
  final.user && final.user !== "root" && final.user !== "0",
  `final stage runs as a non-root user (${final.user})`,
);
check(final.cmd && final.healthcheck && final.expose.length, "CMD, HEALTHCHECK and EXPOSE are set");
check(final.stopsignal === "SIGTERM", "STOPSIGNAL SIGTERM");
const appDir = inStage(final, final.workdir);
for (const dev of ["tsx", "vitest", "typescript", "@biomejs/biome", "supertest", "autocannon"])
  check(!existsIn(join(appDir, "node_modules", dev)), `no dev dependency ${dev} in the runtime image`);

function existsIn(p: string): boolean {
  try {
    readFileSync(join(p, "package.json"));
    return true;
  } catch {
    return false;
  }
}

async function freePort(): Promise<number> {
  return new Promise((res) => {
    const srv = createServer().listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => res(port));
    });
  });
}

// The runtime stage's files stay root-owned; the process runs as uid/gid 1000 (the image's `node`).
execFileSync("chmod", ["-R", "a+rX", root]);
const port = await freePort();
const env = { PATH: process.env.PATH!, ...final.env, PORT: String(port), HOST: "127.0.0.1" };
const uid = final.user === "node" ? "1000" : final.user!;
const child = spawn("setpriv", [`--reuid=${uid}`, `--regid=${uid}`, "--clear-groups", "--", ...final.cmd!], {
  cwd: appDir,
  env,
  stdio: ["ignore", "pipe", "inherit"],
});
let out = "";
child.stdout.on("data", (d) => {
  out += d;
});
const exited = new Promise<number | null>((res) => child.on("exit", (code) => res(code)));
const base = `http://127.0.0.1:${port}`;
for (let i = 0; i < 100; i++) {
  try {
    if ((await fetch(`${base}/healthz`)).ok) break;
  } catch {}
  await new Promise((r) => setTimeout(r, 100));
}
const hc = execFileSync(
  "setpriv",
  [`--reuid=${uid}`, `--regid=${uid}`, "--clear-groups", "--", ...final.healthcheck!],
  {
    cwd: appDir,
    env,
  },
);
check(hc !== undefined, `HEALTHCHECK command exits 0 (${final.healthcheck!.join(" ").slice(0, 60)}…)`);
const spawned = await fetch(`${base}/v1/machines/default/tasks`, {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: "{}",
});
check(spawned.status === 201, "a task spawns through the API");
const docs = await fetch(`${base}/docs/static/index.html`);
check(docs.ok, "Swagger UI assets are served from the production dependencies");
const uidLine = execFileSync("ps", ["-o", "uid=", "-p", String(child.pid)])
  .toString()
  .trim();
check(uidLine === uid, `the server process runs as uid ${uid}`);
child.kill(final.stopsignal as NodeJS.Signals);
const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r("timeout"), 15000))]);
check(code === 0, `${final.stopsignal} ends the server cleanly (exit ${String(code)})`);
check(/"msg":"shutting down"/.test(out), "it logged its graceful shutdown");
rmSync(root, { recursive: true, force: true });
log("dockerfile-run: all checks passed");
