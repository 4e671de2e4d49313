/**
 * The replay ring and the filter: bounded, oldest out first, `after(since)` exact at every offset;
 * filters match on every field and equal filters share a key.
 */
import { describe, expect, it } from "vitest";
import { EventFilter } from "../../src/events/filter.js";
import { type Encoded, EventRing } from "../../src/events/ring.js";

const ev = (seq: number, over: Partial<Encoded> = {}): Encoded => ({
  seq,
  machine: "m",
  pid: 1,
  mm: 1,
  type: "fault",
  json: `{"seq":${seq}}`,
  ...over,
});

describe("EventRing", () => {
  it("keeps the newest `capacity` events and replays exactly those after since", () => {
    const r = new EventRing(5);
    expect(r.first).toBe(0);
    expect(r.after(0)).toEqual([]);
    for (let seq = 1; seq <= 12; seq++) {
      r.push(ev(seq));
      const lo = Math.max(1, seq - 4);
      expect(r.size).toBe(seq - lo + 1);
      expect(r.first).toBe(lo);
      for (let since = 0; since <= seq + 1; since++) {
        const want = [];
        for (let k = Math.max(since + 1, lo); k <= seq; k++) want.push(k);
        expect(r.after(since).map((e) => e.seq)).toEqual(want);
      }
    }
  });

  it("refuses a capacity below 1", () => {
    expect(() => new EventRing(0)).toThrow();
  });
});

describe("EventFilter", () => {
  it("matches on scope, machines, types, pids and mm; an absent field lets everything through", () => {
    const all = new EventFilter(null, {});
    expect(all.matches(ev(1))).toBe(true);
    const f = new EventFilter(null, { types: ["fault", "mmap"], pids: [2, 1], mm: [1], machines: ["m"] });
    expect(f.matches(ev(1))).toBe(true);
    expect(f.matches(ev(1, { type: "brk" }))).toBe(false);
    expect(f.matches(ev(1, { pid: 3 }))).toBe(false);
    expect(f.matches(ev(1, { mm: 2 }))).toBe(false);
    expect(f.matches(ev(1, { machine: "n" }))).toBe(false);
    const scoped = new EventFilter("n", { machines: ["m"] });
    expect(scoped.spec).toEqual({});
    expect(scoped.matches(ev(1))).toBe(false);
    expect(scoped.matches(ev(1, { machine: "n" }))).toBe(true);
    expect(scoped.seesMachine("m")).toBe(false);
  });

  it("gives equal filters one key (order and duplicates do not matter)", () => {
    const a = new EventFilter(null, { types: ["mmap", "fault"], pids: [2, 1, 2] });
    const b = new EventFilter(null, { pids: [1, 2], types: ["fault", "mmap"] });
    expect(a.key).toBe(b.key);
    expect(a.spec).toEqual({ types: ["fault", "mmap"], pids: [1, 2] });
    expect(new EventFilter("m", {}).key).not.toBe(new EventFilter(null, {}).key);
    expect(new EventFilter(null, { pids: [1] }).key).not.toBe(new EventFilter(null, { mm: [1] }).key);
  });
});
