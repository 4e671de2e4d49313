/**
 * Request decoders for syscall arguments, built twice from one field list: a zod schema (the docs,
 * and the error issues) and a precompiled plain function (the hot path of single calls and /batch,
 * ~10x cheaper than a zod parse). Both call the same field parsers, and a property test feeds both
 * the same random inputs; when the plain decoder refuses a value, zod is asked for the issues, so a
 * refused request always gets zod's paths and messages.
 */
import { z } from "zod";
import { ApiError, type RequestPart, validationError } from "./errors.js";
import { INVALID, type Invalid } from "./schemas/common.js";

export interface Field<T> {
  /** The zod face: validates and transforms the wire value to T. */
  zod: z.ZodType<T, unknown>;
  /** The plain face: the same parse, INVALID when zod would refuse. */
  parse: ((v: unknown) => T | Invalid) | null;
  optional: boolean;
  default?: T;
}

/** A required field. */
export function field<T>(zod: z.ZodType<T, unknown>, parse: ((v: unknown) => T | Invalid) | null): Field<T> {
  return { zod, parse, optional: false };
}

/** An optional field; absent means `dflt` (or stays absent when no default is given). */
export function optional<T>(f: Field<T>, dflt?: T): Field<T> {
  return dflt === undefined ? { ...f, optional: true } : { ...f, optional: true, default: dflt };
}

type Out<F extends Record<string, Field<unknown>>> = {
  [K in keyof F]: F[K] extends Field<infer T> ? T : never;
};

export interface ArgsSpec<A> {
  /** The request body schema as documented (absent body = {}). */
  readonly schema: z.ZodType<A, unknown>;
  /** True when the plain decoder covers every field (otherwise zod decodes). */
  readonly compiled: boolean;
  /** Decode an argument object; throws a 400 ApiError with zod's issues when it is invalid. */
  decode(raw: unknown, part?: RequestPart): A;
}

/**
 * Arguments made of `fields`, optionally with one cross-field rule (a message when violated).
 * Unknown keys are refused (a mistyped optional argument must not be silently ignored).
 */
export function args<F extends Record<string, Field<unknown>>>(
  fields: F,
  rule?: (a: Out<F>) => string | null,
): ArgsSpec<Out<F>> {
  const shape: Record<string, z.ZodType> = {};
  for (const [k, f] of Object.entries(fields)) {
    shape[k] = f.optional ? (f.default !== undefined ? f.zod.default(f.default) : f.zod.optional()) : f.zod;
  }
  let obj: z.ZodType = z.strictObject(shape);
  if (rule) {
    obj = obj.superRefine((a, ctx) => {
      const msg = rule(a as Out<F>);
      if (msg) ctx.addIssue({ code: "custom", message: msg, input: a, path: [] });
    });
  }
  const schema = obj as unknown as z.ZodType<Out<F>, unknown>;
  const keys = Object.keys(fields);
  const list = keys.map((k) => fields[k]!);
  const compiled = list.every((f) => f.parse !== null);

  function zodDecode(raw: unknown, part: RequestPart): Out<F> {
    const r = schema.safeParse(raw);
    if (!r.success) throw validationError(part, r.error.issues);
    return r.data;
  }

  const plain = (raw: unknown): Out<F> | Invalid => {
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return INVALID;
    for (const k in raw) if (!Object.hasOwn(fields, k)) return INVALID;
    const src = raw as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      const f = list[i]!;
      const v = src[k];
      if (v === undefined) {
        if (!f.optional) return INVALID;
        if (f.default !== undefined) out[k] = f.default;
        continue;
      }
      const p = f.parse!(v);
      if (p === INVALID) return INVALID;
      out[k] = p;
    }
    if (rule && rule(out as Out<F>) !== null) return INVALID;
    return out as Out<F>;
  };

  return {
    schema,
    compiled,
    decode(raw: unknown, part: RequestPart = "body"): Out<F> {
      if (raw === undefined || raw === null) raw = {};
      if (!compiled) return zodDecode(raw, part);
      const r = plain(raw);
      if (r !== INVALID) return r;
      zodDecode(raw, part);
      // zod accepted what the plain decoder refused: the two faces drifted apart (a bug).
      throw new ApiError(500, "DECODER_DRIFT", "the request decoders disagree on this request");
    },
  };
}
