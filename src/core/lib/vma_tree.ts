/**
 * The ordered container of a process's VMAs: an AVL tree keyed by vm_start, augmented like the
 * kernel's old rbtree (rb_subtree_gap) so gap searches are O(log n), and threaded with prev/next
 * links so neighbour steps are O(1).
 *
 * Layout: nodes are integer indices into parallel typed arrays (struct of arrays), not objects.
 * Addresses exceed the small-integer range, so as object fields they would be boxed heap numbers,
 * one more cache miss per field read; in Float64Arrays a descent touches only flat memory and
 * nothing is allocated per operation (arrays grow by doubling). Index 0 is a nil sentinel whose
 * fields all stay 0: height 0, max gap 0 and vm_end 0 (so "no predecessor" reads as address 0),
 * which removes null checks from every hot loop.
 *
 * Each element carries its node index under a module-private symbol, defined non-enumerable so
 * spreads, JSON, inspect and deep-equality never see it (0 once removed). Elements therefore stay
 * plain class instances but must be extensible, and an element is in at most one VmaTree at a time.
 *
 * The tree caches vm_start, vm_end and startGap(v) of every element: after changing them in place
 * call update(v) before any other call on the tree (check() detects a forgotten update).
 *
 * Gaps: gap(v) = max(0, startGap(v) - (prev ? prev.vm_end : 0)), the free space just below v; every
 * node keeps the max gap of its subtree. The unbounded space above the last element is handled
 * outside the tree.
 */

export interface VmaRange {
  vm_start: number;
  vm_end: number;
}

const NODE: unique symbol = Symbol("VmaTree.node");

type Linked<T extends VmaRange> = T & { [NODE]?: number };

const INITIAL_CAPACITY = 16;

export class VmaTree<T extends VmaRange> {
  private readonly startGap: (v: T) => number;

  // Per-node fields, indexed by node (0 = nil).
  private left: Int32Array;
  private right: Int32Array;
  private parent: Int32Array;
  private prevN: Int32Array;
  /** Successor link; for a free node, the next free node. */
  private nextN: Int32Array;
  /** Subtree height (a leaf is 1). */
  private height: Int32Array;
  /** Cached vm_start, vm_end, startGap(v), gap(v) and subtree max gap. */
  private start: Float64Array;
  private end: Float64Array;
  private gapEnd: Float64Array;
  private gap: Float64Array;
  private maxGap: Float64Array;
  private vals: (T | undefined)[] = [undefined];

  private root = 0;
  private head = 0;
  private tail = 0;
  private count = 0;
  /** Indices below `used` have been handed out; freed ones are chained from freeHead via nextN. */
  private used = 1;
  private freeHead = 0;

  /**
   * startGap(v) = the lowest address a gap below v may extend to, i.e. the kernel's
   * vm_start_gap(v). It is called once per insert/update of v and cached, never during searches.
   */
  constructor(startGap: (v: T) => number) {
    this.startGap = startGap;
    const c = INITIAL_CAPACITY;
    this.left = new Int32Array(c);
    this.right = new Int32Array(c);
    this.parent = new Int32Array(c);
    this.prevN = new Int32Array(c);
    this.nextN = new Int32Array(c);
    this.height = new Int32Array(c);
    this.start = new Float64Array(c);
    this.end = new Float64Array(c);
    this.gapEnd = new Float64Array(c);
    this.gap = new Float64Array(c);
    this.maxGap = new Float64Array(c);
  }

  get size(): number {
    return this.count;
  }

  /** Is v (this very object) in this tree? */
  has(v: T): boolean {
    const i = (v as Linked<T>)[NODE];
    return i !== undefined && i !== 0 && this.vals[i] === v;
  }

  /** Inserts v; throws if v is empty, overlaps an element, or is already in a tree (all bugs). */
  insert(v: T): void {
    const vs = v.vm_start;
    const ve = v.vm_end;
    if (!(vs < ve)) throw new Error(`VmaTree.insert: empty range [${vs}, ${ve})`);
    const cur = (v as Linked<T>)[NODE];
    if (cur !== undefined && cur !== 0) {
      throw new Error(
        "VmaTree.insert: element is already in a tree (or is a clone that copied its hidden field)",
      );
    }

    const L = this.left;
    const R = this.right;
    const S = this.start;
    const E = this.end;
    let par = 0;
    let pred = 0;
    let succ = 0;
    let asLeft = false;
    for (let x = this.root; x !== 0; ) {
      par = x;
      asLeft = vs < S[x]!;
      if (asLeft) {
        succ = x;
        x = L[x]!;
      } else {
        pred = x;
        x = R[x]!;
      }
    }
    if ((pred !== 0 && E[pred]! > vs) || (succ !== 0 && S[succ]! < ve)) {
      const o = pred !== 0 && E[pred]! > vs ? pred : succ;
      throw new Error(`VmaTree.insert: [${vs}, ${ve}) overlaps [${S[o]}, ${E[o]})`);
    }
    const ge = this.startGap(v); // before any change, in case it throws

    const n = this.alloc();
    // alloc() may have grown (replaced) the arrays.
    if (cur === undefined) {
      Object.defineProperty(v, NODE, { value: n, writable: true, configurable: true, enumerable: false });
    } else {
      (v as Linked<T>)[NODE] = n;
    }
    this.vals[n] = v;
    this.left[n] = 0;
    this.right[n] = 0;
    this.parent[n] = par;
    this.height[n] = 1;
    this.start[n] = vs;
    this.end[n] = ve;
    if (par === 0) this.root = n;
    else if (asLeft) this.left[par] = n;
    else this.right[par] = n;

    this.prevN[n] = pred;
    this.nextN[n] = succ;
    if (pred === 0) this.head = n;
    else this.nextN[pred] = n;
    if (succ === 0) this.tail = n;
    else this.prevN[succ] = n;
    this.count++;

    this.gapEnd[n] = ge;
    const g = this.gapBelow(n);
    this.gap[n] = g;
    this.maxGap[n] = g;
    if (succ !== 0) this.gap[succ] = this.gapBelow(succ);
    this.fixUp(par);
    // A leaf's successor is one of its ancestors, and fixUp may have stopped below it.
    if (succ !== 0) this.propagate(succ);
  }

  /** Removes v (by identity); throws if v is not in this tree. */
  remove(v: T): void {
    let x = this.nodeOf(v);
    const L = this.left;
    const R = this.right;
    const P = this.parent;
    const PV = this.prevN;
    const NX = this.nextN;
    let g: number; // the node whose gap changes
    if (L[x] !== 0 && R[x] !== 0) {
      // Move the successor's element into x and unlink the successor's node instead: simpler
      // than relinking x, and the successor has no left child.
      const s = NX[x]!;
      const f = this.vals[s]!;
      this.vals[x] = f;
      (f as Linked<T>)[NODE] = x;
      this.start[x] = this.start[s]!;
      this.end[x] = this.end[s]!;
      this.gapEnd[x] = this.gapEnd[s]!;
      g = x;
      x = s;
    } else {
      g = NX[x]!;
    }
    (v as Linked<T>)[NODE] = 0;

    const p = PV[x]!;
    const n = NX[x]!;
    if (p === 0) this.head = n;
    else NX[p] = n;
    if (n === 0) this.tail = p;
    else PV[n] = p;

    const c = L[x] !== 0 ? L[x]! : R[x]!;
    const par = P[x]!;
    if (c !== 0) P[c] = par;
    this.replaceChild(par, x, c);
    this.count--;
    this.free(x);

    if (g !== 0) this.gap[g] = this.gapBelow(g);
    this.fixUp(par);
    if (g !== 0) this.propagate(g);
  }

  /**
   * Call after changing v.vm_start / v.vm_end in place (order with neighbours unchanged, no
   * overlap) or after something changed startGap(v): refreshes the cached bounds and startGap(v)
   * and the gaps of v and its successor. O(log n). Throws if v is now empty or overlaps a neighbour.
   */
  update(v: T): void {
    const x = this.nodeOf(v);
    const vs = v.vm_start;
    const ve = v.vm_end;
    const p = this.prevN[x]!;
    const n = this.nextN[x]!;
    if (!(vs < ve) || (p !== 0 && this.end[p]! > vs) || (n !== 0 && this.start[n]! < ve)) {
      throw new Error(`VmaTree.update: [${vs}, ${ve}) is empty or overlaps a neighbour`);
    }
    const ge = this.startGap(v); // before any change, in case it throws
    this.start[x] = vs;
    this.end[x] = ve;
    this.gapEnd[x] = ge;
    const g = this.gapBelow(x);
    if (g !== this.gap[x]) {
      this.gap[x] = g;
      this.propagate(x);
    }
    if (n !== 0) {
      const gn = this.gapBelow(n);
      if (gn !== this.gap[n]) {
        this.gap[n] = gn;
        this.propagate(n);
      }
    }
  }

  /** find_vma: the first element with vm_end > addr. */
  find(addr: number): T | undefined {
    return this.vals[this.findNode(addr)];
  }

  /** The element containing addr. */
  lookup(addr: number): T | undefined {
    const n = this.findNode(addr);
    return n !== 0 && this.start[n]! <= addr ? this.vals[n] : undefined;
  }

  prev(v: T): T | undefined {
    return this.vals[this.prevN[this.nodeOf(v)]!];
  }

  next(v: T): T | undefined {
    return this.vals[this.nextN[this.nodeOf(v)]!];
  }

  first(): T | undefined {
    return this.vals[this.head];
  }

  last(): T | undefined {
    return this.vals[this.tail];
  }

  /**
   * Elements intersecting [start, end), in address order.
   *
   * Mutation while iterating is allowed: after yielding v, iteration resumes at the first element
   * then in the tree whose vm_start >= the vm_end v had when it was yielded (and < end). So the
   * caller may remove, shrink, split or merge the yielded element (pieces starting below v's old
   * end, e.g. the tail of a split, are not visited) and may remove or insert later elements.
   * O(1) per step while the next element is unchanged, O(log n) otherwise.
   */
  *range(start: number, end: number): IterableIterator<T> {
    if (!(start < end)) return;
    let n = this.findNode(start);
    while (n !== 0 && this.start[n]! < end) {
      const oldEnd = this.end[n]!;
      const nextV = this.vals[this.nextN[n]!];
      yield this.vals[n]!;
      n = this.resume(nextV, oldEnd);
    }
  }

  /** A snapshot array of the elements intersecting [start, end). */
  intersecting(start: number, end: number): T[] {
    const out: T[] = [];
    if (!(start < end)) return out;
    for (let n = this.findNode(start); n !== 0 && this.start[n]! < end; n = this.nextN[n]!)
      out.push(this.vals[n]!);
    return out;
  }

  /** All elements in address order; same mutation rules as range(). */
  [Symbol.iterator](): IterableIterator<T> {
    return this.range(Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY);
  }

  /**
   * Top-down gap search (unmapped_area_topdown without alignment): the HIGHEST a with a >= low,
   * a + len <= high, and [a, a + len) inside some gap [prev ? prev.vm_end : 0, startGap(n)) or
   * above the last element. -1 if none. high must be finite. O(log n).
   */
  unmappedAreaTopdown(len: number, low: number, high: number): number {
    if (!(len > 0)) throw new Error(`VmaTree.unmappedAreaTopdown: len must be > 0, got ${len}`);
    if (high - len < low) return -1;
    if (high - len >= Math.max(this.end[this.tail]!, low)) return high - len;
    if (this.maxGap[this.root]! < len) return -1;
    return this.topDown(len, low, high);
  }

  /** Bottom-up gap search (unmapped_area): the LOWEST such address, same constraints. O(log n). */
  unmappedArea(len: number, low: number, high: number): number {
    if (!(len > 0)) throw new Error(`VmaTree.unmappedArea: len must be > 0, got ${len}`);
    if (high - len < low) return -1;
    if (this.maxGap[this.root]! >= len) {
      const a = this.bottomUp(len, low, high);
      if (a >= 0) return a;
    }
    const a = Math.max(this.end[this.tail]!, low);
    return a + len <= high ? a : -1;
  }

  /**
   * Debug/validation: recomputes every cached field (heights, balance, bounds, startGap, gaps,
   * subtree maxima, parent/prev/next links, size, back-references, the nil sentinel) and checks
   * order and non-overlap. Throws on the first inconsistency. O(n).
   */
  check(): void {
    const fail = (msg: string): never => {
      throw new Error(`VmaTree.check: ${msg}`);
    };
    const L = this.left;
    const R = this.right;
    const P = this.parent;
    const S = this.start;
    const E = this.end;
    if (
      L[0] !== 0 ||
      R[0] !== 0 ||
      this.height[0] !== 0 ||
      S[0] !== 0 ||
      E[0] !== 0 ||
      this.gap[0] !== 0 ||
      this.maxGap[0] !== 0 ||
      this.vals[0] !== undefined
    ) {
      fail("the nil sentinel was written");
    }
    if (this.root !== 0 && P[this.root] !== 0) fail("root has a parent");
    let prevNode = 0;
    let seen = 0;
    const walk = (n: number, par: number, depth: number): [number, number] => {
      if (n === 0) return [0, 0];
      if (depth > 64) fail("cycle");
      if (P[n] !== par) fail(`bad parent link at node ${n}`);
      const [lh, lm] = walk(L[n]!, n, depth + 1);

      // In-order visit.
      const v = this.vals[n];
      if (v === undefined) return fail(`node ${n} has no element`);
      if ((v as Linked<T>)[NODE] !== n) fail(`element at ${v.vm_start} has a wrong back-reference`);
      if (!(v.vm_start < v.vm_end)) fail(`empty element [${v.vm_start}, ${v.vm_end})`);
      if (S[n] !== v.vm_start || E[n] !== v.vm_end) {
        fail(
          `stale bounds at ${v.vm_start}: cached [${S[n]}, ${E[n]}), actual [${v.vm_start}, ${v.vm_end}) (missing update?)`,
        );
      }
      if (this.prevN[n] !== prevNode) fail(`bad prev link at ${v.vm_start}`);
      if (prevNode === 0) {
        if (this.head !== n) fail("bad head");
      } else {
        if (this.nextN[prevNode] !== n) fail(`bad next link at ${S[prevNode]}`);
        if (E[prevNode]! > v.vm_start) {
          fail(`[${S[prevNode]}, ${E[prevNode]}) overlaps or follows [${v.vm_start}, ${v.vm_end})`);
        }
      }
      const ge = this.startGap(v);
      if (this.gapEnd[n] !== ge)
        fail(`stale startGap at ${v.vm_start}: cached ${this.gapEnd[n]}, actual ${ge}`);
      const g = Math.max(0, ge - (prevNode === 0 ? 0 : E[prevNode]!));
      if (this.gap[n] !== g) fail(`stale gap at ${v.vm_start}: cached ${this.gap[n]}, actual ${g}`);
      prevNode = n;
      seen++;

      const [rh, rm] = walk(R[n]!, n, depth + 1);
      if (Math.abs(lh - rh) > 1) fail(`unbalanced at ${v.vm_start}: ${lh} vs ${rh}`);
      const h = Math.max(lh, rh) + 1;
      if (this.height[n] !== h) fail(`bad height at ${v.vm_start}: cached ${this.height[n]}, actual ${h}`);
      const m = Math.max(g, lm, rm);
      if (this.maxGap[n] !== m)
        fail(`bad subtree max gap at ${v.vm_start}: cached ${this.maxGap[n]}, actual ${m}`);
      return [h, m];
    };
    walk(this.root, 0, 0);
    if (prevNode === 0 ? this.head !== 0 : this.nextN[prevNode] !== 0) fail("bad last next link or head");
    if (this.tail !== prevNode) fail("bad tail");
    if (seen !== this.count) fail(`size is ${this.count} but the tree holds ${seen}`);
    let free = 0;
    for (let i = this.freeHead; i !== 0; i = this.nextN[i]!) {
      if (this.vals[i] !== undefined || ++free > this.used) fail("corrupt free list");
    }
    if (seen + free + 1 !== this.used) fail(`leaked nodes: ${this.used - 1 - seen - free}`);
  }

  private nodeOf(v: T): number {
    const i = (v as Linked<T>)[NODE];
    if (i === undefined || i === 0 || this.vals[i] !== v)
      throw new Error("VmaTree: element is not in this tree");
    return i;
  }

  /** The first node with vm_end > addr, or 0. */
  private findNode(addr: number): number {
    const L = this.left;
    const R = this.right;
    const S = this.start;
    const E = this.end;
    let x = this.root;
    let best = 0;
    while (x !== 0) {
      if (E[x]! > addr) {
        if (S[x]! <= addr) return x;
        best = x;
        x = L[x]!;
      } else {
        x = R[x]!;
      }
    }
    return best;
  }

  /** range()'s next step: the first node with vm_start >= oldEnd, trying the old successor first. */
  private resume(nextV: T | undefined, oldEnd: number): number {
    if (nextV !== undefined) {
      const n = (nextV as Linked<T>)[NODE];
      if (n !== undefined && n !== 0 && this.vals[n] === nextV && this.start[n]! >= oldEnd) {
        const p = this.prevN[n]!;
        if (p === 0 || this.start[p]! < oldEnd) return n;
      }
    } else if (this.tail === 0 || this.start[this.tail]! < oldEnd) {
      return 0;
    }
    const n = this.findNode(oldEnd);
    return n === 0 || this.start[n]! >= oldEnd ? n : this.nextN[n]!;
  }

  /** gap(n) from its cached startGap and its predecessor's end (E[0] = 0 covers "no predecessor"). */
  private gapBelow(n: number): number {
    return Math.max(this.gapEnd[n]! - this.end[this.prevN[n]!]!, 0);
  }

  private alloc(): number {
    const f = this.freeHead;
    if (f !== 0) {
      this.freeHead = this.nextN[f]!;
      return f;
    }
    if (this.used === this.left.length) this.grow();
    const n = this.used++;
    this.vals.push(undefined);
    return n;
  }

  private free(n: number): void {
    this.vals[n] = undefined;
    this.left[n] = 0;
    this.right[n] = 0;
    this.parent[n] = 0;
    this.prevN[n] = 0;
    this.nextN[n] = this.freeHead;
    this.freeHead = n;
  }

  private grow(): void {
    const c = this.left.length * 2;
    const i32 = (a: Int32Array): Int32Array => {
      const b = new Int32Array(c);
      b.set(a);
      return b;
    };
    const f64 = (a: Float64Array): Float64Array => {
      const b = new Float64Array(c);
      b.set(a);
      return b;
    };
    this.left = i32(this.left);
    this.right = i32(this.right);
    this.parent = i32(this.parent);
    this.prevN = i32(this.prevN);
    this.nextN = i32(this.nextN);
    this.height = i32(this.height);
    this.start = f64(this.start);
    this.end = f64(this.end);
    this.gapEnd = f64(this.gapEnd);
    this.gap = f64(this.gap);
    this.maxGap = f64(this.maxGap);
  }

  private replaceChild(p: number, old: number, nw: number): void {
    if (p === 0) this.root = nw;
    else if (this.left[p] === old) this.left[p] = nw;
    else this.right[p] = nw;
  }

  /** Recomputes height and max gap of n from its children (which must already be right). */
  private pull(n: number): void {
    const l = this.left[n]!;
    const r = this.right[n]!;
    const H = this.height;
    const M = this.maxGap;
    H[n] = Math.max(H[l]!, H[r]!) + 1;
    M[n] = Math.max(this.gap[n]!, M[l]!, M[r]!);
  }

  private rotateLeft(x: number): number {
    const L = this.left;
    const R = this.right;
    const P = this.parent;
    const y = R[x]!;
    const b = L[y]!;
    R[x] = b;
    if (b !== 0) P[b] = x;
    const p = P[x]!;
    P[y] = p;
    this.replaceChild(p, x, y);
    L[y] = x;
    P[x] = y;
    this.pull(x);
    this.pull(y);
    return y;
  }

  private rotateRight(x: number): number {
    const L = this.left;
    const R = this.right;
    const P = this.parent;
    const y = L[x]!;
    const b = R[y]!;
    L[x] = b;
    if (b !== 0) P[b] = x;
    const p = P[x]!;
    P[y] = p;
    this.replaceChild(p, x, y);
    R[y] = x;
    P[x] = y;
    this.pull(x);
    this.pull(y);
    return y;
  }

  /**
   * Walks from n to the root restoring heights, balance and subtree max gaps. Stops as soon as a
   * subtree's height and max are unchanged: nothing above depends on anything else.
   */
  private fixUp(n: number): void {
    const L = this.left;
    const R = this.right;
    const H = this.height;
    while (n !== 0) {
      const oldH = H[n]!;
      const oldMax = this.maxGap[n]!;
      const l = L[n]!;
      const r = R[n]!;
      const bf = H[l]! - H[r]!;
      if (bf > 1) {
        if (H[L[l]!]! < H[R[l]!]!) this.rotateLeft(l);
        n = this.rotateRight(n);
      } else if (bf < -1) {
        if (H[R[r]!]! < H[L[r]!]!) this.rotateRight(r);
        n = this.rotateLeft(n);
      } else {
        this.pull(n);
      }
      if (H[n] === oldH && this.maxGap[n] === oldMax) return;
      n = this.parent[n]!;
    }
  }

  /** After n's gap changed (structure intact): refresh subtree max gaps upwards while they change. */
  private propagate(n: number): void {
    const L = this.left;
    const R = this.right;
    const P = this.parent;
    const M = this.maxGap;
    while (n !== 0) {
      const m = Math.max(this.gap[n]!, M[L[n]!]!, M[R[n]!]!);
      if (m === M[n]) return;
      M[n] = m;
      n = P[n]!;
    }
  }

  /**
   * Reverse in-order walk for unmappedAreaTopdown(), pruned by max gap and by address: a right
   * subtree's gaps start at >= x's vm_end, a left subtree's gaps end at <= x.prev's vm_start (its
   * last element). So only the paths to the low/high bounds and one successful descent are walked.
   */
  private topDown(len: number, low: number, high: number): number {
    const L = this.left;
    const R = this.right;
    const P = this.parent;
    const PV = this.prevN;
    const S = this.start;
    const E = this.end;
    const GE = this.gapEnd;
    const G = this.gap;
    const M = this.maxGap;
    const lowEnd = low + len;
    let x = this.root;
    descend: for (;;) {
      const r = R[x]!;
      if (M[r]! >= len && E[x]! + len <= high) {
        x = r;
        continue;
      }
      for (;;) {
        // x's right side is done: try x's own gap, then its left subtree.
        if (G[x]! >= len) {
          const lo = Math.max(E[PV[x]!]!, low);
          const hi = Math.min(GE[x]!, high);
          if (hi - lo >= len) return hi - len;
        }
        const l = L[x]!;
        if (M[l]! >= len && S[PV[x]!]! >= lowEnd) {
          x = l;
          continue descend;
        }
        // Climb until we arrive from a right child: that parent still has its gap and left to try.
        for (;;) {
          const p = P[x]!;
          if (p === 0) return -1;
          const fromRight = R[p] === x;
          x = p;
          if (fromRight) break;
        }
      }
    }
  }

  /** In-order walk for unmappedArea(), pruned the same way as topDown(). */
  private bottomUp(len: number, low: number, high: number): number {
    const L = this.left;
    const R = this.right;
    const P = this.parent;
    const PV = this.prevN;
    const S = this.start;
    const E = this.end;
    const GE = this.gapEnd;
    const G = this.gap;
    const M = this.maxGap;
    const lowEnd = low + len;
    let x = this.root;
    descend: for (;;) {
      const l = L[x]!;
      if (M[l]! >= len && S[PV[x]!]! >= lowEnd) {
        x = l;
        continue;
      }
      for (;;) {
        if (G[x]! >= len) {
          const lo = Math.max(E[PV[x]!]!, low);
          const hi = Math.min(GE[x]!, high);
          if (hi - lo >= len) return lo;
        }
        const r = R[x]!;
        if (M[r]! >= len && E[x]! + len <= high) {
          x = r;
          continue descend;
        }
        // Climb until we arrive from a left child: that parent still has its gap and right to try.
        for (;;) {
          const p = P[x]!;
          if (p === 0) return -1;
          const fromLeft = L[p] === x;
          x = p;
          if (fromLeft) break;
        }
      }
    }
  }
}
