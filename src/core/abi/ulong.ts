/**
 * Unsigned-long syscall arguments as JavaScript numbers.
 *
 * Callers pass every `unsigned long` argument as a safe integer. A negative value stands for its
 * two's-complement u64 (-1 is ULONG_MAX, -4096 is PAGE_MASK), so the values tests care about
 * (small lengths, user addresses, -1, -PAGE_SIZE) are all exact. These helpers give the kernel's
 * unsigned arithmetic on that representation; they are used once, at syscall entry.
 */
import { PAGE_SIZE } from "./mman.js";

export class InvariantError extends Error {
  override name = "InvariantError";
}

/** A precondition the caller (not the simulated program) violated: a bug, never an errno. */
export function invariant(cond: unknown, message: string): asserts cond {
  if (!cond) throw new InvariantError(message);
}

export function assertUlong(x: number, what: string): void {
  // Not invariant(cond, `...`): that would format the message on every syscall, not only on failure.
  if (!Number.isSafeInteger(x)) {
    throw new InvariantError(`${what} must be a safe integer (negative = two's complement), got ${x}`);
  }
}

/** True when the u64 value is >= 2^53 (only reachable through the negative representation). */
export function isHuge(x: number): boolean {
  return x < 0;
}

/** a > b as unsigned 64-bit values. */
export function ulongGt(a: number, b: number): boolean {
  if (a < 0) return b >= 0 || a > b;
  return b >= 0 && a > b;
}

/** a <= b as unsigned 64-bit values. */
export function ulongLe(a: number, b: number): boolean {
  return !ulongGt(a, b);
}

/** PAGE_ALIGN(x) with u64 wrap-around: values within a page of 2^64 become 0. */
export function pageAlignUlong(x: number): number {
  if (x < 0) {
    if (x > -PAGE_SIZE) return 0;
    return Math.ceil(x / PAGE_SIZE) * PAGE_SIZE;
  }
  return Math.ceil(x / PAGE_SIZE) * PAGE_SIZE;
}

/** x & (PAGE_SIZE - 1), for any u64 in the representation. */
export function offsetInPage(x: number): number {
  // Exact for safe integers (dividing by a power of two loses nothing) and in [0, PAGE_SIZE) for
  // negative x too; x % PAGE_SIZE on doubles is a call to fmod, ~20 ns on every syscall.
  return x - Math.floor(x / PAGE_SIZE) * PAGE_SIZE;
}

/** x >> PAGE_SHIFT as an unsigned value (exact: the result is < 2^52). */
export function ulongPages(x: number): number {
  if (x < 0) return 2 ** 52 + Math.floor(x / PAGE_SIZE);
  return Math.floor(x / PAGE_SIZE);
}

/** a + b as u64; returns null when it wraps past 2^64 (both operands small enough to be exact). */
export function ulongAdd(a: number, b: number): number | null {
  // Two non-negative safe values never wrap.
  if (a >= 0 && b >= 0) return a + b;
  if (a < 0 && b < 0) return null; // both >= 2^63 ... only -2^53..-1 is representable: always wraps.
  const neg = a < 0 ? a : b;
  const pos = a < 0 ? b : a;
  const sum = neg + pos; // neg is 2^64 + neg in u64
  return sum >= 0 ? null : sum;
}

/** Format an address the way the kernel's %lx does (lowercase, no padding). */
export function hex(x: number): string {
  return x < 0 ? BigInt.asUintN(64, BigInt(x)).toString(16) : x.toString(16);
}
