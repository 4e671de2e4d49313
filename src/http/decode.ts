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

  const plain = compilePlain(
    keys,
    list,
    rule as ((a: Record<string, unknown>) => string | null) | undefined,
  ) as (raw: unknown) => Out<F> | Invalid;

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

const KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The plain decoder of one argument list, generated as straight-line code: one test per known key
 * (unknown keys, `__proto__` and `constructor` included, are refused), one parse per field, and the
 * result built as an object literal (one shape per call, where a loop of keyed stores made a
 * dictionary-like object; ~2x faster). The keys are the call table's own identifiers (checked),
 * never request data.
 */
function compilePlain(
  keys: readonly string[],
  list: readonly Field<unknown>[],
  rule: ((a: Record<string, unknown>) => string | null) | undefined,
): (raw: unknown) => Record<string, unknown> | Invalid {
  for (const k of keys) if (!KEY.test(k)) throw new Error(`args: ${JSON.stringify(k)} is not an identifier`);
  const lit = (k: string) => JSON.stringify(k);
  const body: string[] = [
    'if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return INVALID;',
    keys.length === 0
      ? "for (const k in raw) return INVALID;"
      : `for (const k in raw) if (${keys.map((k) => `k !== ${lit(k)}`).join(" && ")}) return INVALID;`,
  ];
  keys.forEach((k, i) => {
    const f = list[i]!;
    body.push(`let v${i} = raw[${lit(k)}];`);
    if (!f.optional) body.push(`if (v${i} === undefined) return INVALID;`);
    const parse = `{ v${i} = parse[${i}](v${i}); if (v${i} === INVALID) return INVALID; }`;
    if (f.optional) body.push(`if (v${i} === undefined) v${i} = dflt[${i}]; else ${parse}`);
    else body.push(parse);
  });
  // Absent optional fields without a default stay absent (as zod leaves them).
  const absent = keys.filter((_k, i) => list[i]!.optional && list[i]!.default === undefined);
  body.push(`const out = { ${keys.map((k, i) => `${k}: v${i}`).join(", ")} };`);
  for (const k of absent) body.push(`if (out.${k} === undefined) delete out.${k};`);
  body.push("if (rule !== undefined && rule(out) !== null) return INVALID;", "return out;");
  const make = new Function("INVALID", "parse", "dflt", "rule", `return (raw) => {\n${body.join("\n")}\n};`);
  return make(
    INVALID,
    list.map((f) => f.parse),
    list.map((f) => f.default),
    rule,
  ) as (raw: unknown) => Record<string, unknown> | Invalid;
}
