import { inspect } from "node:util";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Rng } from "../../../src/core/lib/rng.js";
import { VmaTree } from "../../../src/core/lib/vma_tree.js";

const P = 4096;

class Vma {
  vm_start: number;
  vm_end: number;
  growsDown: boolean;
  constructor(start: number, end: number, growsDown = false) {
    this.vm_start = start;
    this.vm_end = end;
    this.growsDown = growsDown;
  }
}

/** A tree whose stack-like (growsDown) elements keep `guard` bytes of guard gap below them. */
function makeTree(guard = 4 * P): VmaTree<Vma> {
  return new VmaTree<Vma>((v) => (v.growsDown ? v.vm_start - guard : v.vm_start));
}

/** Vma from page numbers. */
function pv(startPage: number, endPage: number, growsDown = false): Vma {
  return new Vma(startPage * P, endPage * P, growsDown);
}

function addrs(t: VmaTree<Vma>): [number, number][] {
  return [...t].map((v) => [v.vm_start, v.vm_end]);
}

/** The naive model: a sorted array and linear scans. */
class Model {
  readonly a: Vma[] = [];
  constructor(readonly guard: number) {}

  startGap(v: Vma): number {
    return v.growsDown ? v.vm_start - this.guard : v.vm_start;
  }
  /** Index of the first element with vm_end > addr (binary search keeps the 65 531-element test fast). */
  firstEndAbove(addr: number): number {
    let lo = 0;
    let hi = this.a.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.a[mid]!.vm_end > addr) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
  overlaps(s: number, e: number): boolean {
    const v = this.a[this.firstEndAbove(s)];
    return v !== undefined && v.vm_start < e;
  }
  insert(v: Vma): void {
    this.a.splice(this.firstEndAbove(v.vm_start), 0, v);
  }
  remove(v: Vma): void {
    const i = this.firstEndAbove(v.vm_start);
    expect(this.a[i]).toBe(v);
    this.a.splice(i, 1);
  }
  find(addr: number): Vma | undefined {
    return this.a[this.firstEndAbove(addr)];
  }
  lookup(addr: number): Vma | undefined {
    const v = this.find(addr);
    return v !== undefined && v.vm_start <= addr ? v : undefined;
  }
  range(s: number, e: number): Vma[] {
    return s < e ? this.a.filter((v) => v.vm_start < e && s < v.vm_end) : [];
  }
  /** Gap i is [gs, ge): below element i, or above the last one for i = length. */
  gs(i: number): number {
    return i === 0 ? 0 : this.a[i - 1]!.vm_end;
  }
  ge(i: number): number {
    return i === this.a.length ? Number.POSITIVE_INFINITY : this.startGap(this.a[i]!);
  }
  topdown(len: number, low: number, high: number): number {
    let best = -1;
    for (let i = 0; i <= this.a.length; i++) {
      const lo = Math.max(this.gs(i), low);
      const hi = Math.min(this.ge(i), high);
      if (hi - lo >= len) best = Math.max(best, hi - len);
    }
    return best;
  }
  bottomup(len: number, low: number, high: number): number {
    for (let i = 0; i <= this.a.length; i++) {
      const lo = Math.max(this.gs(i), low);
      const hi = Math.min(this.ge(i), high);
      if (hi - lo >= len) return lo;
    }
    return -1;
  }
}

describe("VmaTree: empty tree", () => {
  it("answers every query sensibly", () => {
    const t = makeTree();
    t.check();
    expect(t.size).toBe(0);
    expect(t.find(0)).toBeUndefined();
    expect(t.lookup(123 * P)).toBeUndefined();
    expect(t.first()).toBeUndefined();
    expect(t.last()).toBeUndefined();
    expect([...t]).toEqual([]);
    expect([...t.range(0, 2 ** 47)]).toEqual([]);
    expect(t.intersecting(0, 2 ** 47)).toEqual([]);
    expect(t.unmappedAreaTopdown(P, 0, 100 * P)).toBe(99 * P);
    expect(t.unmappedArea(P, 0, 100 * P)).toBe(0);
    expect(t.unmappedArea(P, 5 * P, 100 * P)).toBe(5 * P);
    // Addresses are never negative: the lowest gap starts at 0.
    expect(t.unmappedArea(P, -10 * P, 100 * P)).toBe(0);
    expect(t.unmappedAreaTopdown(P, -10 * P, 100 * P)).toBe(99 * P);
    expect(t.unmappedAreaTopdown(P, -10 * P, P)).toBe(0);
    expect(t.unmappedAreaTopdown(P, -10 * P, P - 1)).toBe(-1);
    // len exactly fills [low, high), and one byte more does not fit.
    expect(t.unmappedAreaTopdown(10 * P, 5 * P, 15 * P)).toBe(5 * P);
    expect(t.unmappedArea(10 * P, 5 * P, 15 * P)).toBe(5 * P);
    expect(t.unmappedAreaTopdown(10 * P + 1, 5 * P, 15 * P)).toBe(-1);
    expect(t.unmappedArea(10 * P + 1, 5 * P, 15 * P)).toBe(-1);
  });

  it("rejects len <= 0", () => {
    const t = makeTree();
    expect(() => t.unmappedArea(0, 0, P)).toThrow();
    expect(() => t.unmappedAreaTopdown(-1, 0, P)).toThrow();
  });
});

describe("VmaTree: single element", () => {
  const t = makeTree();
  const v = pv(10, 20);
  t.insert(v);

  it("find / lookup at the boundaries (half-open)", () => {
    t.check();
    expect(t.size).toBe(1);
    expect(t.find(0)).toBe(v);
    expect(t.find(10 * P - 1)).toBe(v);
    expect(t.find(10 * P)).toBe(v);
    expect(t.find(20 * P - 1)).toBe(v);
    expect(t.find(20 * P)).toBeUndefined();
    expect(t.lookup(10 * P - 1)).toBeUndefined();
    expect(t.lookup(10 * P)).toBe(v);
    expect(t.lookup(20 * P - 1)).toBe(v);
    expect(t.lookup(20 * P)).toBeUndefined();
  });

  it("neighbours and ends", () => {
    expect(t.first()).toBe(v);
    expect(t.last()).toBe(v);
    expect(t.prev(v)).toBeUndefined();
    expect(t.next(v)).toBeUndefined();
    expect(t.has(v)).toBe(true);
    expect(t.has(pv(10, 20))).toBe(false);
  });

  it("range is half-open on both sides", () => {
    expect([...t.range(0, 10 * P)]).toEqual([]);
    expect([...t.range(0, 10 * P + 1)]).toEqual([v]);
    expect([...t.range(20 * P - 1, 30 * P)]).toEqual([v]);
    expect([...t.range(20 * P, 30 * P)]).toEqual([]);
    expect([...t.range(12 * P, 12 * P)]).toEqual([]);
    expect(t.intersecting(12 * P, 13 * P)).toEqual([v]);
  });

  it("gap at 0 and above the last element", () => {
    // The gap below v is [0, 10P).
    expect(t.unmappedArea(10 * P, 0, 100 * P)).toBe(0);
    expect(t.unmappedArea(10 * P + 1, 0, 100 * P)).toBe(20 * P);
    expect(t.unmappedAreaTopdown(10 * P, 0, 20 * P)).toBe(0);
    expect(t.unmappedAreaTopdown(10 * P, 0, 21 * P)).toBe(0);
    expect(t.unmappedAreaTopdown(10 * P, 0, 30 * P)).toBe(20 * P);
    expect(t.unmappedAreaTopdown(P, 0, 100 * P)).toBe(99 * P);
    expect(t.unmappedAreaTopdown(P, 0, 20 * P)).toBe(9 * P);
    expect(t.unmappedArea(P, 10 * P, 100 * P)).toBe(20 * P);
    expect(t.unmappedArea(P, 9 * P, 100 * P)).toBe(9 * P);
    expect(t.unmappedArea(P, 9 * P + 1, 100 * P)).toBe(20 * P);
    expect(t.unmappedArea(P, 9 * P + 1, 21 * P - 1)).toBe(-1);
  });
});

describe("VmaTree: insert / remove", () => {
  it("rejects overlaps, empty ranges and double inserts, leaving the tree intact", () => {
    const t = makeTree();
    const a = pv(10, 20);
    const b = pv(30, 40);
    t.insert(a);
    t.insert(b);
    for (const bad of [pv(10, 20), pv(15, 16), pv(5, 11), pv(19, 31), pv(0, 100), pv(39, 41), pv(10, 11)]) {
      expect(() => t.insert(bad)).toThrow(/overlaps/);
      expect(t.has(bad)).toBe(false);
    }
    expect(() => t.insert(new Vma(50 * P, 50 * P))).toThrow(/empty/);
    expect(() => t.insert(new Vma(50 * P, 49 * P))).toThrow(/empty/);
    expect(() => t.insert(a)).toThrow(/already/);
    const other = makeTree();
    expect(() => other.insert(a)).toThrow(/already/);
    t.check();
    expect(addrs(t)).toEqual([
      [10 * P, 20 * P],
      [30 * P, 40 * P],
    ]);
    // Adjacent is fine.
    t.insert(pv(20, 30));
    t.insert(pv(0, 10));
    t.insert(pv(40, 41));
    t.check();
    expect(t.size).toBe(5);
  });

  it("remove by identity; reinsert after remove; moving to another tree", () => {
    const t = makeTree();
    const vs = Array.from({ length: 50 }, (_, i) => pv(i * 3, i * 3 + 2));
    for (const v of vs) t.insert(v);
    t.check();
    expect(() => t.remove(pv(0, 2))).toThrow(/not in this tree/);
    // Root and other two-child nodes are removed by swapping in the successor's element.
    for (let i = 0; i < 50; i += 2) {
      t.remove(vs[i]!);
      t.check();
      expect(t.has(vs[i]!)).toBe(false);
      expect(() => t.remove(vs[i]!)).toThrow(/not in this tree/);
      expect(() => t.next(vs[i]!)).toThrow(/not in this tree/);
    }
    expect(t.size).toBe(25);
    expect([...t]).toEqual(vs.filter((_, i) => i % 2 === 1));
    for (let i = 0; i < 50; i += 2) t.insert(vs[i]!);
    t.check();
    expect([...t]).toEqual(vs);
    const u = makeTree();
    t.remove(vs[7]!);
    u.insert(vs[7]!);
    u.check();
    t.check();
    expect(() => t.update(vs[7]!)).toThrow(/not in this tree/);
    expect(u.first()).toBe(vs[7]);
  });

  it("removing everything leaves a valid empty tree", () => {
    const t = makeTree();
    const vs = Array.from({ length: 100 }, (_, i) => pv(i * 2, i * 2 + 1));
    for (const v of vs) t.insert(v);
    for (const v of vs) {
      t.remove(v);
      t.check();
    }
    expect(t.size).toBe(0);
    expect(t.first()).toBeUndefined();
    expect(t.unmappedArea(P, 0, 10 * P)).toBe(0);
  });

  it("elements stay plain: the back-reference is invisible to keys, symbols, JSON, spread, inspect and equality", () => {
    const t = makeTree();
    const v = pv(1, 2);
    t.insert(v);
    expect(Object.keys(v)).toEqual(["vm_start", "vm_end", "growsDown"]);
    expect(Object.getOwnPropertySymbols(v)).toEqual([]);
    expect(JSON.stringify(v)).toBe(JSON.stringify(pv(1, 2)));
    expect(inspect(v)).toBe(inspect(pv(1, 2)));
    expect(v).toEqual(pv(1, 2));
    const copy = { ...v };
    const u = new VmaTree<typeof copy>((x) => x.vm_start);
    u.insert(copy);
    u.check();
    // Not even a clone of every own property descriptor carries the back-reference (a private
    // field): it is a distinct element, which v's range in t keeps out of t.
    const clone = Object.create(Vma.prototype, Object.getOwnPropertyDescriptors(v)) as Vma;
    expect(() => t.insert(clone)).toThrow(/overlaps/);
    expect(t.has(clone)).toBe(false);
    const w = makeTree();
    w.insert(clone);
    w.check();
    expect(w.has(v)).toBe(false);
    expect(() => w.insert(v)).toThrow(/already in a tree/);
    // prepare() gives the field at construction: still invisible, and in no tree.
    const p = pv(7, 8);
    VmaTree.prepare(p);
    expect(Object.keys(p)).toEqual(["vm_start", "vm_end", "growsDown"]);
    expect(inspect(p)).toBe(inspect(pv(7, 8)));
    expect(p).toEqual(pv(7, 8));
    expect(t.has(p)).toBe(false);
    t.insert(p);
    t.check();
    t.remove(p);
    t.remove(v);
    t.insert(pv(5, 6));
    t.insert(v);
    t.check();
  });
});

describe("VmaTree: neighbours, find, range", () => {
  const t = makeTree();
  const vs = [pv(1, 2), pv(2, 5), pv(8, 9), pv(100, 200), pv(300, 301)];
  for (const v of [vs[3]!, vs[0]!, vs[4]!, vs[2]!, vs[1]!]) t.insert(v);

  it("prev / next / first / last", () => {
    t.check();
    expect(t.first()).toBe(vs[0]);
    expect(t.last()).toBe(vs[4]);
    for (let i = 0; i < vs.length; i++) {
      expect(t.prev(vs[i]!)).toBe(vs[i - 1]);
      expect(t.next(vs[i]!)).toBe(vs[i + 1]);
    }
  });

  it("find returns the first element ending above addr", () => {
    expect(t.find(0)).toBe(vs[0]);
    expect(t.find(2 * P)).toBe(vs[1]);
    expect(t.find(5 * P)).toBe(vs[2]);
    expect(t.find(9 * P)).toBe(vs[3]);
    expect(t.find(250 * P)).toBe(vs[4]);
    expect(t.find(301 * P)).toBeUndefined();
    expect(t.lookup(5 * P)).toBeUndefined();
    expect(t.lookup(4 * P)).toBe(vs[1]);
  });

  it("range and intersecting agree", () => {
    expect([...t.range(0, 2 ** 47)]).toEqual(vs);
    expect([...t.range(2 * P - 1, 8 * P + 1)]).toEqual([vs[0], vs[1], vs[2]]);
    expect([...t.range(5 * P, 8 * P)]).toEqual([]);
    expect([...t.range(5 * P, 100 * P + 1)]).toEqual([vs[2], vs[3]]);
    expect(t.intersecting(2 * P - 1, 8 * P + 1)).toEqual([vs[0], vs[1], vs[2]]);
  });

  it("range tolerates removing, splitting and merging the yielded element", () => {
    const u = makeTree();
    const ws = Array.from({ length: 20 }, (_, i) => pv(i * 10, i * 10 + 5));
    for (const w of ws) u.insert(w);

    // Remove every yielded element.
    const seen: Vma[] = [];
    for (const w of u.range(20 * P, 80 * P)) {
      seen.push(w);
      u.remove(w);
      u.check();
    }
    expect(seen).toEqual(ws.slice(2, 8));

    // Split each yielded element (like __split_vma): the inserted tail is not visited.
    const splitSeen: number[] = [];
    for (const w of u.range(0, 2 ** 47)) {
      splitSeen.push(w.vm_start);
      const tail = new Vma(w.vm_start + 2 * P, w.vm_end);
      w.vm_end = w.vm_start + 2 * P;
      u.update(w);
      u.insert(tail);
      u.check();
    }
    expect(splitSeen).toEqual(ws.filter((_, i) => i < 2 || i >= 8).map((w) => w.vm_start));
    expect(u.size).toBe(28);

    // Merge each yielded element with its successor (expand, then drop the successor).
    const merged: number[] = [];
    for (const w of u.range(0, 2 ** 47)) {
      merged.push(w.vm_start);
      const n = u.next(w);
      if (n !== undefined) {
        u.remove(n);
        w.vm_end = n.vm_end;
        u.update(w);
        u.check();
      }
    }
    expect(merged).toEqual(ws.filter((_, i) => i < 2 || i >= 8).map((w) => w.vm_start));
    expect(u.size).toBe(14);

    // Removing a later element (the one that would come next) is also fine.
    const skipped: Vma[] = [];
    for (const w of u) {
      skipped.push(w);
      const n = u.next(w);
      if (n !== undefined) u.remove(n);
    }
    expect(skipped.map((w) => w.vm_start)).toEqual(
      ws
        .filter((_, i) => i < 2 || i >= 8)
        .filter((_, i) => i % 2 === 0)
        .map((w) => w.vm_start),
    );
    u.check();

    // Elements inserted above the yielded element's end are visited, pieces below it are not.
    const w = makeTree();
    for (const x of [pv(0, 1), pv(10, 11), pv(20, 21)]) w.insert(x);
    const visited: number[] = [];
    for (const x of w) {
      visited.push(x.vm_start / P);
      if (x.vm_start === 0) {
        w.insert(pv(5, 6));
        x.vm_end = P / 2;
        w.update(x);
        w.insert(new Vma(P / 2, P));
      }
    }
    expect(visited).toEqual([0, 5, 10, 20]);
    w.check();
  });
});

describe("VmaTree: update and gaps", () => {
  it("shrink / grow in place refreshes the gaps of v and its successor", () => {
    const t = makeTree();
    const a = pv(10, 20);
    const b = pv(30, 40);
    t.insert(a);
    t.insert(b);
    expect(t.unmappedArea(10 * P, 0, 100 * P)).toBe(0);
    expect(t.unmappedArea(11 * P, 0, 100 * P)).toBe(40 * P);
    a.vm_end = 19 * P; // the gap between a and b grows to 11 pages
    t.update(a);
    t.check();
    expect(t.unmappedArea(11 * P, 0, 100 * P)).toBe(19 * P);
    a.vm_start = 9 * P; // grow down: the gap at 0 shrinks
    t.update(a);
    t.check();
    expect(t.unmappedArea(10 * P, 0, 100 * P)).toBe(19 * P);
    b.vm_start = 18 * P;
    expect(() => t.update(b)).toThrow(/overlaps/);
    b.vm_start = 19 * P;
    t.update(b);
    t.check();
    expect(t.unmappedAreaTopdown(P, 0, 40 * P)).toBe(8 * P);
    b.vm_end = b.vm_start;
    expect(() => t.update(b)).toThrow(/empty/);
    b.vm_end = 40 * P;
    t.update(b);
    t.check();
  });

  it("startGap below the previous element's end makes the gap 0", () => {
    const t = makeTree(4 * P);
    const a = pv(10, 20);
    const stack = pv(22, 30, true); // guard gap reaches 18P < a.vm_end
    t.insert(a);
    t.insert(stack);
    t.check();
    expect(t.unmappedArea(P, 10 * P, 100 * P)).toBe(30 * P);
    expect(t.unmappedAreaTopdown(P, 0, 30 * P)).toBe(9 * P);
    // Move the stack up: the gap below it is [20P, 22P) -> [20P, 26P - 4P).
    stack.vm_start = 26 * P;
    t.update(stack);
    t.check();
    expect(t.unmappedArea(2 * P, 10 * P, 100 * P)).toBe(20 * P);
    expect(t.unmappedArea(2 * P + 1, 10 * P, 100 * P)).toBe(30 * P);
    expect(t.unmappedAreaTopdown(2 * P, 0, 30 * P)).toBe(20 * P);
    // startGap changed without moving anything (the stack stops growing down).
    stack.growsDown = false;
    t.update(stack);
    t.check();
    expect(t.unmappedAreaTopdown(6 * P, 0, 30 * P)).toBe(20 * P);
    // A stack whose guard reaches below 0 leaves no gap at 0.
    const low = pv(2, 5, true);
    t.insert(low);
    t.check();
    expect(t.unmappedArea(P, 0, 100 * P)).toBe(5 * P);
  });

  it("low/high clipping and len exactly equal to a gap", () => {
    const t = makeTree();
    // Gaps: [0,10) [20,30) [35,45) [50, inf)
    for (const v of [pv(10, 20), pv(30, 35), pv(45, 50)]) t.insert(v);
    t.check();
    expect(t.unmappedArea(10 * P, 0, 100 * P)).toBe(0);
    expect(t.unmappedArea(10 * P, P, 100 * P)).toBe(20 * P);
    expect(t.unmappedArea(10 * P, 21 * P, 100 * P)).toBe(35 * P);
    expect(t.unmappedArea(10 * P, 36 * P, 100 * P)).toBe(50 * P);
    expect(t.unmappedArea(10 * P, 36 * P, 60 * P)).toBe(50 * P);
    expect(t.unmappedArea(10 * P, 36 * P, 60 * P - 1)).toBe(-1);
    expect(t.unmappedArea(3 * P, 22 * P, 25 * P)).toBe(22 * P);
    expect(t.unmappedArea(3 * P, 22 * P, 25 * P - 1)).toBe(-1);
    expect(t.unmappedAreaTopdown(10 * P, 0, 50 * P)).toBe(35 * P);
    expect(t.unmappedAreaTopdown(10 * P, 0, 44 * P)).toBe(20 * P);
    expect(t.unmappedAreaTopdown(10 * P, 0, 29 * P)).toBe(0);
    expect(t.unmappedAreaTopdown(10 * P, P, 29 * P)).toBe(-1);
    expect(t.unmappedAreaTopdown(11 * P, 0, 100 * P)).toBe(89 * P);
    expect(t.unmappedAreaTopdown(11 * P, 0, 60 * P)).toBe(-1);
    expect(t.unmappedAreaTopdown(11 * P, 0, 61 * P)).toBe(50 * P);
    expect(t.unmappedAreaTopdown(2 * P, 36 * P, 40 * P)).toBe(38 * P);
    expect(t.unmappedAreaTopdown(2 * P, 36 * P, 37 * P)).toBe(-1);
    expect(t.unmappedAreaTopdown(P, 0, 10 * P)).toBe(9 * P);
  });

  it("matches the model exhaustively on small trees of every insertion order shape", () => {
    const layout: [number, number, boolean][] = [
      [0, 1, false],
      [5, 6, false],
      [10, 11, false],
      [12, 14, true],
      [20, 22, false],
      [26, 27, false],
      [27, 30, false],
      [38, 39, true],
      [40, 41, false],
      [47, 50, false],
      [55, 56, true],
    ];
    const orders = [
      layout.map((_, i) => i),
      layout.map((_, i) => layout.length - 1 - i),
      [5, 2, 8, 0, 10, 1, 9, 3, 7, 4, 6],
    ];
    for (const guard of [0, 2 * P]) {
      for (const order of orders) {
        const t = makeTree(guard);
        const m = new Model(guard);
        for (const i of order) {
          const [s, e, g] = layout[i]!;
          const v = pv(s, e, g);
          t.insert(v);
          m.insert(v);
        }
        t.check();
        for (let len = 1; len <= 12; len++) {
          for (let low = -1; low <= 62; low++) {
            for (let high = low + len; high <= 66; high++) {
              const td = t.unmappedAreaTopdown(len * P, low * P, high * P);
              const bu = t.unmappedArea(len * P, low * P, high * P);
              if (
                td !== m.topdown(len * P, low * P, high * P) ||
                bu !== m.bottomup(len * P, low * P, high * P)
              ) {
                expect([len, low, high, td, bu]).toEqual([
                  len,
                  low,
                  high,
                  m.topdown(len * P, low * P, high * P),
                  m.bottomup(len * P, low * P, high * P),
                ]);
              }
            }
          }
        }
      }
    }
  });

  it("splitInsert: below and above, at leaf ends, with stack guard gaps, and its preconditions", () => {
    for (const below of [false, true]) {
      const t = makeTree(2 * P);
      const m = new Model(2 * P);
      // 40 two-to-four-page elements with one-page holes: three leaves.
      for (let i = 0; i < 40; i++) {
        const v = pv(5 * i + 1, 5 * i + 3 + (i % 3), i % 7 === 3);
        t.insert(v);
        m.insert(v);
      }
      // Split every element once (leaf ends, full leaves and all), checking gaps after each.
      for (const v of m.a.slice()) {
        const at = v.vm_start + P;
        const nw = below ? new Vma(v.vm_start, at, v.growsDown) : new Vma(at, v.vm_end, v.growsDown);
        if (below) v.vm_start = at;
        else v.vm_end = at;
        t.splitInsert(v, nw);
        m.a.splice(m.a.indexOf(v) + (below ? 0 : 1), 0, nw);
        t.check();
        for (const len of [1, 2, 3]) {
          expect(t.unmappedAreaTopdown(len * P, 0, 300 * P)).toBe(m.topdown(len * P, 0, 300 * P));
          expect(t.unmappedArea(len * P, 0, 300 * P)).toBe(m.bottomup(len * P, 0, 300 * P));
        }
      }
      checkNeighbours(t, m);
    }
    // The lowest element's gap is the largest: splitting it must leave it exactly so.
    const t = makeTree();
    const low = pv(100, 110);
    t.insert(low);
    t.insert(pv(120, 121));
    low.vm_start = 105 * P;
    t.splitInsert(low, pv(100, 105));
    t.check();
    expect(t.unmappedArea(100 * P, 0, 1000 * P)).toBe(0);
    expect(t.unmappedArea(100 * P + 1, 0, 1000 * P)).toBe(121 * P);
    // Ranges that do not split v's old range, and an element already in a tree.
    const v = t.find(105 * P)!;
    expect(() => t.splitInsert(v, pv(110, 111))).toThrow(/do not split/);
    v.vm_end = 108 * P;
    expect(() => t.splitInsert(v, pv(109, 110))).toThrow(/do not split/);
    const other = t.find(120 * P)!;
    expect(() => t.splitInsert(v, other)).toThrow(/do not split/);
    const inOther = pv(108, 110);
    makeTree().insert(inOther);
    expect(() => t.splitInsert(v, inOther)).toThrow(/already in a tree/);
    v.vm_end = 110 * P;
    t.check();
    expect(() => t.splitInsert(pv(1, 2), pv(2, 3))).toThrow(/not in this tree/);
  });

  it("check() catches a forgotten update", () => {
    const t = makeTree();
    const a = pv(10, 20);
    t.insert(a);
    t.insert(pv(30, 40));
    a.vm_end = 21 * P;
    expect(() => t.check()).toThrow(/stale bounds/);
    t.update(a);
    t.check();
    a.growsDown = true;
    expect(() => t.check()).toThrow(/stale startGap/);
    t.update(a);
    t.check();
  });

  it("works near 2^47", () => {
    const t = makeTree();
    const top = 2 ** 47;
    const v = new Vma(top - 10 * P, top - 5 * P, true);
    t.insert(v);
    t.insert(new Vma(top - 30 * P, top - 20 * P));
    t.check();
    expect(t.unmappedAreaTopdown(P, 0, top)).toBe(top - P);
    expect(t.unmappedAreaTopdown(6 * P, 0, top)).toBe(top - 20 * P);
    expect(t.unmappedAreaTopdown(7 * P, 0, top - 5 * P)).toBe(top - 37 * P);
    expect(t.find(top - 6 * P)).toBe(v);
  });
});

type Op =
  | { k: "ins"; s: number; n: number; g: boolean }
  | { k: "rm"; i: number }
  | { k: "upd"; i: number; a: number; b: number; g: boolean }
  | { k: "nudge"; i: number; ds: number; de: number }
  | { k: "split"; i: number; at: number; below: boolean; g: boolean }
  | { k: "find"; x: number }
  | { k: "srch"; len: number; lo: number; hi: number }
  | { k: "range"; s: number; e: number; rmEvery: number };

const SPACE = 200; // pages: small enough that inserts collide and gaps are tight

/** Ops over `space` pages with elements of up to `maxLen` pages. */
const opsIn = (space: number, maxLen: number): fc.Arbitrary<Op> =>
  fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record({
        k: fc.constant("ins" as const),
        s: fc.integer({ min: 0, max: space }),
        n: fc.integer({ min: 1, max: maxLen }),
        g: fc.boolean(),
      }),
    },
    { weight: 2, arbitrary: fc.record({ k: fc.constant("rm" as const), i: fc.nat() }) },
    {
      weight: 3,
      arbitrary: fc.record({
        k: fc.constant("upd" as const),
        i: fc.nat(),
        a: fc.double({ min: 0, max: 1, noNaN: true }),
        b: fc.double({ min: 0, max: 1, noNaN: true }),
        g: fc.boolean(),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({ k: fc.constant("find" as const), x: fc.integer({ min: -1, max: space + 20 }) }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        k: fc.constant("split" as const),
        i: fc.nat(),
        at: fc.double({ min: 0, max: 1, noNaN: true }),
        below: fc.boolean(),
        g: fc.boolean(),
      }),
    },
    {
      weight: 4,
      arbitrary: fc.record({
        k: fc.constant("srch" as const),
        len: fc.integer({ min: 1, max: 40 }),
        lo: fc.integer({ min: -2, max: space + 10 }),
        hi: fc.integer({ min: 0, max: space + 50 }),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        k: fc.constant("range" as const),
        s: fc.integer({ min: -1, max: space + 20 }),
        e: fc.integer({ min: -1, max: space + 20 }),
        rmEvery: fc.integer({ min: 0, max: 3 }),
      }),
    },
  );

const opArb = opsIn(SPACE, 12);

/** Applies one op to both the tree and the model and compares every observable result. */
function step(t: VmaTree<Vma>, m: Model, op: Op, scale: number): void {
  const a = m.a;
  switch (op.k) {
    case "ins": {
      const v = new Vma(op.s * scale, (op.s + op.n) * scale, op.g);
      if (m.overlaps(v.vm_start, v.vm_end)) {
        expect(() => t.insert(v)).toThrow(/overlaps/);
      } else {
        t.insert(v);
        m.insert(v);
      }
      break;
    }
    case "rm": {
      if (a.length === 0) return;
      const v = a[op.i % a.length]!;
      t.remove(v);
      m.remove(v);
      break;
    }
    case "upd": {
      if (a.length === 0) return;
      const i = op.i % a.length;
      const v = a[i]!;
      // Any non-empty range between the neighbours: shrinks, grows, or both.
      const lo = i > 0 ? a[i - 1]!.vm_end : 0;
      const hi = i + 1 < a.length ? a[i + 1]!.vm_start : v.vm_end + 10 * scale;
      const slots = (hi - lo) / scale;
      let s = lo + Math.floor(op.a * slots) * scale;
      let e = lo + Math.floor(op.b * slots) * scale;
      if (s > e) [s, e] = [e, s];
      if (s === e) {
        if (e < hi) e += scale;
        else s -= scale;
      }
      v.vm_start = s;
      v.vm_end = e;
      v.growsDown = op.g;
      t.update(v);
      break;
    }
    case "nudge": {
      // Small in-place shrink/grow of either end, clamped to the neighbours and kept non-empty.
      if (a.length === 0) return;
      const i = op.i % a.length;
      const v = a[i]!;
      const lo = i > 0 ? a[i - 1]!.vm_end : 0;
      const hi = i + 1 < a.length ? a[i + 1]!.vm_start : Number.POSITIVE_INFINITY;
      const s = Math.max(lo, v.vm_start + op.ds * scale);
      const e = Math.min(hi, v.vm_end + op.de * scale);
      if (s >= e) return;
      v.vm_start = s;
      v.vm_end = e;
      t.update(v);
      break;
    }
    case "split": {
      // __split_vma: v shrinks in place, a new element takes over the rest (below or above).
      if (a.length === 0) return;
      const i = op.i % a.length;
      const v = a[i]!;
      const pages = (v.vm_end - v.vm_start) / scale;
      if (pages < 2) return;
      const at = v.vm_start + Math.min(pages - 1, 1 + Math.floor(op.at * (pages - 1))) * scale;
      let nw: Vma;
      if (op.below) {
        nw = new Vma(v.vm_start, at, op.g);
        v.vm_start = at;
      } else {
        nw = new Vma(at, v.vm_end, op.g);
        v.vm_end = at;
      }
      t.splitInsert(v, nw);
      m.a.splice(op.below ? i : i + 1, 0, nw);
      break;
    }
    case "find": {
      const x = op.x * scale + (op.x & 1 ? scale / 2 : 0);
      expect(t.find(x)).toBe(m.find(x));
      expect(t.lookup(x)).toBe(m.lookup(x));
      break;
    }
    case "srch": {
      const len = op.len * scale;
      const lo = op.lo * scale;
      const hi = op.hi * scale;
      expect(t.unmappedAreaTopdown(len, lo, hi)).toBe(m.topdown(len, lo, hi));
      expect(t.unmappedArea(len, lo, hi)).toBe(m.bottomup(len, lo, hi));
      // Unaligned sizes and bounds too.
      expect(t.unmappedAreaTopdown(len - 1, lo + 1, hi - 1)).toBe(
        len > 1 ? m.topdown(len - 1, lo + 1, hi - 1) : -1,
      );
      if (len > 1) expect(t.unmappedArea(len - 1, lo + 1, hi - 1)).toBe(m.bottomup(len - 1, lo + 1, hi - 1));
      break;
    }
    case "range": {
      const s = op.s * scale;
      const e = op.e * scale;
      const want = m.range(s, e);
      expect(t.intersecting(s, e)).toEqual(want);
      const got: Vma[] = [];
      let k = 0;
      for (const v of t.range(s, e)) {
        got.push(v);
        if (op.rmEvery > 0 && k++ % op.rmEvery === 0) {
          t.remove(v);
          m.remove(v);
        }
      }
      expect(got).toEqual(want);
      break;
    }
  }
  expect(t.size).toBe(a.length);
  expect(t.first()).toBe(a[0]);
  expect(t.last()).toBe(a[a.length - 1]);
}

/** Same elements (by identity) in the same order; cheap enough for 65 531 elements. */
function expectSameOrder(got: Vma[], want: Vma[]): void {
  expect(got.length).toBe(want.length);
  const i = got.findIndex((v, k) => v !== want[k]);
  if (i >= 0) expect([i, got[i]]).toEqual([i, want[i]]);
}

/** Each op on tree and model, the tree checked after every one; then both agree on neighbours. */
function replay(t: VmaTree<Vma>, m: Model, ops: readonly Op[]): void {
  for (const op of ops) {
    step(t, m, op, P);
    t.check();
  }
  checkNeighbours(t, m);
}

function checkNeighbours(t: VmaTree<Vma>, m: Model): void {
  const a = m.a;
  expectSameOrder([...t], a);
  for (let i = 0; i < a.length; i++) {
    expect(t.prev(a[i]!)).toBe(a[i - 1]);
    expect(t.next(a[i]!)).toBe(a[i + 1]);
  }
}

describe("VmaTree: property test against a sorted-array model", () => {
  it("random insert / remove / update / search sequences", () => {
    fc.assert(
      fc.property(
        fc.array(opArb, { minLength: 1, maxLength: 400 }),
        fc.constantFrom(0, 1, 3, 8),
        (ops, guardPages) => {
          const t = makeTree(guardPages * P);
          const m = new Model(guardPages * P);
          replay(t, m, ops);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("a long seeded run with a larger tree", () => {
    const rng = new Rng("vma_tree");
    const guard = 2 * P;
    const t = makeTree(guard);
    const m = new Model(guard);
    const big = 4000;
    for (let i = 0; i < 30_000; i++) {
      const r = rng.below(100);
      let op: Op;
      if (r < 40) op = { k: "ins", s: rng.below(big), n: 1 + rng.below(4), g: rng.below(8) === 0 };
      else if (r < 50) op = { k: "rm", i: rng.below(1 << 30) };
      else if (r < 70) op = { k: "nudge", i: rng.below(1 << 30), ds: rng.below(5) - 2, de: rng.below(5) - 2 };
      else if (r < 72)
        op = {
          k: "split",
          i: rng.below(1 << 30),
          at: rng.below(1000) / 1000,
          below: rng.below(2) === 0,
          g: false,
        };
      else if (r < 75)
        op = {
          k: "upd",
          i: rng.below(1 << 30),
          a: rng.below(1000) / 1000,
          b: rng.below(1000) / 1000,
          g: rng.below(8) === 0,
        };
      else if (r < 80) op = { k: "find", x: rng.below(big + 10) };
      else if (r < 99.8)
        op = { k: "srch", len: 1 + rng.below(8), lo: rng.below(big), hi: rng.below(big + 20) };
      else {
        const start = rng.below(big);
        op = { k: "range", s: start, e: start + rng.below(200), rmEvery: rng.below(2) * 4 };
      }
      step(t, m, op, P);
      if (i % 500 === 0) t.check();
    }
    t.check();
    checkNeighbours(t, m);
    expect(t.size).toBeGreaterThan(500);
  });
});

describe("VmaTree: B-tree shape (nodes split, merge and borrow; the root grows and shrinks)", () => {
  /** Index orders over n elements: ascending, descending, from both ends inwards, shuffled. */
  function orders(n: number, rng: Rng): number[][] {
    const up = Array.from({ length: n }, (_, i) => i);
    const shuffled = up.slice();
    for (let i = n - 1; i > 0; i--) {
      const j = rng.below(i + 1);
      [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
    }
    return [up, up.slice().reverse(), up.map((_, k) => (k % 2 ? n - 1 - (k >> 1) : k >> 1)), shuffled];
  }

  it.each([
    [300, 1],
    [3000, 37],
  ])("%i elements: every build order, then every tear-down order, check() every %i steps", (n, every) => {
    const rng = new Rng(`vma_tree shape ${n}`);
    // One-page holes between elements, some two pages long, some stack-like.
    const vs = Array.from({ length: n }, (_, i) => pv(3 * i + 1, 3 * i + 2 + (i % 2), i % 50 === 7));
    const os = orders(n, rng);
    let tallest = 0;
    for (const build of os) {
      for (const tear of os) {
        const t = makeTree(2 * P);
        const m = new Model(2 * P);
        build.forEach((i, k) => {
          t.insert(vs[i]!);
          m.insert(vs[i]!);
          if (k % every === 0) t.check();
        });
        t.check();
        checkNeighbours(t, m);
        tallest = Math.max(tallest, t.stats().height);
        for (const len of [1, 2, 3, 4]) {
          expect(t.unmappedAreaTopdown(len * P, 0, 3 * n * P)).toBe(m.topdown(len * P, 0, 3 * n * P));
          expect(t.unmappedArea(len * P, P, 3 * n * P)).toBe(m.bottomup(len * P, P, 3 * n * P));
        }
        tear.forEach((i, k) => {
          t.remove(vs[i]!);
          m.remove(vs[i]!);
          if (k % every === 0) {
            t.check();
            const x = m.a[k % Math.max(m.a.length, 1)];
            if (x) {
              expect(t.find(x.vm_start)).toBe(x);
              expect(t.next(x)).toBe(m.a[m.a.indexOf(x) + 1]);
            }
          }
        });
        t.check();
        expect(t.stats()).toEqual({ height: 0, nodes: 0, bytes: 0 });
      }
    }
    expect(tallest).toBeGreaterThanOrEqual(n > 1000 ? 4 : 3);
  });

  it("a run of inserts at one spot fills nodes instead of halving them", () => {
    // Ascending below fixed elements (a program mapping upwards under its libraries, and the
    // benchmark's layout), descending above fixed low ones (top-down mmap over exe and heap).
    const up = makeTree();
    for (let j = 0; j < 24; j++) up.insert(pv(100_000 + j, 100_001 + j));
    for (let i = 0; i < 20_000; i++) up.insert(pv(2 * i + 1, 2 * i + 2));
    const down = makeTree();
    for (let j = 0; j < 5; j++) down.insert(pv(2 * j, 2 * j + 1));
    for (let i = 0; i < 20_000; i++) down.insert(pv(200_000 - 2 * i, 200_001 - 2 * i));
    // A run keeps MIN entries behind at each split: 13 of 16 per leaf, or all 16 when the run
    // can continue in the previous leaf.
    const tail = makeTree();
    for (let i = 0; i < 20_000; i++) tail.insert(pv(2 * i + 1, 2 * i + 2));
    for (const [t, perNode] of [
      [up, 14],
      [down, 11.5],
      [tail, 11.5],
    ] as const) {
      t.check();
      const { height, nodes } = t.stats();
      expect(t.size / nodes).toBeGreaterThan(perNode);
      expect(height).toBeLessThanOrEqual(4);
    }
    // Random order still fills nodes at least half (the bound a B-tree guarantees is a quarter).
    const rng = new Rng("vma_tree random fill");
    const r = makeTree();
    const pages = Array.from({ length: 20_000 }, (_, i) => 2 * i);
    for (let i = pages.length - 1; i > 0; i--) {
      const j = rng.below(i + 1);
      [pages[i], pages[j]] = [pages[j]!, pages[i]!];
    }
    for (const pg of pages) r.insert(pv(pg, pg + 1));
    r.check();
    expect(r.size / r.stats().nodes).toBeGreaterThan(8);
  });

  it("memory: nothing when empty, one node (well under 1 KiB) for a small address space, none once emptied", () => {
    const t = makeTree();
    expect(t.stats()).toEqual({ height: 0, nodes: 0, bytes: 0 });
    const vs = Array.from({ length: 17 }, (_, i) => pv(2 * i, 2 * i + 1));
    for (const v of vs.slice(0, 16)) t.insert(v);
    expect(t.stats().nodes).toBe(1);
    expect(t.stats().bytes).toBeLessThan(600);
    t.insert(vs[16]!);
    expect(t.stats()).toMatchObject({ height: 2, nodes: 3 });
    for (const v of vs) t.remove(v);
    t.check();
    expect(t.stats()).toEqual({ height: 0, nodes: 0, bytes: 0 });
    t.insert(vs[3]!);
    t.check();
    expect(t.first()).toBe(vs[3]);
  });

  it("gap searches on multi-level trees match the model", () => {
    const rng = new Rng("vma_tree gaps");
    for (const guard of [0, 3 * P]) {
      const t = makeTree(guard);
      const m = new Model(guard);
      let page = 5;
      for (let i = 0; i < 800; i++) {
        if (rng.below(3) === 0) page += rng.below(rng.below(8) === 0 ? 200 : 12);
        const n = 1 + rng.below(3);
        const v = new Vma(page * P, (page + n) * P, rng.below(15) === 0);
        page += n;
        t.insert(v);
        m.insert(v);
      }
      // Punch larger holes, so the biggest gaps sit at different depths.
      for (let i = 0; i < 60; i++) {
        const v = m.a[rng.below(m.a.length)]!;
        t.remove(v);
        m.remove(v);
      }
      t.check();
      expect(t.stats().height).toBeGreaterThanOrEqual(3);
      const top = page + 100;
      for (let q = 0; q < 4000; q++) {
        const len = (1 + rng.below(q % 4 === 0 ? 250 : 20)) * P;
        const lo = (rng.below(top + 10) - 5) * P;
        const hi = lo + rng.below(top) * P;
        if (t.unmappedAreaTopdown(len, lo, hi) !== m.topdown(len, lo, hi)) {
          expect(["topdown", len, lo, hi, t.unmappedAreaTopdown(len, lo, hi)]).toEqual([
            "topdown",
            len,
            lo,
            hi,
            m.topdown(len, lo, hi),
          ]);
        }
        if (t.unmappedArea(len, lo, hi) !== m.bottomup(len, lo, hi)) {
          expect(["bottomup", len, lo, hi, t.unmappedArea(len, lo, hi)]).toEqual([
            "bottomup",
            len,
            lo,
            hi,
            m.bottomup(len, lo, hi),
          ]);
        }
      }
    }
  });

  it("random sequences on multi-level trees against the model, check() after every step", () => {
    fc.assert(
      fc.property(
        fc.array(opsIn(3000, 3), { minLength: 300, maxLength: 1500 }),
        fc.constantFrom(0, 2),
        (ops, guardPages) => {
          const t = makeTree(guardPages * P);
          const m = new Model(guardPages * P);
          for (const op of ops) {
            step(
              t,
              m,
              op.k === "ins" ? op : op.k === "rm" && (op.i & 3) === 0 ? { k: "find", x: op.i } : op,
              P,
            );
            t.check();
          }
          checkNeighbours(t, m);
        },
      ),
      { numRuns: 12 },
    );
  });
});

describe("VmaTree: 65 531 elements", () => {
  it("builds a full-size tree and survives thousands of mixed ops", () => {
    const rng = new Rng(65531);
    const guard = 256 * P;
    const t = makeTree(guard);
    const m = new Model(guard);
    // Build in address order (worst case for an unbalanced tree), leaving random holes.
    let page = 16;
    const all: Vma[] = [];
    for (let i = 0; i < 65_531; i++) {
      page += rng.below(3);
      const n = 1 + rng.below(3);
      const v = new Vma(page * P, (page + n) * P, rng.below(1000) === 0);
      page += n;
      all.push(v);
      t.insert(v);
    }
    for (const v of all) m.a.push(v);
    t.check();
    expect(t.size).toBe(65_531);
    const space = page + 1000;
    for (let i = 0; i < 3000; i++) {
      const r = rng.below(10);
      let op: Op;
      if (r < 3) op = { k: "ins", s: rng.below(space), n: 1 + rng.below(2), g: false };
      else if (r < 5) op = { k: "rm", i: rng.below(1 << 30) };
      else if (r < 7)
        op = {
          k: "upd",
          i: rng.below(1 << 30),
          a: rng.below(1000) / 1000,
          b: rng.below(1000) / 1000,
          g: false,
        };
      else if (r < 8) op = { k: "find", x: rng.below(space) };
      else if (r < 9) op = { k: "nudge", i: rng.below(1 << 30), ds: rng.below(5) - 2, de: rng.below(5) - 2 };
      else op = { k: "srch", len: 1 + rng.below(6), lo: rng.below(space), hi: rng.below(space + 2000) };
      step(t, m, op, P);
      if (i % 1000 === 999)
        step(t, m, { k: "range", s: rng.below(space), e: rng.below(space), rmEvery: 5 }, P);
    }
    t.check();
    expectSameOrder([...t], m.a);
  });
});

describe("VmaTree: build (dup_mmap's bulk copy)", () => {
  /**
   * n elements in address order from rng: holes of 0 to a few pages (some far larger, so the
   * largest gaps sit in different subtrees), lengths of 1 to 3 pages, some stack-like.
   */
  function layout(n: number, rng: Rng, first = 0): Vma[] {
    const vs: Vma[] = [];
    let page = first;
    for (let i = 0; i < n; i++) {
      const r = rng.below(20);
      page += r === 0 ? rng.below(500) : r < 8 ? 0 : rng.below(4);
      const len = 1 + rng.below(3);
      vs.push(pv(page, page + len, rng.below(12) === 0));
      page += len;
    }
    return vs;
  }

  /** Every query of the tree against the model: neighbours, find/lookup, range, gap searches. */
  function expectLikeModel(t: VmaTree<Vma>, m: Model, rng: Rng, queries: number): void {
    expect(t.size).toBe(m.a.length);
    checkNeighbours(t, m);
    const top = m.a.length ? m.a[m.a.length - 1]!.vm_end / P + 50 : 50;
    for (let q = 0; q < queries; q++) {
      const x = rng.below(top * P + P) - P / 2;
      expect(t.find(x)).toBe(m.find(x));
      expect(t.lookup(x)).toBe(m.lookup(x));
      const len = (1 + rng.below(q % 5 === 0 ? 400 : 6)) * P;
      const lo = (rng.below(top + 10) - 5) * P;
      const hi = lo + rng.below(top + 10) * P;
      expect([len, lo, hi, t.unmappedAreaTopdown(len, lo, hi)]).toEqual([
        len,
        lo,
        hi,
        m.topdown(len, lo, hi),
      ]);
      expect([len, lo, hi, t.unmappedArea(len, lo, hi)]).toEqual([len, lo, hi, m.bottomup(len, lo, hi)]);
      if (q % 16 === 0) {
        const s = rng.below(top) * P;
        const e = s + rng.below(100) * P;
        expect(t.intersecting(s, e)).toEqual(m.range(s, e));
        expect([...t.range(s, e)]).toEqual(m.range(s, e));
      }
    }
  }

  it("an empty array leaves the tree empty", () => {
    const t = makeTree();
    t.build([]);
    t.check();
    expect(t.stats()).toEqual({ height: 0, nodes: 0, bytes: 0 });
    t.insert(pv(1, 2));
    t.check();
  });

  it("every size up to 600: check(), queries and shape, then mixed ops against the model", () => {
    const rng = new Rng("vma_tree build sizes");
    for (let n = 1; n <= 600; n += n < 80 ? 1 : 7) {
      for (const guard of [0, 3 * P]) {
        const vs = layout(n, rng, rng.below(3));
        const t = makeTree(guard);
        const m = new Model(guard);
        t.build(vs);
        m.a.push(...vs);
        t.check();
        // As few nodes as a B-tree of these leaves can have, and as shallow.
        const leaves = Math.ceil(n / 14);
        const { height, nodes } = t.stats();
        expect(nodes).toBeLessThanOrEqual(leaves + Math.ceil(leaves / 13) + 1);
        expect(height).toBe(n <= 14 ? 1 : n <= 14 * 14 ? 2 : 3);
        expectLikeModel(t, m, rng, 20);
        for (let i = 0; i < 40; i++) {
          const r = rng.below(10);
          const top = (m.a.length ? m.a[m.a.length - 1]!.vm_end / P : 0) + 20;
          let op: Op;
          if (r < 3) op = { k: "ins", s: rng.below(top), n: 1 + rng.below(3), g: rng.below(6) === 0 };
          else if (r < 5) op = { k: "rm", i: rng.below(1 << 30) };
          else if (r < 7)
            op = {
              k: "split",
              i: rng.below(1 << 30),
              at: rng.below(1000) / 1000,
              below: rng.below(2) === 0,
              g: false,
            };
          else if (r < 8)
            op = { k: "nudge", i: rng.below(1 << 30), ds: rng.below(5) - 2, de: rng.below(5) - 2 };
          else op = { k: "srch", len: 1 + rng.below(8), lo: rng.below(top), hi: rng.below(top + 30) };
          step(t, m, op, P);
          t.check();
        }
        checkNeighbours(t, m);
      }
    }
  });

  it("answers like a tree built by inserts, for random layouts (property)", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            hole: fc.integer({ min: 0, max: 30 }),
            len: fc.integer({ min: 1, max: 6 }),
            g: fc.boolean(),
          }),
          { minLength: 1, maxLength: 400 },
        ),
        fc.array(opsIn(1500, 4), { maxLength: 200 }),
        fc.constantFrom(0, 1, 8),
        (shape, ops, guardPages) => {
          const vs: Vma[] = [];
          let page = 0;
          for (const { hole, len, g } of shape) {
            page += hole;
            vs.push(pv(page, page + len, g));
            page += len;
          }
          const t = makeTree(guardPages * P);
          const m = new Model(guardPages * P);
          t.build(vs);
          m.a.push(...vs);
          t.check();
          // The same answers as inserting the same elements one by one.
          const u = makeTree(guardPages * P);
          for (const v of vs) u.insert(new Vma(v.vm_start, v.vm_end, v.growsDown));
          for (let len = 1; len <= 40; len += 3) {
            for (const [lo, hi] of [
              [0, page + 60],
              [7, page >> 1],
              [page >> 2, page + 5],
            ] as const) {
              expect(t.unmappedAreaTopdown(len * P, lo * P, hi * P)).toBe(
                u.unmappedAreaTopdown(len * P, lo * P, hi * P),
              );
              expect(t.unmappedArea(len * P, lo * P, hi * P)).toBe(u.unmappedArea(len * P, lo * P, hi * P));
            }
          }
          replay(t, m, ops);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("65 531 elements: one linear pass, then thousands of mixed ops against the model", () => {
    const rng = new Rng("vma_tree build 65531");
    const guard = 256 * P;
    const vs = layout(65_531, rng, 16);
    const t = makeTree(guard);
    const m = new Model(guard);
    t.build(vs);
    m.a.push(...vs);
    t.check();
    expect(t.stats().height).toBe(5);
    // Filled evenly: no more nodes than the inserts in address order would have made.
    const u = makeTree(guard);
    for (const v of vs) u.insert(new Vma(v.vm_start, v.vm_end, v.growsDown));
    expect(t.stats().nodes).toBeLessThanOrEqual(u.stats().nodes);
    expectLikeModel(t, m, rng, 3000);
    const space = m.a[m.a.length - 1]!.vm_end / P + 1000;
    for (let i = 0; i < 4000; i++) {
      const r = rng.below(10);
      let op: Op;
      if (r < 3) op = { k: "ins", s: rng.below(space), n: 1 + rng.below(2), g: false };
      else if (r < 5) op = { k: "rm", i: rng.below(1 << 30) };
      else if (r < 7)
        op = {
          k: "split",
          i: rng.below(1 << 30),
          at: rng.below(1000) / 1000,
          below: rng.below(2) === 0,
          g: false,
        };
      else if (r < 8) op = { k: "nudge", i: rng.below(1 << 30), ds: rng.below(5) - 2, de: rng.below(5) - 2 };
      else if (r < 9) op = { k: "find", x: rng.below(space) };
      else op = { k: "srch", len: 1 + rng.below(6), lo: rng.below(space), hi: rng.below(space + 2000) };
      step(t, m, op, P);
      if (i % 1000 === 999) {
        t.check();
        step(t, m, { k: "range", s: rng.below(space), e: rng.below(space), rmEvery: 5 }, P);
      }
    }
    t.check();
    expectSameOrder([...t], m.a);
    // Emptied one by one, in random order.
    const order = m.a.slice();
    for (let i = order.length - 1; i > 0; i--) {
      const j = rng.below(i + 1);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    for (const v of order) t.remove(v);
    t.check();
    expect(t.stats()).toEqual({ height: 0, nodes: 0, bytes: 0 });
  });

  it("rejects bad input, leaving the tree empty and the elements in no tree", () => {
    const ok = () => [pv(1, 2), pv(2, 4), pv(6, 7)];
    const cases: [string, Vma[], RegExp][] = [
      ["empty range", [...ok(), pv(9, 9)], /empty range/],
      ["overlap", [pv(1, 3), pv(2, 4)], /overlaps/],
      ["out of order", [pv(5, 6), pv(1, 2)], /overlaps or precedes/],
      ["twice the same", ((v) => [pv(0, 1), v, v])(pv(3, 4)), /overlaps/],
    ];
    // Enough elements for several leaves, the bad one last.
    const many = Array.from({ length: 100 }, (_, i) => pv(2 * i, 2 * i + 1));
    cases.push(["late overlap", [...many, pv(198, 300)], /overlaps/]);
    for (const [what, vs, re] of cases) {
      const t = makeTree();
      expect(() => t.build(vs), what).toThrow(re);
      t.check();
      expect(t.size).toBe(0);
      // Every element can go into a tree again.
      const u = makeTree();
      for (const v of new Set(vs)) if (v.vm_start < v.vm_end && !u.lookup(v.vm_start)) u.insert(v);
      u.check();
    }
    // An element of another tree.
    const other = makeTree();
    const w = pv(10, 11);
    other.insert(w);
    const t = makeTree();
    const before = [pv(1, 2), pv(3, 4)];
    expect(() => t.build([...before, w])).toThrow(/already in a tree/);
    expect(other.has(w)).toBe(true);
    other.check();
    t.check();
    for (const v of before) t.insert(v);
    t.check();
    // A startGap that throws.
    const bad = new VmaTree<Vma>((v) => {
      if (v.growsDown) throw new Error("no gap for you");
      return v.vm_start;
    });
    const xs = [pv(1, 2), pv(4, 5, true)];
    expect(() => bad.build(xs)).toThrow(/no gap/);
    bad.check();
    const z = makeTree();
    for (const x of xs) z.insert(x);
    z.check();
    // Not into a non-empty tree.
    expect(() => t.build([pv(100, 101)])).toThrow(/not empty/);
    t.check();
    expect(t.size).toBe(2);
  });
});
