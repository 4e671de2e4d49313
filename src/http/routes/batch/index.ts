/**
 * POST /machines/{mid}/batch: many calls in one request, run in order through the same `runCall`
 * as the single routes. A call that cannot execute (bad arguments, unknown task, zombie) gets its
 * error body in place and the rest still run. The envelope is checked by hand (zod explains a
 * refusal); each call's arguments by its precompiled decoder.
 */
import type { FastifyInstance, FastifySchemaCompiler } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import type { z } from "zod";
import { CALLS, type CallContext, type CallReply, errorReply, runCall } from "../../calls.js";
import { plainJson } from "../../content.js";
import { ApiError, notFound, validationError } from "../../errors.js";
import { errors, MachineParams, TaskParams } from "../../schemas/common.js";
import { zodValidatorCompiler } from "../../validation.js";
import { BatchRequest, BatchResponse } from "./schemas.js";

interface Envelope {
  calls: unknown[];
}

function isEnvelope(data: unknown): data is Envelope {
  if (typeof data !== "object" || data === null || !Array.isArray((data as Envelope).calls)) return false;
  for (const k in data) if (k !== "calls") return false;
  return true;
}

const PidSchema = TaskParams.shape.pid;

function pidOf(v: unknown): number {
  if (typeof v === "number" && Number.isSafeInteger(v) && v > 0) return v;
  const r = PidSchema.safeParse(v);
  if (!r.success)
    throw validationError(
      "params",
      r.error.issues.map((i) => ({ ...i, path: ["pid", ...i.path] })),
    );
  return r.data;
}

function itemError(message: string): ApiError {
  return new ApiError(400, "FST_ERR_VALIDATION", message, [{ path: [], code: "invalid_type", message }]);
}

export default async function batchRoutes(base: FastifyInstance): Promise<void> {
  const app = base.withTypeProvider<ZodTypeProvider>();
  const ctx: CallContext = { limits: app.machines.limits, observe: app.metrics.observe };
  const max = app.machines.limits.batchCalls;

  const envelopeCompiler: FastifySchemaCompiler<z.ZodType> = (route) => {
    if (route.httpPart !== "body") return zodValidatorCompiler(route);
    return (data: unknown) => {
      if (isEnvelope(data)) return { value: data };
      const r = BatchRequest.safeParse(data);
      return { error: validationError("body", r.success ? [] : r.error.issues) };
    };
  };

  app.post(
    "/machines/:mid/batch",
    {
      schema: {
        tags: ["batch"],
        summary: "Run many calls in order; each result is what its single route returns",
        params: MachineParams,
        body: BatchRequest,
        response: { 200: BatchResponse, ...errors(400, 404, 413) },
      },
      validatorCompiler: envelopeCompiler as never,
      serializerCompiler: plainJson,
    },
    async (req) => {
      const calls = (req.body as Envelope).calls;
      if (calls.length > max)
        throw new ApiError(
          413,
          "BATCH_TOO_LARGE",
          `${calls.length} calls; at most ${max} per batch (BATCH_MAX_CALLS)`,
        );
      const mid = req.params.mid;
      const entry = app.machines.get(mid);
      const results: CallReply[] = new Array(calls.length);
      for (let i = 0; i < calls.length; i++) {
        const item = calls[i] as { pid?: unknown; call?: unknown; args?: unknown } | null;
        try {
          if (typeof item !== "object" || item === null || Array.isArray(item))
            throw itemError("expected an object {pid, call, args}");
          for (const k in item)
            if (k !== "pid" && k !== "call" && k !== "args")
              throw itemError(`unknown key ${k} (expected pid, call, args)`);
          const spec = CALLS.get(item.call as string);
          // What the router answers for POST …/tasks/{pid}/{call} when there is no such call.
          if (!spec || typeof item.call !== "string")
            throw notFound(
              "ROUTE_NOT_FOUND",
              `no route POST /v1/machines/${mid}/tasks/${item.pid}/${item.call}`,
            );
          const pid = pidOf(item.pid);
          results[i] = runCall(ctx, entry, pid, spec, spec.args.decode(item.args));
        } catch (e) {
          results[i] = errorReply(e);
        }
      }
      return { results };
    },
  );
}
