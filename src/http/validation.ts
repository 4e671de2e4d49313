/**
 * The app's validator compiler: zod's safeParse, with refusals turned into the API's 400 body
 * (zod issue paths, relative to the request part).
 */
import type { FastifySchemaCompiler } from "fastify";
import type { z } from "zod";
import { type RequestPart, validationError } from "./errors.js";

export const zodValidatorCompiler: FastifySchemaCompiler<z.ZodType> = ({ schema, httpPart }) => {
  const part = (httpPart ?? "body") as RequestPart;
  return (data: unknown) => {
    const r = schema.safeParse(data);
    if (r.success) return { value: r.data };
    return { error: validationError(part, r.error.issues) };
  };
};
