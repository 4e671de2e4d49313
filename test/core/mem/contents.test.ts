/**
 * PageContents against a byte model: random writes, zeroing, copies (copy-on-write) and frees of
 * pages, so that recycled slots (cleared only where no copy overwrites them) never leak a byte
 * of a freed page into a new one, and every page reads back exactly its model.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PAGE, PageContents } from "../../../src/core/mem/contents.js";

type Op =
  | { k: "write"; p: number; off: number; n: number; byte: number }
  | { k: "zero"; p: number; off: number; n: number }
  | { k: "copy"; p: number; q: number }
  | { k: "free"; p: number };

const PAGES = 6;
const range = fc
  .tuple(fc.integer({ min: 0, max: PAGE - 1 }), fc.integer({ min: 1, max: PAGE }))
  .map(([off, n]) => ({ off, n: Math.min(n, PAGE - off) }));
const op: fc.Arbitrary<Op> = fc.oneof(
  fc
    .tuple(fc.integer({ min: 0, max: PAGES - 1 }), range, fc.integer({ min: 0, max: 255 }))
    .map(([p, r, byte]) => ({ k: "write" as const, p, ...r, byte })),
  fc
    .tuple(fc.integer({ min: 0, max: PAGES - 1 }), fc.oneof(range, fc.constant({ off: 0, n: 100 })))
    .map(([p, r]) => ({ k: "write" as const, p, ...r, byte: 7 })),
  fc.tuple(fc.integer({ min: 0, max: PAGES - 1 }), range).map(([p, r]) => ({ k: "zero" as const, p, ...r })),
  fc
    .tuple(fc.integer({ min: 0, max: PAGES - 1 }), fc.integer({ min: 0, max: PAGES - 1 }))
    .map(([p, q]) => ({ k: "copy" as const, p, q })),
  fc.integer({ min: 0, max: PAGES - 1 }).map((p) => ({ k: "free" as const, p })),
);

describe("PageContents", () => {
  it("random writes, zeroing, copies and frees read back as a byte model", () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 120 }), (ops) => {
        const pc = new PageContents();
        const handle = new Array<number>(PAGES).fill(0);
        const model = Array.from({ length: PAGES }, () => new Uint8Array(PAGE));
        const out = new Uint8Array(PAGE);
        for (const o of ops) {
          if (o.k === "write") {
            const data = new Uint8Array(o.n).map((_, i) => (o.byte + i) & 0xff);
            handle[o.p] = pc.write(handle[o.p]!, o.off, o.n, data, 0);
            model[o.p]!.set(data, o.off);
          } else if (o.k === "zero") {
            pc.zero(handle[o.p]!, o.off, o.n);
            model[o.p]!.fill(0, o.off, o.off + o.n);
          } else if (o.k === "copy") {
            // The copy replaces q's page (freed first, so its slot is the one recycled).
            if (o.p === o.q) continue;
            pc.free(handle[o.q]!);
            handle[o.q] = pc.copyOf(handle[o.p]!);
            model[o.q]!.set(model[o.p]!);
          } else {
            pc.free(handle[o.p]!);
            handle[o.p] = 0;
            model[o.p]!.fill(0);
          }
          for (let p = 0; p < PAGES; p++) {
            expect(pc.check(handle[p]!)).toBe(true);
            pc.read(handle[p]!, 0, PAGE, out, 0);
            expect(Buffer.compare(out, model[p]!)).toBe(0);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
