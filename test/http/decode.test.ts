/**
 * The two faces of every call's arguments agree: the precompiled decoder accepts exactly what zod
 * accepts, with the same values (random wire values of every shape), and wire primitives parse as
 * documented.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PROT_NAMES } from "../../src/core/abi/mman.js";
import { CALLS } from "../../src/http/calls.js";
import { ApiError } from "../../src/http/errors.js";
import { INVALID, parseFlags, parseUlong } from "../../src/http/schemas/common.js";

describe("wire primitives", () => {
  it("unsigned longs: integers, decimal and hex strings, u64 two's complement", () => {
    expect(parseUlong(4096)).toBe(4096);
    expect(parseUlong(-1)).toBe(-1);
    expect(parseUlong("4096")).toBe(4096);
    expect(parseUlong("0x7f0000000000")).toBe(0x7f0000000000);
    expect(parseUlong("0X1F")).toBe(31);
    expect(parseUlong("0xffffffffffffffff")).toBe(-1);
    expect(parseUlong("0xfffffffffffff000")).toBe(-4096);
    expect(parseUlong("0x1fffffffffffff")).toBe(Number.MAX_SAFE_INTEGER);
    for (const bad of [
      "0x20000000000000",
      "0x8000000000000000",
      "9007199254740992",
      "1.5",
      "",
      "0x",
      " 1",
      1.5,
      2 ** 53,
      null,
      true,
      [1],
    ])
      expect(parseUlong(bad), String(bad)).toBe(INVALID);
  });

  it("flags: integer, name, array, A|B; unknown names refused", () => {
    expect(parseFlags(7, PROT_NAMES)).toBe(7);
    expect(parseFlags("PROT_READ", PROT_NAMES)).toBe(1);
    expect(parseFlags("PROT_READ|PROT_WRITE", PROT_NAMES)).toBe(3);
    expect(parseFlags("PROT_READ | PROT_EXEC", PROT_NAMES)).toBe(5);
    expect(parseFlags(["PROT_READ", "PROT_WRITE"], PROT_NAMES)).toBe(3);
    expect(parseFlags([], PROT_NAMES)).toBe(0);
    expect(parseFlags("PROT_NONE", PROT_NAMES)).toBe(0);
    for (const bad of ["PROT_FOO", "PROT_READ|", "", ["PROT_READ", "X"], -1, 1.5, "constructor", "toString"])
      expect(parseFlags(bad, PROT_NAMES), String(bad)).toBe(INVALID);
  });

  it("flags: a string parsed before gives the same answer, valid or not, past the memo's bound", () => {
    for (let round = 0; round < 2; round++) {
      expect(parseFlags("PROT_READ|PROT_WRITE", PROT_NAMES)).toBe(3);
      expect(parseFlags("PROT_READ|PROT_BOGUS", PROT_NAMES)).toBe(INVALID);
      // Another table of names does not share the memo.
      expect(parseFlags("PROT_READ|PROT_WRITE", { PROT_READ: 4, PROT_WRITE: 8 })).toBe(12);
    }
    for (let i = 0; i < 2000; i++) {
      const s = `PROT_READ|${" ".repeat(i % 50)}PROT_EXEC${"|PROT_NONE".repeat(Math.floor(i / 50))}`;
      expect(parseFlags(s, PROT_NAMES)).toBe(5);
      expect(parseFlags(`${s}|X`, PROT_NAMES)).toBe(INVALID);
    }
  });
});

const wireValue = fc.oneof(
  fc.integer({ min: -10, max: 1 << 20 }),
  fc.constantFrom(0, 4096, -1, 2 ** 53, 1.5, 255, 256, 0x100000000000),
  fc.constantFrom("0x1000", "4096", "0xfffffffffffff000", "0x", "x", "", "PROT_READ", "PROT_READ|PROT_WRITE"),
  fc.constantFrom(
    "MAP_PRIVATE|MAP_ANONYMOUS",
    "MADV_DONTNEED",
    "MS_SYNC",
    "MCL_CURRENT",
    "CLONE_VM",
    "O_RDWR",
    "/f",
  ),
  fc.constantFrom("48656c6c6f", "abc", "00ff"),
  fc.constantFrom(["PROT_READ"], ["MAP_SHARED", "MAP_ANONYMOUS"], ["NOPE"], []),
  fc.constantFrom(null, true, {}, [1]),
);

/** Values each argument accepts, so that whole valid argument sets come up often. */
const VALID: Record<string, fc.Arbitrary<unknown>> = {
  flags: fc.constantFrom(0, 1, 2, 3),
  prot: fc.constantFrom(0, "PROT_READ", ["PROT_READ", "PROT_WRITE"]),
  advice: fc.constantFrom(4, "MADV_DONTNEED"),
  data: fc.constantFrom("", "00ff"),
  fill: fc.constantFrom(0, 7, 255),
  path: fc.constantFrom("/f", "/dev/zero"),
};

function outcome(
  f: () => unknown,
): { ok: true; value: unknown } | { ok: false; status: number; body: unknown } {
  try {
    return { ok: true, value: f() };
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    return { ok: false, status: e.statusCode, body: e.toBody() };
  }
}

describe("each call's precompiled decoder agrees with its zod schema", () => {
  for (const spec of CALLS.values()) {
    if (!spec.args.compiled) continue;
    it(spec.name, () => {
      const shape = (spec.args.schema as unknown as { def: { shape?: Record<string, unknown> } }).def.shape;
      const keys = Object.keys(shape ?? {});
      const fields = Object.fromEntries(keys.map((k) => [k, fc.oneof(wireValue, VALID[k] ?? wireValue)]));
      const raw = fc
        .tuple(fc.record(fields, { requiredKeys: [] }), fc.option(wireValue, { freq: 8 }))
        .map(([r, extra]) => (extra === null ? r : { ...r, bogus: extra }));
      let accepted = 0;
      let refused = 0;
      fc.assert(
        fc.property(raw, (raw) => {
          const fast = outcome(() => spec.args.decode(raw));
          const viaZod = spec.args.schema.safeParse(raw);
          expect(fast.ok).toBe(viaZod.success);
          if (fast.ok && viaZod.success) {
            expect(fast.value).toEqual(viaZod.data);
            accepted++;
          }
          if (!fast.ok) {
            expect(fast.status).toBe(400);
            refused++;
          }
        }),
        { numRuns: 1500, seed: 5 },
      );
      // Both sides of the boundary were exercised.
      expect(accepted).toBeGreaterThan(0);
      expect(refused).toBeGreaterThan(0);
    });
  }
});

describe("hostile keys", () => {
  // JSON.parse makes `__proto__` an own key (no prototype is set); the decoders refuse it, and
  // `constructor`, as they refuse any key that is not an argument.
  const valid: Record<string, string> = {
    mprotect: '"addr": "0x1000", "length": 4096, "prot": "PROT_READ"',
    munlockall: "",
    "memory/write": '"addr": "0x1000", "length": 1, "fill": 0',
  };
  for (const [call, fields] of Object.entries(valid))
    for (const key of ["__proto__", "constructor", "toString", "hasOwnProperty"])
      it(`${call} refuses ${key}`, () => {
        const raw = JSON.parse(`{${fields}${fields ? ", " : ""}"${key}": {"polluted": 1}}`);
        expect(Object.hasOwn(raw, key)).toBe(true);
        const r = outcome(() => CALLS.get(call)!.args.decode(raw));
        expect(r).toMatchObject({ ok: false, status: 400 });
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      });
  it("accepts the same bodies without them", () => {
    for (const [call, fields] of Object.entries(valid))
      expect(outcome(() => CALLS.get(call)!.args.decode(JSON.parse(`{${fields}}`))).ok).toBe(true);
  });
});
