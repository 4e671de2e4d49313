/**
 * A machine's replay ring: its most recent events, encoded, for clients that resume with `since`.
 * Bounded by count; the oldest event is overwritten first.
 */

/** One event as the hub keeps it: the filter keys and the JSON text (encoded once, shared by all). */
export interface Encoded {
  readonly seq: number;
  readonly machine: string;
  readonly pid: number;
  readonly mm: number;
  readonly type: string;
  readonly json: string;
}

export class EventRing {
  private readonly buf: (Encoded | undefined)[];
  /** Invariant: the ring holds seqs [first, last] with last - first + 1 = min(count, capacity). */
  private head = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new Error(`ring capacity ${capacity}`);
    this.buf = new Array(capacity);
  }

  get size(): number {
    return this.count;
  }

  /** The oldest seq held (0 when empty). */
  get first(): number {
    return this.count ? this.buf[this.head]!.seq : 0;
  }

  push(e: Encoded): void {
    const cap = this.capacity;
    if (this.count < cap) {
      this.buf[(this.head + this.count) % cap] = e;
      this.count++;
    } else {
      this.buf[this.head] = e;
      this.head = (this.head + 1) % cap;
    }
  }

  /** The events with seq > since, oldest first (events are pushed with consecutive seqs). */
  after(since: number): Encoded[] {
    const out: Encoded[] = [];
    if (!this.count) return out;
    const skip = Math.max(0, since - this.first + 1);
    for (let i = skip; i < this.count; i++) out.push(this.buf[(this.head + i) % this.capacity]!);
    return out;
  }

  clear(): void {
    this.buf.fill(undefined);
    this.head = this.count = 0;
  }
}
