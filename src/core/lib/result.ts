/**
 * A syscall's outcome, like zod's safeParse: errno for callers, exceptions only for bugs.
 */
export type SysResult<T> = { ok: true; value: T } | { ok: false; errno: number };

export function ok<T>(value: T): SysResult<T> {
  return { ok: true, value };
}

const ERR_CACHE: { ok: false; errno: number }[] = [];

/** Failure results are immutable and shared per errno (no allocation on hot error paths). */
export function err(errno: number): { ok: false; errno: number } {
  let r = ERR_CACHE[errno];
  if (!r) {
    r = Object.freeze({ ok: false as const, errno }) as { ok: false; errno: number };
    ERR_CACHE[errno] = r;
  }
  return r;
}
