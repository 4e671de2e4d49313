/**
 * HTTP test scaffolding: the real app listening on an ephemeral loopback port, a supertest agent
 * for it, and small helpers to drive a task.
 */
import type { FastifyInstance } from "fastify";
import request from "supertest";
import { expect } from "vitest";
import { buildApp } from "../../src/app.js";
import { type Config, makeConfig } from "../../src/config.js";
import type { mm_struct } from "../../src/core/mm/types.js";
import { validate_machine, validate_mm } from "../../src/core/mm/validate.js";
import { CALLS } from "../../src/http/calls.js";

export interface Server {
  app: FastifyInstance;
  url: string;
  /** supertest against the listening server. */
  http: ReturnType<typeof request>;
  close(): Promise<void>;
}

export async function startServer(over: Parameters<typeof makeConfig>[0] = {}): Promise<Server> {
  const config: Config = makeConfig(over);
  const app = await buildApp(config, { logger: false });
  await app.listen({ port: 0, host: "127.0.0.1" });
  const addr = app.server.address();
  if (!addr || typeof addr === "string") throw new Error("no address");
  const url = `http://127.0.0.1:${addr.port}`;
  return { app, url, http: request(url), close: () => app.close() };
}

/** POST a call on a task; checks the reply against the call's documented 200 schema. */
export async function call(
  s: Server,
  pid: number,
  name: string,
  args?: Record<string, unknown>,
  mid = "default",
): Promise<Record<string, unknown>> {
  const req = s.http.post(`/v1/machines/${mid}/tasks/${pid}/${name}`);
  const res = args === undefined ? await req : await req.send(args);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  const spec = CALLS.get(name)!;
  expect(spec.result.safeParse(res.body).success, JSON.stringify(res.body)).toBe(true);
  return res.body;
}

/** Spawn a task on a machine; returns its pid. */
export async function spawn(s: Server, body: Record<string, unknown> = {}, mid = "default"): Promise<number> {
  const res = await s.http.post(`/v1/machines/${mid}/tasks`).send(body);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.pid;
}

/** validate_mm() on every live mm of the machine, then validate_machine() (frame counts). */
export function validateAll(s: Server, mid: string): void {
  const m = s.app.machines.get(mid).machine;
  const mms = new Set<mm_struct>();
  for (const t of m.tasks.values()) if (t.mm) mms.add(t.mm);
  for (const mm of mms) validate_mm(m, mm);
  validate_machine(m, mms);
}
