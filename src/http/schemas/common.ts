/**
 * Wire primitives shared by every route: unsigned-long arguments (integer, "0x…" or "123"), flag
 * words (integer, name, array of names, "A|B"), hex addresses in replies, the syscall result and
 * the one error body. Each request primitive has two faces built from one parser: a zod schema (docs,
 * error messages) and a plain function (the precompiled decoders in ../decode.ts). Tests check they
 * agree.
 */
import { z } from "zod";

/** What a field parser returns for a value it refuses (distinct from every valid value). */
export const INVALID: unique symbol = Symbol("invalid");
export type Invalid = typeof INVALID;

const TWO_64 = 2n ** 64n;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const DEC = /^-?[0-9]{1,20}$/;
const HEX = /^0[xX][0-9a-fA-F]{1,16}$/;

/**
 * An `unsigned long` argument as the core takes it: a safe integer, where a negative value stands
 * for its two's-complement u64 (-1 = ULONG_MAX). Strings: decimal, or hex up to 64 bits; a hex
 * value within 2^53 of 2^64 maps to its negative form ("0xfffffffffffff000" = -4096).
 */
export function parseUlong(v: unknown): number | Invalid {
  if (typeof v === "number") return Number.isSafeInteger(v) ? v : INVALID;
  if (typeof v !== "string") return INVALID;
  if (HEX.test(v)) {
    if (v.length <= 15) return Number.parseInt(v.slice(2), 16); // up to 13 hex digits: < 2^52
    const b = BigInt(v);
    if (b <= MAX_SAFE) return Number(b);
    if (TWO_64 - b <= MAX_SAFE) return -Number(TWO_64 - b);
    return INVALID;
  }
  if (DEC.test(v)) {
    const n = Number(v);
    return Number.isSafeInteger(n) ? n : INVALID;
  }
  return INVALID;
}

export function parseInt32(v: unknown): number | Invalid {
  return typeof v === "number" && Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 32 ? v : INVALID;
}

/**
 * A flag word: an integer (passed through, so unknown bits reach the kernel code and get its errno),
 * a name, an array of names, or names joined with "|". Unknown names are refused.
 */
/** Flag strings already parsed, per table of names (bounded: requests choose the strings). */
const combined = new WeakMap<Readonly<Record<string, number>>, Map<string, number | Invalid>>();
const MAX_REMEMBERED_FLAGS = 1024;

function parseFlagString(v: string, names: Readonly<Record<string, number>>): number | Invalid {
  const direct = names[v];
  if (direct !== undefined && Object.hasOwn(names, v)) return direct;
  if (v === "") return INVALID;
  let out = 0;
  for (const part of v.split("|")) {
    const bit = names[part.trim()];
    if (bit === undefined || !Object.hasOwn(names, part.trim())) return INVALID;
    out |= bit;
  }
  return out >>> 0;
}

export function parseFlags(v: unknown, names: Readonly<Record<string, number>>): number | Invalid {
  if (typeof v === "number") return Number.isSafeInteger(v) && v >= 0 ? v : INVALID;
  if (typeof v === "string") {
    // Clients send the same few "A|B" strings over and over: remember what each one meant.
    let seen = combined.get(names);
    if (!seen) {
      seen = new Map();
      combined.set(names, seen);
    }
    const known = seen.get(v);
    if (known !== undefined) return known;
    const r = parseFlagString(v, names);
    if (seen.size < MAX_REMEMBERED_FLAGS) seen.set(v, r);
    return r;
  }
  if (Array.isArray(v)) {
    let out = 0;
    for (const part of v) {
      if (typeof part !== "string" || !Object.hasOwn(names, part)) return INVALID;
      out |= names[part]!;
    }
    return out >>> 0;
  }
  return INVALID;
}

/** An address, length or offset in a request. */
export const Ulong = z
  .union([z.int(), z.string()])
  .transform((v, ctx) => {
    const r = parseUlong(v);
    if (r === INVALID) {
      ctx.addIssue({
        code: "custom",
        message:
          'expected a safe integer, or a string "0x…" (hex, up to 64 bits) or "123" (decimal) that is a safe integer',
        input: v,
      });
      return z.NEVER;
    }
    return r;
  })
  .meta({
    description:
      'An unsigned long: a JSON integer, or "0x…" (hex) or "123" (decimal). It must be a safe integer; a negative value or a hex value near 2^64 stands for its two\'s complement (-1 = ULONG_MAX).',
    examples: ["0x7f0000000000", 4096],
  });

/** A 32-bit int argument (fd, pid, status). */
export const Int = z.int().refine((v) => v >= -(2 ** 31) && v < 2 ** 32, "expected a 32-bit integer");

/** A flag word over one table of names, e.g. flagsOf(PROT_NAMES, "PROT_READ|PROT_WRITE"). */
export function flagsOf(names: Readonly<Record<string, number>>, example: string) {
  const list = Object.keys(names);
  const Name = z.string();
  return z
    .union([z.int().nonnegative(), Name, z.array(Name)])
    .transform((v, ctx) => {
      const r = parseFlags(v, names);
      if (r === INVALID) {
        ctx.addIssue({
          code: "custom",
          message: `expected an integer, a name, an array of names or "A|B" with names among ${list.join(", ")}`,
          input: v,
        });
        return z.NEVER;
      }
      return r;
    })
    .meta({
      description: `An integer (Linux x86_64 value, passed through), or names among ${list.join(", ")}: one name, an array, or joined with "|".`,
      examples: [example],
    });
}

/** Addresses in replies: lowercase hex, as the kernel's %lx, with 0x. */
export function hexAddr(x: number): string {
  return x < 0 ? `0x${BigInt.asUintN(64, BigInt(x)).toString(16)}` : `0x${x.toString(16)}`;
}

export const HexAddress = z
  .string()
  .regex(/^0x[0-9a-f]+$/)
  .meta({ description: "An address: lowercase hex", examples: ["0x7f3a1c000000"] });

/** A failed syscall: HTTP 200, libc style. */
/**
 * What running out of memory did to a call: "killed", the OOM killer killed the calling task (with
 * its thread group and every task sharing its mm) while the call allocated; "no_victim", an
 * access stopped because nothing could be reclaimed or killed (Linux would panic).
 */
export const Oom = z.enum(["killed", "no_victim"]).meta({
  id: "Oom",
  description:
    "killed: the OOM killer killed the calling task during the call (it is gone); no_victim: an access stopped, out of memory with nothing left to kill (Linux would panic)",
});

export const SyscallFailure = z
  .object({
    ret: z.literal(-1),
    errno: z.string().meta({ description: "The errno name", examples: ["ENOMEM"] }),
    message: z.string().meta({ description: "strerror(errno)", examples: ["Cannot allocate memory"] }),
    oom: Oom.optional(),
  })
  .meta({ id: "SyscallFailure" });

export const RetInt = z.object({ ret: z.int(), oom: Oom.optional() }).meta({ id: "RetInt" });
export const RetAddress = z.object({ ret: HexAddress, oom: Oom.optional() }).meta({ id: "RetAddress" });

/** The issue list of a 400: where in the request, and what was wrong. */
export const Issue = z.object({
  path: z.array(z.union([z.string(), z.number()])),
  code: z.string(),
  message: z.string(),
});

/** Every HTTP error has this body. */
export const ErrorBody = z
  .object({
    statusCode: z.int(),
    error: z.string(),
    code: z.string(),
    message: z.string(),
    issues: z.array(Issue).optional(),
  })
  .meta({ id: "Error" });
export type ErrorBodyT = z.infer<typeof ErrorBody>;

/** The error responses a route may give, for the docs. */
export function errors(...codes: (400 | 401 | 404 | 409 | 413 | 429)[]) {
  const out: Record<number, typeof ErrorBody> = {};
  for (const c of codes) out[c] = ErrorBody;
  return out;
}

/** {mid} in paths. */
export const MachineParams = z.object({
  mid: z.string().meta({ description: "Machine id (its name)", examples: ["default"] }),
});
/** {mid}/tasks/{pid} in paths. */
export const TaskParams = MachineParams.extend({
  pid: z.coerce
    .number()
    .int()
    .positive()
    .meta({ description: "Task id (pid)", examples: [1] }),
});
