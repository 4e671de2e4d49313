/**
 * Seeded pseudo-random source for everything random in a simulated machine (ASLR offsets).
 * sfc32 seeded through splitmix32: small, fast, and the same seed gives the same stream.
 */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number | string) {
    let s = typeof seed === "number" ? seed >>> 0 : hashString(seed);
    const next = (): number => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    for (let i = 0; i < 12; i++) this.nextU32();
  }

  nextU32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** get_random_long() restricted to 48 bits: enough for every mask and modulus the mm code uses. */
  nextLong(): number {
    return (this.nextU32() & 0xffff) * 2 ** 32 + this.nextU32();
  }

  /** A uniform integer in [0, n). */
  below(n: number): number {
    return this.nextLong() % n;
  }

  /** The generator's state, so a machine can be snapshotted and replayed. */
  state(): [number, number, number, number] {
    return [this.a, this.b, this.c, this.d];
  }
}

function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
