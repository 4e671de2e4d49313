/**
 * One route per call: `POST /machines/{mid}/tasks/{pid}/{call}`. The body is decoded by the call's
 * precompiled decoder (zod's issues when it is refused), the call runs through `runCall` (the path
 * /batch shares), and the reply is serialized without a second schema pass (the shared replies,
 * {ret: 0} and failures, from their JSON made once).
 */
import { errorCodes, type FastifyInstance, type FastifySchemaCompiler } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import type { z } from "zod";
import { CALLS, type CallContext, replyJson, runCall } from "../../calls.js";
import { errors, TaskParams } from "../../schemas/common.js";
import { zodValidatorCompiler } from "../../validation.js";

const PID = /^[1-9][0-9]{0,14}$/;

export default async function callRoutes(base: FastifyInstance): Promise<void> {
  // JSON bodies by JSON.parse, without secure-json-parse's two scans of the text for __proto__
  // and constructor (this context only: the call routes). Nothing here can be polluted through
  // them: JSON.parse makes them own keys (it sets no prototype), and every call's decoder refuses
  // keys that are not its arguments, at every depth (strict objects), so the body reaches the
  // core only as fresh objects of known keys. Empty and malformed bodies fail as Fastify's own
  // parser fails them.
  base.removeContentTypeParser("application/json");
  base.addContentTypeParser("application/json", { parseAs: "string" }, (_req, body, done) => {
    if (body.length === 0) return done(new errorCodes.FST_ERR_CTP_EMPTY_JSON_BODY(), undefined);
    let json: unknown;
    try {
      json = JSON.parse(body as string);
    } catch {
      return done(new errorCodes.FST_ERR_CTP_INVALID_JSON_BODY(), undefined);
    }
    done(null, json);
  });
  const app = base.withTypeProvider<ZodTypeProvider>();
  const ctx: CallContext = { limits: app.machines.limits, observe: app.metrics.observe };
  const debug = app.log.level === "debug" || app.log.level === "trace";
  for (const spec of CALLS.values()) {
    const bodyCompiler: FastifySchemaCompiler<z.ZodType> = (route) => {
      if (route.httpPart === "params") {
        // The common case without zod ({mid, pid} with pid a plain decimal); zod decides the rest.
        const viaZod = zodValidatorCompiler(route);
        return (data: unknown) => {
          const p = data as { mid: string; pid: string };
          if (PID.test(p.pid)) return { value: { mid: p.mid, pid: Number(p.pid) } };
          return viaZod(data);
        };
      }
      if (route.httpPart !== "body") return zodValidatorCompiler(route);
      return (data: unknown) => {
        try {
          return { value: spec.args.decode(data) };
        } catch (error) {
          return { error: error as Error };
        }
      };
    };
    app.post(
      `/machines/:mid/tasks/:pid/${spec.name}`,
      {
        schema: {
          tags: [spec.name.startsWith("memory/") ? "memory" : "calls"],
          summary: spec.summary,
          params: TaskParams,
          body: spec.args.schema,
          response: {
            200: spec.result,
            ...errors(
              400,
              404,
              409,
              ...(spec.name.endsWith("fork") || spec.name === "clone" ? [429 as const] : []),
            ),
          },
        },
        validatorCompiler: bodyCompiler as never,
        serializerCompiler: () => replyJson,
      },
      // A plain (not async) handler: no promise per call; a thrown ApiError reaches the error handler.
      (req, res) => {
        const { mid, pid } = req.params;
        const reply = runCall(ctx, app.machines.get(mid), pid, spec, req.body as Record<string, unknown>);
        if (debug)
          req.log.debug({ machine: mid, pid, call: spec.name, ret: reply.ret, errno: reply.errno }, "call");
        res.send(reply);
      },
    );
  }
}
