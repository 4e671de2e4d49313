/**
 * Engine demo (the HTTP service replaces this entry point): a process maps, splits and merges
 * memory, and its /proc/PID/maps is printed after each step.
 */
import { MAP_ANONYMOUS, MAP_POPULATE, MAP_PRIVATE, PROT_READ, PROT_WRITE } from "./core/abi/mman.js";
import { Machine } from "./core/machine.js";
import { sys_mmap } from "./core/mm/mmap.js";
import { sys_mprotect } from "./core/mm/mprotect.js";

const m = new Machine({ seed: 42 });
const task = m.spawnEmpty({ comm: "demo" });
const mm = task.mm!;

function show(what: string): void {
  console.log(`# ${what}`);
  for (const v of mm.mm_mt) {
    console.log(
      `${v.vm_start.toString(16)}-${v.vm_end.toString(16)} flags=0x${v.vm_flags.toString(16)} pgoff=0x${v.vm_pgoff.toString(16)}`,
    );
  }
  console.log(
    `map_count=${mm.map_count} total_vm=${mm.total_vm} rss=${mm.get_mm_rss()} min_flt=${task.min_flt}\n`,
  );
}

const r = sys_mmap(
  m,
  task,
  0,
  16 * 4096,
  PROT_READ | PROT_WRITE,
  MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
  -1,
  0,
);
if (!r.ok) throw new Error(`mmap failed: ${r.errno}`);
show("mmap 16 pages, populated");
sys_mprotect(m, task, r.value + 4 * 4096, 4 * 4096, PROT_READ);
show("mprotect pages 4-7 read-only: the VMA splits in three");
sys_mprotect(m, task, r.value + 4 * 4096, 4 * 4096, PROT_READ | PROT_WRITE);
show("mprotect them back: the three merge again");
