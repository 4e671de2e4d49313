/**
 * One error handler for the whole API: every error leaves as {statusCode, error, code, message,
 * issues?}. Coded API errors keep their status; Fastify's own (body too large, bad JSON, bad content
 * type) keep theirs; anything else is a bug: logged, and a 500 that does not leak internals.
 */
import type { FastifyError, FastifyInstance, FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import { ApiError, reasonPhrase } from "../errors.js";

async function errorsPlugin(app: FastifyInstance): Promise<void> {
  // Machine and pid from the path, when the route has them (never the body: it may hold memory).
  const where = (req: FastifyRequest) => {
    const p = req.params as { mid?: string; pid?: string } | undefined;
    return { machine: p?.mid, pid: p?.pid === undefined ? undefined : Number(p.pid) };
  };
  app.setErrorHandler((err: FastifyError | ApiError, req, reply) => {
    if (err instanceof ApiError) {
      if (err.statusCode >= 500) req.log.error({ err, ...where(req) }, "request failed");
      return reply.code(err.statusCode).send(err.toBody());
    }
    const status = err.statusCode ?? 500;
    if (status >= 500) {
      req.log.error({ err, ...where(req) }, "request failed");
      return reply.code(500).send({
        statusCode: 500,
        error: reasonPhrase(500),
        code: "INTERNAL",
        message: `internal error (request ${req.id})`,
      });
    }
    return reply.code(status).send({
      statusCode: status,
      error: reasonPhrase(status),
      code: err.code ?? "ERROR",
      message: err.message,
    });
  });

  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send({
      statusCode: 404,
      error: reasonPhrase(404),
      code: "ROUTE_NOT_FOUND",
      message: `no route ${req.method} ${req.url.split("?")[0]}`,
    });
  });
}

export default fp(errorsPlugin, { name: "errors" });
