/**
 * The API's coded errors: the one catalogue of reasons a request (or one call of a batch) could not
 * be executed. A failed syscall is not here: that is a successful call with an errno.
 */
import type { z } from "zod";
import type { ErrorBodyT } from "./schemas/common.js";

const REASONS: Readonly<Record<number, string>> = {
  400: "Bad Request",
  401: "Unauthorized",
  404: "Not Found",
  409: "Conflict",
  413: "Payload Too Large",
  429: "Too Many Requests",
  500: "Internal Server Error",
};

export function reasonPhrase(statusCode: number): string {
  return REASONS[statusCode] ?? "Error";
}

export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly issues?: ErrorBodyT["issues"],
  ) {
    super(message);
  }

  toBody(): ErrorBodyT {
    const body: ErrorBodyT = {
      statusCode: this.statusCode,
      error: reasonPhrase(this.statusCode),
      code: this.code,
      message: this.message,
    };
    if (this.issues) body.issues = this.issues;
    return body;
  }
}

/** Where the invalid value was: the request part, as Fastify names it. */
export type RequestPart = "body" | "params" | "querystring" | "headers";

/** A 400 from zod issues; `part` prefixes the message, the paths stay relative to that part. */
export function validationError(part: RequestPart, issues: readonly z.core.$ZodIssue[]): ApiError {
  const list = issues.map((i) => ({
    path: i.path.map((p) => (typeof p === "symbol" ? String(p) : p)),
    code: i.code,
    message: i.message,
  }));
  const first = list[0];
  const where = first?.path.length ? `${part}/${first.path.join("/")}` : part;
  const more = list.length > 1 ? ` (and ${list.length - 1} more)` : "";
  return new ApiError(400, "FST_ERR_VALIDATION", `${where}: ${first?.message ?? "invalid"}${more}`, list);
}

export const notFound = (code: string, message: string) => new ApiError(404, code, message);
export const conflict = (code: string, message: string) => new ApiError(409, code, message);
export const overLimit = (code: string, message: string) => new ApiError(429, code, message);
