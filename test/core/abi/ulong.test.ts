import { describe, expect, it } from "vitest";
import { PAGE_SIZE } from "../../../src/core/abi/mman.js";
import { offsetInPage } from "../../../src/core/abi/ulong.js";

/** The kernel's definition on the u64 a value stands for (negative = two's complement). */
const reference = (x: number): number => Number(BigInt.asUintN(64, BigInt(x)) & BigInt(PAGE_SIZE - 1));

describe("offsetInPage", () => {
  it("is x & (PAGE_SIZE - 1) of the u64, for small, huge and negative values", () => {
    const xs = [0, 1, 4095, 4096, 4097, 0x7ffffffff000, 0x7fffffffffff, 2 ** 47, 2 ** 53 - 1, 2 ** 53 - 4096];
    for (const x of [...xs, ...xs.map((x) => -x), -1, -4095, -4096, -4097, -(2 ** 53) + 1]) {
      expect([x, offsetInPage(x)]).toEqual([x, reference(x)]);
    }
    for (let i = 0; i < 2000; i++) {
      const x = Math.round((Math.sin(i) * 2 ** 53) / 3);
      expect([x, offsetInPage(x)]).toEqual([x, reference(x)]);
    }
  });
});
