/**
 * The engine side of the conformance suite: runs a trace through the core API and prints exactly
 * what runner.c prints on the kernel.
 */
import { errnoName } from "../../src/core/abi/errno.js";
import { sys_close, sys_ftruncate, sys_open } from "../../src/core/fs/open.js";
import { sys_pread, sys_pwrite } from "../../src/core/fs/read_write.js";
import type { SysResult } from "../../src/core/lib/result.js";
import { Machine } from "../../src/core/machine.js";
import { access_vm } from "../../src/core/mm/access.js";
import { add_to_page_cache } from "../../src/core/mm/fault.js";
import { sys_madvise } from "../../src/core/mm/madvise.js";
import { sys_mincore } from "../../src/core/mm/mincore.js";
import { sys_mlock, sys_mlock2, sys_mlockall, sys_munlock, sys_munlockall } from "../../src/core/mm/mlock.js";
import { sys_mmap, sys_munmap } from "../../src/core/mm/mmap.js";
import { sys_mprotect } from "../../src/core/mm/mprotect.js";
import { sys_mremap } from "../../src/core/mm/mremap.js";
import { sys_msync } from "../../src/core/mm/msync.js";
import { show_map_vma, show_smap } from "../../src/core/mm/procfs.js";
import { validate_machine } from "../../src/core/mm/validate.js";
import type { KernelProfile } from "../../src/core/profile.js";
import { do_exit } from "../../src/core/task/exit.js";
import { do_fork } from "../../src/core/task/fork.js";
import { RLIM_INFINITY, type task_struct } from "../../src/core/task/task.js";

export const WIN = 0x100000000000;
export const WINLEN = 2 ** 30;

/** The smaps fields runner.c prints. */
const SMAPS_KEYS = [
  "Rss:",
  "Shared_Clean:",
  "Shared_Dirty:",
  "Private_Clean:",
  "Private_Dirty:",
  "Anonymous:",
  "LazyFree:",
  "Locked:",
  "VmFlags:",
];

/** Parse a trace number: decimal or 0x hex, negative = two's complement (kept as a negative safe integer). */
function num(s: string | undefined): number {
  if (s === undefined) throw new Error("missing argument");
  const neg = s.startsWith("-");
  const body = neg ? s.slice(1) : s;
  const v = body.startsWith("0x") ? Number.parseInt(body.slice(2), 16) : Number.parseInt(body, 10);
  if (!Number.isSafeInteger(v)) throw new Error(`bad number ${s}`);
  return neg ? -v : v;
}

/** FNV-1a, as runner.c hashes the bytes it reads. */
function fnv1a(bytes: Uint8Array): number {
  let h = 2166136261;
  for (const b of bytes) h = Math.imul(h ^ b, 16777619) >>> 0;
  return h >>> 0;
}

export interface EngineRun {
  lines: string[];
  m: Machine;
  t: task_struct;
}

export function runOnEngine(
  trace: string[],
  profile: Partial<KernelProfile>,
  workdir: string,
  root: boolean,
  seed = 1,
): EngineRun {
  const m = new Machine({ seed, profile });
  const caps = { CAP_IPC_LOCK: root, CAP_SYS_RAWIO: root, CAP_SYS_ADMIN: root };
  // The runner disables THP for itself (PR_SET_THP_DISABLE).
  const first = m.spawnEmpty({ caps, thpDisabled: true });
  let t = first;
  let mm = t.mm!;
  const out: string[] = [];
  const res = (r: SysResult<number>, addr = false) => {
    if (!r.ok) out.push(`= -1 ${errnoName(r.errno)}`);
    else out.push(addr ? `= 0x${r.value.toString(16)}` : `= ${r.value}`);
  };
  const inWindow = () => [...mm.mm_mt.range(WIN, WIN + WINLEN)];
  for (const raw of trace) {
    // "VPID: call" addresses another process of the trace (vpids are the engine's pids).
    const routed = /^(\d+):\s*(.*)$/.exec(raw.trim());
    t = routed ? (m.tasks.get(Number(routed[1])) ?? first) : first;
    mm = t.mm ?? mm;
    const a = (routed ? routed[2]! : raw).trim().split(/\s+/);
    if (!a[0] || a[0].startsWith("#")) continue;
    switch (a[0]) {
      case "fork": {
        const r = do_fork(m, t, 0);
        out.push(r.ok ? `= ${r.value.pid}` : `= -1 ${errnoName(r.errno)}`);
        break;
      }
      case "exit":
        do_exit(m, t, 0);
        out.push("= 0");
        break;
      case "file": {
        const inode = m.fs.create(`${workdir}/${a[1]}`, num(a[2]));
        const fill = a[3] === undefined ? 0 : num(a[3]);
        const step = a[4] === undefined ? 0 : num(a[4]);
        // Written and fsync'ed by the runner: every page cached and clean, page i all FILL + i * STEP.
        for (let i = 0; i < Math.ceil(inode.i_size / 4096); i++) {
          const byte = (fill + i * step) & 0xff;
          if (byte) inode.disk.set(i, new Uint8Array(Math.min(4096, inode.i_size - i * 4096)).fill(byte));
          add_to_page_cache(m, inode, i);
        }
        out.push("= 0");
        break;
      }
      case "pread": {
        const r = sys_pread(m, t, num(a[1]), Math.min(num(a[3]), 65536), num(a[2]));
        out.push(
          r.ok
            ? `= ${r.value.length} ${fnv1a(r.value).toString(16).padStart(8, "0")}`
            : `= -1 ${errnoName(r.errno)}`,
        );
        break;
      }
      case "pwrite": {
        const len = Math.min(num(a[3]), 65536);
        const data = new Uint8Array(len);
        for (let i = 0; i < len; i++) data[i] = (num(a[4]) + i) & 0xff;
        res(sys_pwrite(m, t, num(a[1]), data, num(a[2])));
        break;
      }
      case "open":
        res(sys_open(m, t, `${workdir}/${a[1]}`, num(a[2])));
        break;
      case "close":
        res(sys_close(t, num(a[1])));
        break;
      case "ftruncate":
        res(sys_ftruncate(m, t, num(a[1]), num(a[2])));
        break;
      case "mmap":
        res(sys_mmap(m, t, num(a[1]), num(a[2]), num(a[3]), num(a[4]), num(a[5]), num(a[6])), true);
        break;
      case "munmap":
        res(sys_munmap(m, t, num(a[1]), num(a[2])));
        break;
      case "mprotect":
        res(sys_mprotect(m, t, num(a[1]), num(a[2]), num(a[3])));
        break;
      case "mremap":
        res(sys_mremap(m, t, num(a[1]), num(a[2]), num(a[3]), num(a[4]), num(a[5])), true);
        break;
      case "madvise":
        res(sys_madvise(m, t, num(a[1]), num(a[2]), num(a[3])));
        break;
      case "mlock":
        res(sys_mlock(m, t, num(a[1]), num(a[2])));
        break;
      case "mlock2":
        res(sys_mlock2(m, t, num(a[1]), num(a[2]), num(a[3])));
        break;
      case "munlock":
        res(sys_munlock(m, t, num(a[1]), num(a[2])));
        break;
      case "mlockall":
        res(sys_mlockall(m, t, num(a[1])));
        break;
      case "munlockall":
        res(sys_munlockall(m, t));
        break;
      case "msync":
        res(sys_msync(m, t, num(a[1]), num(a[2]), num(a[3])));
        break;
      case "mincore": {
        const r = sys_mincore(m, t, num(a[1]), num(a[2]));
        const vec = r.ok ? r.value : (r.partial ?? new Uint8Array());
        out.push(
          `${r.ok ? "= 0" : `= -1 ${errnoName(r.errno)}`} ${Array.from(vec, (b) => String(b & 1)).join("")}`,
        );
        break;
      }
      case "exec":
      case "read":
      case "write": {
        const exec = a[0] === "exec";
        const len = exec ? 1 : num(a[2]);
        const write = a[0] === "write";
        const byte = write ? num(a[3]) : 0;
        const pattern = new Uint8Array(256);
        for (let i = 0; i < 256; i++) pattern[i] = (byte + i) & 0xff;
        const r = access_vm(
          m,
          t,
          num(a[1]),
          len,
          write ? "write" : exec ? "exec" : "read",
          write ? pattern : undefined,
        );
        // An instruction fetch reads no bytes the runner could hash (it returns through the ret there).
        const hash = fnv1a(write || exec ? new Uint8Array() : r.data)
          .toString(16)
          .padStart(8, "0");
        const tail = `${hash} ${r.minor} ${r.major}`;
        out.push(
          r.signal
            ? `= ${r.signal.signo} ${r.signal.code} 0x${r.signal.addr.toString(16)} ${tail}`
            : `= ok ${tail}`,
        );
        break;
      }
      case "maps":
        for (const v of inWindow()) out.push(show_map_vma(v).replace(/\n$/, ""));
        out.push(".");
        break;
      case "smaps":
        for (const v of inWindow()) {
          const text = show_smap(m, v).split("\n");
          out.push(text[0]!);
          for (const l of text.slice(1)) if (SMAPS_KEYS.some((k) => l.startsWith(k))) out.push(`  ${l}`);
        }
        out.push(".");
        break;
      case "rlimit": {
        const delta = num(a[2]);
        const key = a[1] === "AS" ? "AS" : a[1] === "DATA" ? "DATA" : "MEMLOCK";
        const used = key === "AS" ? mm.total_vm : key === "DATA" ? mm.data_vm : mm.locked_vm;
        t.rlimits[key] = delta < 0 ? RLIM_INFINITY : used * 4096 + delta;
        out.push("= 0");
        break;
      }
      default:
        out.push(`! unknown call ${a[0]}`);
    }
    validate_machine(m);
  }
  return { lines: out, m, t: first };
}
