/**
 * The ordered container of a process's VMAs: a B+-tree with gap tracking, the idea of the kernel's
 * maple tree (which replaced the rbtree for the same reason: cache misses). Leaves hold up to B
 * elements in address order; inner nodes hold, for each child, its last vm_end (the pivot) and the
 * largest free gap in its subtree, so find_vma and both gap searches are O(log n) descents that read
 * a few contiguous cache lines per level instead of one scattered node per bit of depth.
 *
 * Layout: every node is a fixed-size block of one ArrayBuffer (node-major: node n's fields sit at
 * n * STRIDE), read through a Float64Array for addresses and an Int32Array for counts and links
 * (an index read as a double would make every address computation floating point). A descent
 * touches only flat memory and nothing is allocated per operation (the slab grows by doubling, and
 * an empty tree allocates nothing). Leaf keys are the cached vm_end, vm_start and startGap(v) of
 * each element, so find/lookup never touch the element objects; unused key slots hold +Infinity,
 * so a node scan needs no count. The elements themselves sit in one JS array, B slots per node.
 * Leaves are linked both ways, so prev/next and ordered iteration are O(1) per step.
 *
 * Upkeep is incremental: a node's max gap is rescanned only when the gap that may have been its
 * largest shrinks, and a change stops going up at the first entry it leaves unchanged. Splits
 * happen at the insertion point, so a run of inserts at one spot fills nodes; splitInsert() is
 * __split_vma's single-step store (no descent, no transient gap). build() fills an empty tree from
 * elements in address order in one linear bottom-up pass (fork's copy of the whole tree).
 *
 * Each element carries its slot (see Slot: a private field that nothing else sees; prepare() adds
 * it at construction). The node part is always right; the slot part is a hint that goes stale
 * when inserts and removes shift a leaf, and is then found by scanning that leaf (at most B
 * pointer compares) and refreshed. Elements therefore stay plain objects but must be extensible,
 * and an element is in at most one VmaTree at a time.
 *
 * The tree caches vm_start, vm_end and startGap(v) of every element: after changing them in place
 * call update(v) before any other call on the tree (check() detects a forgotten update).
 *
 * Gaps: gap(v) = max(0, startGap(v) - (prev ? prev.vm_end : 0)), the free space just below v; the
 * gap of a leaf's first element depends on the previous leaf's last element. The unbounded space
 * above the last element is handled outside the tree.
 */

export interface VmaRange {
  vm_start: number;
  vm_end: number;
}

/** A base whose constructor returns its argument, so a subclass's fields land on any object. */
class Stamp {
  constructor(o: object) {
    // biome-ignore lint/correctness/noConstructorReturn: the point: Slot's private field goes onto o.
    return o as Stamp;
  }
}

/**
 * An element's back-reference (node * B + slot, + 1; 0 = in no tree), kept in a private field:
 * invisible to keys, symbols, spread, JSON, inspect and deep equality, never copied by a clone, and
 * ten times cheaper to attach than a non-enumerable property (Object.defineProperty).
 */
class Slot extends Stamp {
  #slot = 0;

  /** The back-reference, or undefined if o never was in a tree. */
  static get(o: object): number | undefined {
    return #slot in o ? (o as Slot).#slot : undefined;
  }

  static set(o: object, x: number): void {
    if (!(#slot in o)) new Slot(o);
    (o as Slot).#slot = x;
  }
}

const LOG_B = 4;
/** Entries per node. 16 doubles of keys are two cache lines, and 65 530 VMAs fit in 4-5 levels. */
const B = 1 << LOG_B;
/**
 * Fewest entries of a non-root node; a remove that goes below borrows from or merges with a
 * sibling. Well under B / 2, so a split (which leaves both halves at >= MIN) is never undone by
 * the next remove: mmap+munmap at one spot does not split and merge nodes back and forth.
 */
const MIN = 4;
/**
 * Entries per node that build() aims for: two slots to spare, so the first split of any VMA in a
 * freshly built tree (an mprotect or madvise in its middle adds two entries) splits no node.
 */
const BUILD_FILL = B - 2;

// Float64 offsets inside a node's block. Section 0 is the key that find() scans at every level.
/** Leaf: each element's vm_end. */
const END = 0;
/** Leaf: each element's vm_start. */
const START = B;
/** Leaf: each element's startGap(v). */
const GAP_END = 2 * B;
/** Inner: the last vm_end in each child's subtree. */
const PIVOT = 0;
/** Inner: the largest gap in each child's subtree. */
const MAX_GAP = B;
/** Doubles per node: three sections of B, then the Int32 fields below. */
const STRIDE = 3 * B + 3;

// Int32 offsets inside a node's block (its Int32 base is n * ISTRIDE).
const ISTRIDE = 2 * STRIDE;
/** Inner: each child's node index (in the space leaves use for GAP_END). */
const CHILD = 4 * B;
const COUNT = 6 * B;
/** Parent node, NIL for the root. */
const PARENT = 6 * B + 1;
/** This node's slot in its parent. */
const PSLOT = 6 * B + 2;
/** Leaf: the previous leaf in address order. */
const PREV = 6 * B + 3;
/** Leaf: the next leaf; free node: the next free node. */
const NEXT = 6 * B + 4;

const NIL = -1;
const EMPTY_F = new Float64Array(0);
const EMPTY_I = new Int32Array(0);

/**
 * The first slot of the node at fb whose key (vm_end in a leaf, pivot in an inner node) is >
 * addr. Unused slots hold +Infinity, so the scan needs no count: a half and a quarter test, then
 * at most B / 4 steps (a plain scan from slot 0 reads most of the node near its right end).
 */
function firstAbove(F: Float64Array, fb: number, addr: number): number {
  let i = F[fb + (B >> 1) - 1]! <= addr ? B >> 1 : 0;
  if (F[fb + i + (B >> 2) - 1]! <= addr) i += B >> 2;
  const e = i + (B >> 2);
  while (i < e && F[fb + i]! <= addr) i++;
  return i;
}

/**
 * firstAbove() for a node whose last slot's key is known to be > addr (every node seek() visits:
 * its parent's pivot for it is > addr): a four-step binary search over the 16 keys, whose steps
 * depend on loads of one section rather than on branches that a random address mispredicts
 * (measured: find_vma at 65 530 VMAs ~10% faster than firstAbove's scan).
 */
function firstAboveIn(F: Float64Array, fb: number, addr: number): number {
  let i = F[fb + (B >> 1) - 1]! <= addr ? B >> 1 : 0;
  i += F[fb + i + (B >> 2) - 1]! <= addr ? B >> 2 : 0;
  i += F[fb + i + (B >> 3) - 1]! <= addr ? B >> 3 : 0;
  return i + (F[fb + i]! <= addr ? 1 : 0); // LOG_B = 4 steps
}

export class VmaTree<T extends VmaRange> {
  private readonly startGap: (v: T) => number;

  /** Every node's block, as addresses (see the offsets above)... */
  private F: Float64Array = EMPTY_F;
  /** ... and as counts and links: the same buffer. */
  private I: Int32Array = EMPTY_I;
  /**
   * Elements: node n's slots are vals[n * B ... n * B + B). Unused slots hold undefined or are
   * holes (which read as undefined): the array grows by setting its length, and build() sizes it
   * at once, so every tree's array has the same (holey) elements kind and no push loop fills it.
   */
  private vals: (T | undefined)[] = [];
  private root = NIL;
  /** Levels above the leaves (0: the root is a leaf). */
  private height = 0;
  private head = NIL;
  private tail = NIL;
  private count = 0;
  /** Nodes handed out (indices below it); freed ones are chained from freeHead via NEXT. */
  private used = 0;
  private freeHead = NIL;
  /** The largest gap in the whole tree: the root's summary (it has no parent entry to hold it). */
  private rootGap = 0;
  /** The element inserted last (while it is in the tree): tells a run of inserts at one spot. */
  private lastInsert: T | undefined = undefined;
  /** Second result of the splits: the slot in the node they return. */
  private at = 0;

  /**
   * startGap(v) = the lowest address a gap below v may extend to, i.e. the kernel's
   * vm_start_gap(v). It is called once per insert/update of v and cached, never during searches.
   */
  constructor(startGap: (v: T) => number) {
    this.startGap = startGap;
  }

  /**
   * Gives o the tree's back-reference field now (still invisible, in no tree). Call it in an
   * element class's constructor: elements then keep one shape (hidden class) from construction
   * on, instead of changing shape, and installing the field, at their first insert (measured:
   * mprotect split+merge ~10% faster).
   */
  static prepare(o: object): void {
    Slot.set(o, 0);
  }

  get size(): number {
    return this.count;
  }

  /** Is v (this very object) in this tree? */
  has(v: T): boolean {
    return this.indexOf(v) >= 0;
  }

  /** Inserts v; throws if v is empty, overlaps an element, or is already in a tree (all bugs). */
  insert(v: T): void {
    const vs = v.vm_start;
    const ve = v.vm_end;
    if (!(vs < ve)) throw new Error(`VmaTree.insert: empty range [${vs}, ${ve})`);
    const cur = Slot.get(v);
    if (cur !== undefined && cur !== 0) throw new Error("VmaTree.insert: element is already in a tree");
    if (this.root === NIL) {
      const r = this.alloc();
      const ib = r * ISTRIDE;
      this.I[ib + COUNT] = 0;
      this.I[ib + PARENT] = NIL;
      this.I[ib + PSLOT] = 0;
      this.I[ib + PREV] = NIL;
      this.I[ib + NEXT] = NIL;
      this.root = this.head = this.tail = r;
      this.height = 0;
    }

    // Descend to the first element ending above vs (or the tail end). Everything before it ends
    // at or below vs, so only that element can overlap.
    const F = this.F;
    const I = this.I;
    let n = this.root;
    for (let h = this.height; h > 0; h--) {
      const i = Math.min(firstAbove(F, n * STRIDE + PIVOT, vs), I[n * ISTRIDE + COUNT]! - 1);
      n = I[n * ISTRIDE + CHILD + i]!;
    }
    let fb = n * STRIDE;
    let ib = n * ISTRIDE;
    const cnt = I[ib + COUNT]!;
    let pos = firstAbove(F, fb + END, vs);
    if (pos < cnt && F[fb + START + pos]! < ve) {
      throw new Error(
        `VmaTree.insert: [${vs}, ${ve}) overlaps [${F[fb + START + pos]}, ${F[fb + END + pos]})`,
      );
    }
    const ge = this.startGap(v); // before any change, in case it throws

    // At the front of a leaf, continue an ascending run at the end of the previous leaf instead
    // (when it has room and ends with the last insert): addresses growing at one spot then fill
    // leaves. Only for a run: otherwise a descending run would keep joining whatever sits below.
    if (pos === 0 && I[ib + PREV] !== NIL) {
      const p = I[ib + PREV]!;
      const pc = I[p * ISTRIDE + COUNT]!;
      if (pc < B && this.vals[p * B + pc - 1] === this.lastInsert) {
        n = p;
        fb = n * STRIDE;
        ib = n * ISTRIDE;
        pos = I[ib + COUNT]!;
      }
    }
    if (I[ib + COUNT] === B) {
      n = this.splitLeaf(n, pos, pos < B && this.vals[n * B + pos] === this.lastInsert);
      pos = this.at;
      this.place(v, n, pos, vs, ve, ge);
      // Entries above are right for the two halves without v.
      this.fixUp(n, 0, false);
      // The successor's gap now ends at v: it is in this leaf unless v is the leaf's last.
      const next = this.I[n * ISTRIDE + NEXT]!;
      if (pos === this.I[n * ISTRIDE + COUNT]! - 1 && next !== NIL) this.fixUp(next, 0, false);
      return;
    }
    const c = I[ib + COUNT]!;
    const pe = this.endBefore(n, pos);
    // Below v the gap is new; the successor's gap shrinks (it now ends at v).
    const gv = Math.max(ge - pe, 0);
    if (pos < c) {
      const sge = F[fb + GAP_END + pos]!;
      this.place(v, n, pos, vs, ve, ge);
      this.leafChanged(n, Math.max(sge - pe, 0) > Math.max(sge - ve, 0) ? sge - pe : 0, gv);
    } else {
      this.place(v, n, pos, vs, ve, ge);
      this.leafChanged(n, 0, gv);
      const next = I[ib + NEXT]!;
      if (next !== NIL) {
        const sge = F[next * STRIDE + GAP_END]!;
        if (Math.max(sge - pe, 0) > Math.max(sge - ve, 0)) this.leafChanged(next, sge - pe, 0);
      }
    }
  }

  /**
   * Fills this empty tree with `vs`, which must be in address order, non-empty, non-overlapping
   * and each in no tree: dup_mmap()'s __mt_dup(), the kernel's bulk copy of the maple tree. One
   * linear pass, bottom-up: leaves first (bounds, startGap and back-references, each leaf's max
   * gap and last vm_end as it fills), then each level of inner nodes from the one below (pivots,
   * subtree max gaps), then the root's gap; no descent, no split, no fix-up. The slab is sized for
   * exactly the nodes built. Nodes are filled evenly to about BUILD_FILL entries. Throws on any
   * violation, leaving the tree empty and every element in no tree. O(n).
   */
  build(vs: readonly T[]): void {
    if (this.count !== 0) throw new Error("VmaTree.build: the tree is not empty");
    const n = vs.length;
    if (n === 0) return;
    const leaves = Math.ceil(n / BUILD_FILL);
    let nodes = leaves;
    for (let c = leaves; c > 1; ) {
      c = Math.ceil(c / BUILD_FILL);
      nodes += c;
    }
    const F = new Float64Array(nodes * STRIDE);
    const I = new Int32Array(F.buffer);
    const vals: (T | undefined)[] = new Array(nodes * B);
    // Each node's largest gap, for its parent's entry (nodes of one level are numbered in order).
    const gaps = new Float64Array(leaves);
    const startGap = this.startGap;
    const INF = Number.POSITIVE_INFINITY;
    let k = 0;
    try {
      let prevEnd = 0; // the lowest gap starts at 0
      for (let leaf = 0; leaf < leaves; leaf++) {
        // Even shares: floor(n / leaves) or one more, so every leaf holds at least MIN.
        const to = Math.floor((n * (leaf + 1)) / leaves);
        const c = to - k;
        const fb = leaf * STRIDE;
        const ib = leaf * ISTRIDE;
        let m = 0;
        for (let i = 0; i < c; i++, k++) {
          const v = vs[k]!;
          const s = v.vm_start;
          const e = v.vm_end;
          if (!(s < e)) throw new Error(`VmaTree.build: empty range [${s}, ${e})`);
          if (k > 0 && s < prevEnd) {
            throw new Error(`VmaTree.build: [${s}, ${e}) overlaps or precedes the element before it`);
          }
          const cur = Slot.get(v);
          if (cur !== undefined && cur !== 0) throw new Error("VmaTree.build: element is already in a tree");
          const ge = startGap(v);
          F[fb + END + i] = e;
          F[fb + START + i] = s;
          F[fb + GAP_END + i] = ge;
          if (ge - prevEnd > m) m = ge - prevEnd;
          prevEnd = e;
          vals[leaf * B + i] = v;
          Slot.set(v, leaf * B + i + 1);
        }
        for (let i = c; i < B; i++) F[fb + END + i] = INF;
        gaps[leaf] = m;
        I[ib + COUNT] = c;
        I[ib + PARENT] = NIL;
        I[ib + PSLOT] = 0;
        I[ib + PREV] = leaf - 1; // NIL for the first
        I[ib + NEXT] = leaf + 1 < leaves ? leaf + 1 : NIL;
      }
    } catch (e) {
      for (let i = 0; i < k; i++) Slot.set(vs[i]!, 0);
      throw e;
    }
    // Inner levels: the children of this level are nodes [lo, lo + cnt).
    let lo = 0;
    let cnt = leaves;
    let height = 0;
    while (cnt > 1) {
      const parents = Math.ceil(cnt / BUILD_FILL);
      const base = lo + cnt;
      let j = 0;
      for (let q = 0; q < parents; q++) {
        const p = base + q;
        const to = Math.floor((cnt * (q + 1)) / parents);
        const c = to - j;
        const fb = p * STRIDE;
        const ib = p * ISTRIDE;
        let m = 0;
        for (let i = 0; i < c; i++, j++) {
          const ch = lo + j;
          const g = gaps[j]!;
          F[fb + PIVOT + i] = F[ch * STRIDE + END + I[ch * ISTRIDE + COUNT]! - 1]!;
          F[fb + MAX_GAP + i] = g;
          I[ib + CHILD + i] = ch;
          I[ch * ISTRIDE + PARENT] = p;
          I[ch * ISTRIDE + PSLOT] = i;
          if (g > m) m = g;
        }
        for (let i = c; i < B; i++) F[fb + PIVOT + i] = INF;
        gaps[q] = m; // read back only by this level's parents, after the slots below q are done
        I[ib + COUNT] = c;
        I[ib + PARENT] = NIL;
        I[ib + PSLOT] = 0;
      }
      lo = base;
      cnt = parents;
      height++;
    }
    this.F = F;
    this.I = I;
    this.vals = vals;
    this.root = lo;
    this.height = height;
    this.head = 0;
    this.tail = leaves - 1;
    this.count = n;
    this.used = nodes;
    this.freeHead = NIL;
    this.rootGap = gaps[0]!;
    this.lastInsert = undefined;
  }

  /**
   * __split_vma()'s store: v, already shrunk in place, gave up exactly nw's range, directly below
   * or above its new range, and nw (in no tree) takes it over. The same as update(v) then
   * insert(nw), in one step, as the kernel stores the new VMA over the old range: no descent, and
   * no transient gap (which, for the lowest VMA, would change the largest gap up to the root and
   * back). Throws if the ranges do not split v's old range so.
   */
  splitInsert(v: T, nw: T): void {
    const x = this.locate(v);
    const n = x >> LOG_B;
    const i = x & (B - 1);
    const F = this.F;
    const fb = n * STRIDE;
    const os = F[fb + START + i]!;
    const oe = F[fb + END + i]!;
    const vs = v.vm_start;
    const ve = v.vm_end;
    const ns = nw.vm_start;
    const ne = nw.vm_end;
    const below = ns === os && ne === vs && ve === oe;
    if (!(vs < ve && ns < ne && (below || (vs === os && ve === ns && ne === oe)))) {
      throw new Error(`VmaTree.splitInsert: [${vs}, ${ve}) and [${ns}, ${ne}) do not split [${os}, ${oe})`);
    }
    const cur = Slot.get(nw);
    if (cur !== undefined && cur !== 0) throw new Error("VmaTree.splitInsert: element is already in a tree");
    if (this.I[n * ISTRIDE + COUNT] === B) {
      // A full leaf splits: the general path.
      this.update(v);
      this.insert(nw);
      return;
    }
    const gv = this.startGap(v); // before any change, in case they throw
    const gn = this.startGap(nw);
    const pe = this.endBefore(n, i);
    const gOld = Math.max(F[fb + GAP_END + i]! - pe, 0);
    // The lower piece's gap starts at pe, the upper one's at the lower one's end; the successor's
    // gap and the last vm_end are unchanged.
    const g = below ? Math.max(gn - pe, gv - ne, 0) : Math.max(gv - pe, gn - ve, 0);
    F[fb + END + i] = ve;
    F[fb + START + i] = vs;
    F[fb + GAP_END + i] = gv;
    this.place(nw, n, below ? i : i + 1, ns, ne, gn);
    this.leafChanged(n, g < gOld ? gOld : 0, g);
  }

  /** insert()'s last step: v into slot pos of leaf n, which has room. */
  private place(v: T, n: number, pos: number, vs: number, ve: number, ge: number): void {
    const F = this.F;
    const I = this.I;
    const fb = n * STRIDE;
    const ib = n * ISTRIDE;
    const c = I[ib + COUNT]!;
    this.moveEntries(n, pos, n, pos + 1, c - pos, 0);
    F[fb + END + pos] = ve;
    F[fb + START + pos] = vs;
    F[fb + GAP_END + pos] = ge;
    I[ib + COUNT] = c + 1;
    const h = n * B + pos;
    this.vals[h] = v;
    Slot.set(v, h + 1);
    this.count++;
    this.lastInsert = v;
  }

  /** Removes v (by identity); throws if v is not in this tree. */
  remove(v: T): void {
    const x = this.locate(v);
    const n = x >> LOG_B;
    const i = x & (B - 1);
    const F = this.F;
    const I = this.I;
    const vals = this.vals;
    const fb = n * STRIDE;
    const ib = n * ISTRIDE;
    const c = I[ib + COUNT]! - 1;
    const pe = this.endBefore(n, i);
    const gv = Math.max(F[fb + GAP_END + i]! - pe, 0);
    const ve = F[fb + END + i]!;
    this.moveEntries(n, i + 1, n, i, c - i, 0);
    this.vacate(n, c, c + 1, 0);
    I[ib + COUNT] = c;
    Slot.set(v, 0);
    if (v === this.lastInsert) this.lastInsert = undefined;
    if (--this.count === 0) {
      this.reset();
      return;
    }

    // v's gap is gone; the successor's gap grows (it now starts at v's predecessor).
    const next = I[ib + NEXT]!;
    if (c < MIN && n !== this.root) {
      const succ = i < c ? vals[n * B + i] : next !== NIL ? vals[next * B] : undefined;
      this.rebalance(n, 0);
      if (succ !== undefined) this.fixUp(this.locate(succ) >> LOG_B, 0, false);
    } else if (i < c) {
      this.leafChanged(n, gv, Math.max(F[fb + GAP_END + i]! - pe, 0));
    } else {
      this.leafChanged(n, gv, 0);
      if (next !== NIL) {
        const sge = F[next * STRIDE + GAP_END]!;
        if (Math.max(sge - pe, 0) > Math.max(sge - ve, 0)) this.leafChanged(next, 0, sge - pe);
      }
    }
  }

  /**
   * Call after changing v.vm_start / v.vm_end in place (order with neighbours unchanged, no
   * overlap) or after something changed startGap(v): refreshes the cached bounds and startGap(v)
   * and the gaps of v and its successor. O(log n). Throws if v is now empty or overlaps a neighbour.
   */
  update(v: T): void {
    const x = this.locate(v);
    const n = x >> LOG_B;
    const i = x & (B - 1);
    const F = this.F;
    const I = this.I;
    const vs = v.vm_start;
    const ve = v.vm_end;
    const fb = n * STRIDE;
    const ib = n * ISTRIDE;
    const c = I[ib + COUNT]!;
    let prevEnd = Number.NEGATIVE_INFINITY;
    if (i > 0) prevEnd = F[fb + END + i - 1]!;
    else if (I[ib + PREV] !== NIL) prevEnd = this.lastEndOf(I[ib + PREV]!);
    let nextStart = Number.POSITIVE_INFINITY;
    const next = I[ib + NEXT]!;
    if (i + 1 < c) nextStart = F[fb + START + i + 1]!;
    else if (next !== NIL) nextStart = F[next * STRIDE + START]!;
    if (!(vs < ve) || prevEnd > vs || nextStart < ve) {
      throw new Error(`VmaTree.update: [${vs}, ${ve}) is empty or overlaps a neighbour`);
    }
    const ge = this.startGap(v); // before any change, in case it throws
    // v's own gap and its successor's may each grow or shrink.
    const pe = this.endBefore(n, i);
    const gOld = Math.max(F[fb + GAP_END + i]! - pe, 0);
    const gNew = Math.max(ge - pe, 0);
    const oe = F[fb + END + i]!;
    F[fb + END + i] = ve;
    F[fb + START + i] = vs;
    F[fb + GAP_END + i] = ge;
    let lost = gNew < gOld ? gOld : 0;
    let gained = gNew > gOld ? gNew : 0;
    if (i + 1 < c) {
      const sge = F[fb + GAP_END + i + 1]!;
      const sOld = Math.max(sge - oe, 0);
      const sNew = Math.max(sge - ve, 0);
      if (sNew < sOld) lost = Math.max(lost, sOld);
      else if (sNew > sOld) gained = Math.max(gained, sNew);
    }
    if (lost !== 0 || gained !== 0 || (i + 1 === c && ve !== oe)) this.leafChanged(n, lost, gained);
    if (i + 1 === c && next !== NIL && ve !== oe) {
      const sge = F[next * STRIDE + GAP_END]!;
      const sOld = Math.max(sge - oe, 0);
      const sNew = Math.max(sge - ve, 0);
      if (sNew !== sOld) this.leafChanged(next, sNew < sOld ? sOld : 0, sNew > sOld ? sNew : 0);
    }
  }

  /** find_vma: the first element with vm_end > addr. */
  find(addr: number): T | undefined {
    const x = this.seek(addr);
    return x < 0 ? undefined : this.vals[x];
  }

  /** The element containing addr. */
  lookup(addr: number): T | undefined {
    const x = this.seek(addr);
    return x >= 0 && this.key(x, START) <= addr ? this.vals[x] : undefined;
  }

  prev(v: T): T | undefined {
    const x = this.locate(v);
    if ((x & (B - 1)) > 0) return this.vals[x - 1];
    const p = this.I[(x >> LOG_B) * ISTRIDE + PREV]!;
    return p === NIL ? undefined : this.vals[p * B + this.I[p * ISTRIDE + COUNT]! - 1];
  }

  next(v: T): T | undefined {
    const x = this.locate(v);
    const n = x >> LOG_B;
    const I = this.I;
    if ((x & (B - 1)) + 1 < I[n * ISTRIDE + COUNT]!) return this.vals[x + 1];
    const nx = I[n * ISTRIDE + NEXT]!;
    return nx === NIL ? undefined : this.vals[nx * B];
  }

  first(): T | undefined {
    return this.head === NIL ? undefined : this.vals[this.head * B];
  }

  last(): T | undefined {
    const t = this.tail;
    return t === NIL ? undefined : this.vals[t * B + this.I[t * ISTRIDE + COUNT]! - 1];
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
    for (let x = this.seek(start); x >= 0 && this.key(x, START) < end; ) {
      const oldEnd = this.key(x, END);
      const s = this.succ(x);
      yield this.vals[x]!;
      x = this.resume(s < 0 ? undefined : this.vals[s], oldEnd);
    }
  }

  /** A snapshot array of the elements intersecting [start, end). */
  intersecting(start: number, end: number): T[] {
    const out: T[] = [];
    if (!(start < end)) return out;
    const F = this.F;
    const I = this.I;
    const vals = this.vals;
    const x = this.seek(start);
    if (x < 0) return out;
    for (let n = x >> LOG_B, i = x & (B - 1); n !== NIL; n = I[n * ISTRIDE + NEXT]!, i = 0) {
      const fb = n * STRIDE;
      for (const c = I[n * ISTRIDE + COUNT]!; i < c; i++) {
        if (!(F[fb + START + i]! < end)) return out;
        out.push(vals[n * B + i]!);
      }
    }
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
    if (high - len >= Math.max(this.lastEnd(), low)) return high - len;
    if (this.rootGap < len) return -1;
    return this.topDown(this.root, this.height, 0, len, low, high);
  }

  /** Bottom-up gap search (unmapped_area): the LOWEST such address, same constraints. O(log n). */
  unmappedArea(len: number, low: number, high: number): number {
    if (!(len > 0)) throw new Error(`VmaTree.unmappedArea: len must be > 0, got ${len}`);
    if (high - len < low) return -1;
    if (this.rootGap >= len) {
      const a = this.bottomUp(this.root, this.height, 0, len, low, high);
      if (a >= 0) return a;
    }
    const a = Math.max(this.lastEnd(), low);
    return a + len <= high ? a : -1;
  }

  /**
   * Debug/validation: recomputes every cached value (bounds, startGap, gaps, pivots, subtree max
   * gaps, counts, sentinel keys, parent, slot and leaf links, size, back-references, the free
   * list) and checks
   * order, non-overlap, fill and that every leaf is at the same depth. Throws on the first
   * inconsistency. O(n).
   */
  check(): void {
    const fail = (msg: string): never => {
      throw new Error(`VmaTree.check: ${msg}`);
    };
    const F = this.F;
    const I = this.I;
    const vals = this.vals;
    if (this.count === 0) {
      if (this.root !== NIL || this.head !== NIL || this.tail !== NIL || this.used !== 0 || F !== EMPTY_F)
        fail("an empty tree holds nodes");
      if (this.rootGap !== 0 || vals.length !== 0) fail("an empty tree has a gap or elements");
      return;
    }
    if (I.buffer !== F.buffer || vals.length !== (F.length / STRIDE) * B) fail("bad slab");
    let seen = 0;
    let nodes = 0;
    let prevLeaf = NIL;
    let prevEnd = 0;
    const walk = (n: number, level: number, parent: number, slot: number): [number, number] => {
      if (!(n >= 0 && n < this.used)) fail(`bad node index ${n}`);
      if (++nodes > this.used) fail("cycle");
      const fb = n * STRIDE;
      const ib = n * ISTRIDE;
      const c = I[ib + COUNT]!;
      if (I[ib + PARENT] !== parent || I[ib + PSLOT] !== slot) fail(`bad parent link at node ${n}`);
      const isRoot = parent === NIL;
      if (!(c <= B && c >= (isRoot ? (level > 0 ? 2 : 1) : MIN)))
        fail(`node ${n} holds ${c} entries (level ${level})`);
      for (let i = c; i < B; i++) {
        if (vals[n * B + i] !== undefined) fail(`node ${n} keeps a stale element`);
        if (F[fb + END + i] !== Number.POSITIVE_INFINITY) fail(`node ${n} slot ${i} lost its sentinel key`);
      }
      if (level > 0) {
        let m = 0;
        let last = 0;
        for (let i = 0; i < c; i++) {
          if (vals[n * B + i] !== undefined) fail(`inner node ${n} holds an element`);
          const [e, g] = walk(I[ib + CHILD + i]!, level - 1, n, i);
          if (F[fb + PIVOT + i] !== e)
            fail(`bad pivot in node ${n} slot ${i}: cached ${F[fb + PIVOT + i]}, actual ${e}`);
          if (F[fb + MAX_GAP + i] !== g)
            fail(`bad subtree max gap in node ${n} slot ${i}: cached ${F[fb + MAX_GAP + i]}, actual ${g}`);
          m = Math.max(m, g);
          last = e;
        }
        return [last, m];
      }
      // A leaf: the next one in address order.
      if (I[ib + PREV] !== prevLeaf) fail(`bad prev link at leaf ${n}`);
      if (prevLeaf === NIL ? this.head !== n : I[prevLeaf * ISTRIDE + NEXT] !== n)
        fail(`bad next link to leaf ${n}`);
      prevLeaf = n;
      let m = 0;
      for (let i = 0; i < c; i++) {
        const v = vals[n * B + i];
        if (v === undefined) return fail(`leaf ${n} slot ${i} has no element`);
        const h = Slot.get(v);
        if (h === undefined || (h - 1) >> LOG_B !== n)
          fail(`element at ${v.vm_start} has a wrong back-reference`);
        if (!(v.vm_start < v.vm_end)) fail(`empty element [${v.vm_start}, ${v.vm_end})`);
        const s = F[fb + START + i]!;
        const e = F[fb + END + i]!;
        if (s !== v.vm_start || e !== v.vm_end) {
          fail(
            `stale bounds at ${v.vm_start}: cached [${s}, ${e}), actual [${v.vm_start}, ${v.vm_end}) (missing update?)`,
          );
        }
        if (seen > 0 && prevEnd > s) fail(`an element ending at ${prevEnd} overlaps or follows [${s}, ${e})`);
        const ge = this.startGap(v);
        if (F[fb + GAP_END + i] !== ge)
          fail(`stale startGap at ${s}: cached ${F[fb + GAP_END + i]}, actual ${ge}`);
        m = Math.max(m, ge - prevEnd);
        prevEnd = e;
        seen++;
      }
      return [prevEnd, m];
    };
    const [, g] = walk(this.root, this.height, NIL, 0);
    if (this.rootGap !== g) fail(`bad root gap: cached ${this.rootGap}, actual ${g}`);
    if (prevLeaf === NIL || I[prevLeaf * ISTRIDE + NEXT] !== NIL) fail("bad last next link");
    if (this.tail !== prevLeaf) fail("bad tail");
    if (seen !== this.count) fail(`size is ${this.count} but the tree holds ${seen}`);
    let free = 0;
    for (let i = this.freeHead; i !== NIL; i = I[i * ISTRIDE + NEXT]!) {
      if (!(i >= 0 && i < this.used) || ++free > this.used) fail("corrupt free list");
      for (let j = 0; j < B; j++) if (vals[i * B + j] !== undefined) fail(`free node ${i} holds an element`);
    }
    if (nodes + free !== this.used) fail(`leaked nodes: ${this.used - nodes - free}`);
    if (this.lastInsert !== undefined && !this.has(this.lastInsert)) fail("lastInsert is not in the tree");
  }

  /**
   * Debug: levels (0 when empty), nodes in use, and the bytes the container holds for them: the
   * node slab and the element array at their current capacity (8 bytes per element slot), not
   * counting the few fixed-size object headers.
   */
  stats(): { height: number; nodes: number; bytes: number } {
    let free = 0;
    for (let i = this.freeHead; i !== NIL; i = this.I[i * ISTRIDE + NEXT]!) free++;
    return {
      height: this.root === NIL ? 0 : this.height + 1,
      nodes: this.used - free,
      bytes: this.F.byteLength + this.vals.length * 8,
    };
  }

  /** v's element index (leaf * B + slot); throws if v is not in this tree. */
  private locate(v: T): number {
    const x = this.indexOf(v);
    if (x < 0) throw new Error("VmaTree: element is not in this tree");
    return x;
  }

  /** locate() without the throw: -1 if v is not in this tree. */
  private indexOf(v: T): number {
    const h = Slot.get(v);
    if (h === undefined || h === 0) return -1;
    const vals = this.vals;
    const x = h - 1;
    if (x < vals.length && vals[x] === v) return x;
    // A stale slot hint: the leaf is right, so scan it.
    const n = x >> LOG_B;
    if (n >= this.used) return -1;
    const vb = n * B;
    for (let i = 0, c = this.I[n * ISTRIDE + COUNT]!; i < c; i++) {
      if (vals[vb + i] === v) {
        Slot.set(v, vb + i + 1);
        return vb + i;
      }
    }
    return -1;
  }

  /** Key `section` (END, START, GAP_END) of element index x. */
  private key(x: number, section: number): number {
    return this.F[(x >> LOG_B) * STRIDE + section + (x & (B - 1))]!;
  }

  /** The element index after x, or -1. */
  private succ(x: number): number {
    const n = x >> LOG_B;
    if ((x & (B - 1)) + 1 < this.I[n * ISTRIDE + COUNT]!) return x + 1;
    const nx = this.I[n * ISTRIDE + NEXT]!;
    return nx === NIL ? -1 : nx * B;
  }

  /**
   * The element index of the first element with vm_end > addr, or -1. Every key scan stops
   * inside its node: the parent's pivot for it is > addr.
   */
  private seek(addr: number): number {
    const t = this.tail;
    if (t === NIL) return -1;
    const F = this.F;
    const I = this.I;
    if (!(addr < F[t * STRIDE + END + I[t * ISTRIDE + COUNT]! - 1]!)) return -1;
    let n = this.root;
    for (let h = this.height; h > 0; h--)
      n = I[n * ISTRIDE + CHILD + firstAboveIn(F, n * STRIDE + PIVOT, addr)]!;
    return n * B + firstAboveIn(F, n * STRIDE + END, addr);
  }

  /** range()'s next step: the first element with vm_start >= oldEnd, trying the old successor first. */
  private resume(nextV: T | undefined, oldEnd: number): number {
    if (nextV !== undefined) {
      const x = this.indexOf(nextV);
      if (x >= 0 && this.key(x, START) >= oldEnd) {
        let ps = Number.NEGATIVE_INFINITY;
        if ((x & (B - 1)) > 0) ps = this.key(x - 1, START);
        else {
          const p = this.I[(x >> LOG_B) * ISTRIDE + PREV]!;
          if (p !== NIL) ps = this.F[p * STRIDE + START + this.I[p * ISTRIDE + COUNT]! - 1]!;
        }
        if (ps < oldEnd) return x;
      }
    } else {
      const t = this.tail;
      if (t === NIL || this.F[t * STRIDE + START + this.I[t * ISTRIDE + COUNT]! - 1]! < oldEnd) return -1;
    }
    const x = this.seek(oldEnd);
    return x < 0 || this.key(x, START) >= oldEnd ? x : this.succ(x);
  }

  /** The last element's vm_end; 0 when empty (the lowest gap starts at 0). */
  private lastEnd(): number {
    const t = this.tail;
    return t === NIL ? 0 : this.lastEndOf(t);
  }

  /** The last vm_end under node n (its last key: END and PIVOT are the same section). */
  private lastEndOf(n: number): number {
    return this.F[n * STRIDE + END + this.I[n * ISTRIDE + COUNT]! - 1]!;
  }

  /** The vm_end of the element before slot i of leaf n; 0 if there is none (the lowest gap starts at 0). */
  private endBefore(n: number, i: number): number {
    if (i > 0) return this.F[n * STRIDE + END + i - 1]!;
    const p = this.I[n * ISTRIDE + PREV]!;
    return p === NIL ? 0 : this.lastEndOf(p);
  }

  /** The largest gap under node n as recorded above it: its parent's entry, or the root's. */
  private recordedGap(n: number): number {
    const p = this.I[n * ISTRIDE + PARENT]!;
    return p === NIL ? this.rootGap : this.F[p * STRIDE + MAX_GAP + this.I[n * ISTRIDE + PSLOT]!]!;
  }

  /**
   * Leaf n changed without changing shape: of its gaps, some shrank or vanished, the largest of
   * them having been `lost` (0: none), and some grew or appeared, to at most `gained`. Its max
   * gap is only rescanned when the lost one may have been the max; then pivot and max gap go up.
   */
  private leafChanged(n: number, lost: number, gained: number): void {
    const m = this.recordedGap(n);
    this.propagate(n, lost !== 0 && lost >= m ? this.leafGap(n) : Math.max(m, gained));
  }

  /**
   * Node n's max gap is now g (and its last vm_end may have changed): update its entry, and its
   * parent's max the same incremental way, up to the first entry that does not change.
   */
  private propagate(n: number, g: number): void {
    const F = this.F;
    const I = this.I;
    for (;;) {
      const p = I[n * ISTRIDE + PARENT]!;
      if (p === NIL) {
        this.rootGap = g;
        return;
      }
      const pb = p * STRIDE;
      const j = I[n * ISTRIDE + PSLOT]!;
      const e = this.lastEndOf(n);
      const og = F[pb + MAX_GAP + j]!;
      if (og === g && F[pb + PIVOT + j] === e) return;
      F[pb + PIVOT + j] = e;
      F[pb + MAX_GAP + j] = g;
      const pm = this.recordedGap(p);
      g = g >= pm ? g : og >= pm ? this.innerGap(p) : pm;
      n = p;
    }
  }

  /** The largest gap in leaf n; its first gap starts at the previous leaf's last vm_end (or 0). */
  private leafGap(n: number): number {
    const F = this.F;
    const fb = n * STRIDE;
    const c = this.I[n * ISTRIDE + COUNT]!;
    const p = this.I[n * ISTRIDE + PREV]!;
    let m = F[fb + GAP_END]! - (p === NIL ? 0 : this.lastEndOf(p));
    for (let i = 1; i < c; i++) {
      const g = F[fb + GAP_END + i]! - F[fb + END + i - 1]!;
      if (g > m) m = g;
    }
    return Math.max(m, 0);
  }

  /** The largest gap under inner node n. */
  private innerGap(n: number): number {
    const F = this.F;
    const fb = n * STRIDE + MAX_GAP;
    const c = this.I[n * ISTRIDE + COUNT]!;
    let m = F[fb]!;
    for (let i = 1; i < c; i++) if (F[fb + i]! > m) m = F[fb + i]!;
    return m;
  }

  /** Writes child c's pivot and max gap into slot j of inner node p. */
  private setEntry(p: number, j: number, c: number, level: number): void {
    const F = this.F;
    const fb = p * STRIDE;
    F[fb + PIVOT + j] = this.lastEndOf(c);
    F[fb + MAX_GAP + j] = level === 0 ? this.leafGap(c) : this.innerGap(c);
  }

  /**
   * Node n (at `level`) changed: refresh its entry in its parent, and so on up. Unless `full`
   * (after a structural change, when entries above may be stale for other reasons), stops at the
   * first entry that is already right: nothing above depends on anything else.
   */
  private fixUp(n: number, level: number, full: boolean): void {
    const F = this.F;
    const I = this.I;
    for (;;) {
      const g = level === 0 ? this.leafGap(n) : this.innerGap(n);
      const p = I[n * ISTRIDE + PARENT]!;
      if (p === NIL) {
        this.rootGap = g;
        return;
      }
      const e = this.lastEndOf(n);
      const pb = p * STRIDE;
      const j = I[n * ISTRIDE + PSLOT]!;
      if (!full && F[pb + PIVOT + j] === e && F[pb + MAX_GAP + j] === g) return;
      F[pb + PIVOT + j] = e;
      F[pb + MAX_GAP + j] = g;
      n = p;
      level++;
    }
  }

  private alloc(): number {
    const f = this.freeHead;
    if (f !== NIL) {
      this.freeHead = this.I[f * ISTRIDE + NEXT]!;
      this.F.fill(Number.POSITIVE_INFINITY, f * STRIDE + END, f * STRIDE + END + B);
      return f;
    }
    const cap = this.F.length / STRIDE;
    if (this.used === cap) {
      const c = cap === 0 ? 1 : cap * 2;
      const k = new Float64Array(c * STRIDE);
      k.set(this.F);
      this.F = k;
      this.I = new Int32Array(k.buffer);
      const vals = this.vals;
      vals.length = c * B;
    }
    const n = this.used++;
    this.F.fill(Number.POSITIVE_INFINITY, n * STRIDE + END, n * STRIDE + END + B);
    return n;
  }

  private free(n: number): void {
    const I = this.I;
    I[n * ISTRIDE + COUNT] = 0;
    I[n * ISTRIDE + NEXT] = this.freeHead;
    this.freeHead = n;
  }

  /** Back to the empty state, releasing the slab: an address space that emptied costs nothing. */
  private reset(): void {
    this.F = EMPTY_F;
    this.I = EMPTY_I;
    this.vals = [];
    this.root = this.head = this.tail = NIL;
    this.height = 0;
    this.used = 0;
    this.freeHead = NIL;
    this.rootGap = 0;
  }

  /**
   * Moves entries [si, si + k) of node s to [di, di + k) of node d, both at `level` (s === d
   * allowed, overlapping like memmove). Children that move get their parent and slot; elements
   * that change node get their back-reference, elements shifted within a leaf keep a stale slot
   * hint. The caller clears vacated element slots.
   */
  private moveEntries(s: number, si: number, d: number, di: number, k: number, level: number): void {
    const F = this.F;
    const sf = s * STRIDE + si;
    const df = d * STRIDE + di;
    const down = s === d && di > si;
    if (level === 0) {
      const vals = this.vals;
      const sv = s * B + si;
      const dv = d * B + di;
      if (down) {
        for (let j = k - 1; j >= 0; j--) {
          F[df + END + j] = F[sf + END + j]!;
          F[df + START + j] = F[sf + START + j]!;
          F[df + GAP_END + j] = F[sf + GAP_END + j]!;
          vals[dv + j] = vals[sv + j];
        }
      } else {
        for (let j = 0; j < k; j++) {
          F[df + END + j] = F[sf + END + j]!;
          F[df + START + j] = F[sf + START + j]!;
          F[df + GAP_END + j] = F[sf + GAP_END + j]!;
          vals[dv + j] = vals[sv + j];
        }
      }
      if (s !== d) for (let j = 0; j < k; j++) Slot.set(vals[dv + j]!, dv + j + 1);
      return;
    }
    const I = this.I;
    const si32 = s * ISTRIDE + CHILD + si;
    const di32 = d * ISTRIDE + CHILD + di;
    if (down) {
      for (let j = k - 1; j >= 0; j--) {
        F[df + PIVOT + j] = F[sf + PIVOT + j]!;
        F[df + MAX_GAP + j] = F[sf + MAX_GAP + j]!;
        I[di32 + j] = I[si32 + j]!;
      }
    } else {
      for (let j = 0; j < k; j++) {
        F[df + PIVOT + j] = F[sf + PIVOT + j]!;
        F[df + MAX_GAP + j] = F[sf + MAX_GAP + j]!;
        I[di32 + j] = I[si32 + j]!;
      }
    }
    for (let j = 0; j < k; j++) {
      const c = I[di32 + j]!;
      I[c * ISTRIDE + PARENT] = d;
      I[c * ISTRIDE + PSLOT] = di + j;
    }
  }

  /** Slots [from, to) of node n (at `level`) are no longer used: sentinel keys, no elements. */
  private vacate(n: number, from: number, to: number, level: number): void {
    const F = this.F;
    for (let i = from; i < to; i++) F[n * STRIDE + END + i] = Number.POSITIVE_INFINITY;
    if (level === 0) {
      const vals = this.vals;
      for (let i = n * B + from; i < n * B + to; i++) vals[i] = undefined;
    }
  }

  /**
   * Where a full node splits when a new entry goes to `pos`: entries [0, left) stay, the rest
   * move to the new right sibling, and the new entry ends the left node (see splitLeaf). Splitting
   * at the insertion point rather than in the middle means a run of inserts at one spot (mmap
   * below the lowest mapping, a program mapping upwards) fills nodes instead of leaving every one
   * half empty; both halves keep at least MIN entries.
   */
  private static splitPoint(pos: number): number {
    return pos > B - MIN ? B + 1 - MIN : Math.max(pos, MIN - 1);
  }

  /**
   * Splits full leaf n for an insert at pos (just below the last insert if `descending`);
   * returns the leaf the insert goes to, with its slot in this.at. The entries above are right for the two halves as they are now.
   */
  private splitLeaf(n: number, pos: number, descending: boolean): number {
    const r = this.alloc();
    const I = this.I;
    // A descending run (v just below the last insert) continues in the right node: v starts it,
    // and what lies below stays behind instead of travelling with the run.
    const startRight = descending && pos >= MIN && pos <= B + 1 - MIN;
    const left = startRight ? pos : VmaTree.splitPoint(pos);
    const ib = n * ISTRIDE;
    const rb = r * ISTRIDE;
    this.moveEntries(n, left, r, 0, B - left, 0);
    this.vacate(n, left, B, 0);
    I[ib + COUNT] = left;
    I[rb + COUNT] = B - left;
    const next = I[ib + NEXT]!;
    I[rb + PREV] = n;
    I[rb + NEXT] = next;
    I[ib + NEXT] = r;
    if (next === NIL) this.tail = r;
    else I[next * ISTRIDE + PREV] = r;
    this.insertChild(I[ib + PARENT]!, n, r, 0);
    // Near the end the new entry starts the right node instead (which then holds MIN).
    if (!startRight && pos <= B - MIN) {
      this.at = pos;
      return n;
    }
    this.at = pos - left;
    return r;
  }

  /**
   * Node r (at `level`) was split off the right of node l: add it to l's parent p after l,
   * splitting p in turn when full, or growing a new root. Every entry above is right afterwards.
   */
  private insertChild(p: number, l: number, r: number, level: number): void {
    if (p === NIL) {
      const nr = this.alloc();
      const I = this.I;
      const ib = nr * ISTRIDE;
      I[ib + COUNT] = 2;
      I[ib + PARENT] = NIL;
      I[ib + PSLOT] = 0;
      this.setChild(nr, 0, l, level);
      this.setChild(nr, 1, r, level);
      this.root = nr;
      this.height++;
      this.rootGap = this.innerGap(nr);
      return;
    }
    const j = this.I[l * ISTRIDE + PSLOT]!;
    this.setEntry(p, j, l, level);
    let pos = j + 1;
    if (this.I[p * ISTRIDE + COUNT] === B) {
      p = this.splitInner(p, pos, level + 1);
      pos = this.at;
    }
    const c = this.I[p * ISTRIDE + COUNT]!;
    this.moveEntries(p, pos, p, pos + 1, c - pos, level + 1);
    this.I[p * ISTRIDE + COUNT] = c + 1;
    this.setChild(p, pos, r, level);
    // p changed after its own entry above was written (when p is a fresh half of a split that is
    // not on the inserted leaf's path, nothing else would refresh it).
    this.fixUp(p, level + 1, true);
  }

  /** Makes c (at `level`) child j of p, with its entry. */
  private setChild(p: number, j: number, c: number, level: number): void {
    const I = this.I;
    I[p * ISTRIDE + CHILD + j] = c;
    I[c * ISTRIDE + PARENT] = p;
    I[c * ISTRIDE + PSLOT] = j;
    this.setEntry(p, j, c, level);
  }

  /** Splits full inner node n (at `level`) for an insert at pos, like splitLeaf(). */
  private splitInner(n: number, pos: number, level: number): number {
    const r = this.alloc();
    const I = this.I;
    const left = VmaTree.splitPoint(pos);
    this.moveEntries(n, left, r, 0, B - left, level);
    this.vacate(n, left, B, level);
    I[n * ISTRIDE + COUNT] = left;
    I[r * ISTRIDE + COUNT] = B - left;
    this.insertChild(I[n * ISTRIDE + PARENT]!, n, r, level);
    if (pos <= B - MIN) {
      this.at = pos;
      return n;
    }
    this.at = pos - left;
    return r;
  }

  /**
   * Non-root node n (at `level`) fell below MIN entries: merge it with an adjacent sibling when
   * both fit in one node with room to spare (so the next insert does not split it again: a split
   * leaves a MIN-entry half, one remove later the pair holds B), else even the two out.
   * Leaves every entry on the way to the root right.
   */
  private rebalance(n: number, level: number): void {
    const I = this.I;
    const p = I[n * ISTRIDE + PARENT]!;
    const pb = p * ISTRIDE;
    const j = I[n * ISTRIDE + PSLOT]!;
    const jl = j > 0 ? j - 1 : 0;
    const l = I[pb + CHILD + jl]!;
    const r = I[pb + CHILD + jl + 1]!;
    const lb = l * ISTRIDE;
    const rb = r * ISTRIDE;
    const lc = I[lb + COUNT]!;
    const rc = I[rb + COUNT]!;
    if (lc + rc <= B - 2) {
      this.moveEntries(r, 0, l, lc, rc, level);
      this.vacate(r, 0, rc, level);
      if (level === 0) {
        const next = I[rb + NEXT]!;
        I[lb + NEXT] = next;
        if (next === NIL) this.tail = l;
        else I[next * ISTRIDE + PREV] = l;
      }
      I[lb + COUNT] = lc + rc;
      this.free(r);
      const pc = I[pb + COUNT]! - 1;
      this.moveEntries(p, jl + 2, p, jl + 1, pc - jl - 1, level + 1);
      this.vacate(p, pc, pc + 1, level + 1);
      I[pb + COUNT] = pc;
      this.setEntry(p, jl, l, level);
      if (p === this.root) {
        if (pc === 1) {
          // The root kept one child: that child is the new root.
          I[lb + PARENT] = NIL;
          I[lb + PSLOT] = 0;
          this.free(p);
          this.root = l;
          this.height--;
          this.rootGap = level === 0 ? this.leafGap(l) : this.innerGap(l);
        } else {
          this.rootGap = this.innerGap(p);
        }
      } else if (pc < MIN) {
        this.rebalance(p, level + 1);
      } else {
        this.fixUp(p, level + 1, true);
      }
      return;
    }
    // Even out: the fuller one gives entries to the other.
    const want = (lc + rc) >> 1;
    if (lc > want) {
      const k = lc - want;
      this.moveEntries(r, 0, r, k, rc, level);
      this.moveEntries(l, want, r, 0, k, level);
      this.vacate(l, want, lc, level);
    } else {
      const k = want - lc;
      this.moveEntries(r, 0, l, lc, k, level);
      this.moveEntries(r, k, r, 0, rc - k, level);
      this.vacate(r, rc - k, rc, level);
    }
    I[lb + COUNT] = want;
    I[rb + COUNT] = lc + rc - want;
    this.setEntry(p, jl, l, level);
    this.setEntry(p, jl + 1, r, level);
    this.fixUp(p, level + 1, true);
  }

  /**
   * unmappedAreaTopdown() below node n (at `level`), whose first gap starts at lb: children from
   * the right, pruned by max gap and by address (child i's gaps lie in [pivot[i-1], pivot[i])).
   * Only the paths along the low/high bounds and one successful descent are walked.
   */
  private topDown(n: number, level: number, lb: number, len: number, low: number, high: number): number {
    const F = this.F;
    const fb = n * STRIDE;
    const c = this.I[n * ISTRIDE + COUNT]!;
    if (level === 0) {
      for (let i = c - 1; i >= 0; i--) {
        const pe = i > 0 ? F[fb + END + i - 1]! : lb;
        const ge = F[fb + GAP_END + i]!;
        if (ge - pe >= len) {
          const lo = Math.max(pe, low);
          const hi = Math.min(ge, high);
          if (hi - lo >= len) return hi - len;
        }
        if (pe - len < low) return -1; // every gap further left ends at or below pe
      }
      return -1;
    }
    for (let i = c - 1; i >= 0; i--) {
      if (F[fb + MAX_GAP + i]! < len) continue;
      const clb = i > 0 ? F[fb + PIVOT + i - 1]! : lb;
      if (clb + len > high) continue; // its gaps start too high
      if (F[fb + PIVOT + i]! - len < low) return -1; // its gaps, and those left of it, end too low
      const a = this.topDown(this.I[n * ISTRIDE + CHILD + i]!, level - 1, clb, len, low, high);
      if (a >= 0) return a;
    }
    return -1;
  }

  /** unmappedArea() below node n, children from the left, pruned the same way as topDown(). */
  private bottomUp(n: number, level: number, lb: number, len: number, low: number, high: number): number {
    const F = this.F;
    const fb = n * STRIDE;
    const c = this.I[n * ISTRIDE + COUNT]!;
    if (level === 0) {
      for (let i = 0; i < c; i++) {
        const pe = i > 0 ? F[fb + END + i - 1]! : lb;
        if (pe + len > high) return -1; // every gap further right starts at or above pe
        const ge = F[fb + GAP_END + i]!;
        if (ge - pe >= len) {
          const lo = Math.max(pe, low);
          const hi = Math.min(ge, high);
          if (hi - lo >= len) return lo;
        }
      }
      return -1;
    }
    for (let i = 0; i < c; i++) {
      if (F[fb + MAX_GAP + i]! < len) continue;
      const clb = i > 0 ? F[fb + PIVOT + i - 1]! : lb;
      if (clb + len > high) return -1; // its gaps, and those right of it, start too high
      if (F[fb + PIVOT + i]! - len < low) continue; // its gaps end too low
      const a = this.bottomUp(this.I[n * ISTRIDE + CHILD + i]!, level - 1, clb, len, low, high);
      if (a >= 0) return a;
    }
    return -1;
  }
}
