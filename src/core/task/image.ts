/**
 * Program images for execve: a small JSON-able description of an ELF executable (its PT_LOAD
 * segments) and of its interpreter, with a default that looks like a dynamically linked PIE on
 * Debian (a 5-segment program, glibc's ld.so).
 */

/** One PT_LOAD segment. Addresses and offsets are what the ELF program header says. */
export interface Segment {
  vaddr: number;
  /** Bytes backed by the file. */
  filesz: number;
  /** Bytes in memory (memsz > filesz: the rest is bss). */
  memsz: number;
  offset: number;
  /** "r", "rw", "rx", "rwx". */
  prot: string;
}

export interface ImageSpec {
  /** Path of the executable (created in the machine's file system when absent). */
  path: string;
  /** ET_DYN (position independent, loaded at ELF_ET_DYN_BASE + random) or ET_EXEC (at its vaddrs). */
  pie: boolean;
  segments: Segment[];
  /** The program interpreter (ld.so), or null for a static executable. */
  interp: { path: string; segments: Segment[] } | null;
  /** PT_GNU_STACK with PF_X: an executable stack. */
  execStack?: boolean;
}

const PG = 4096;

/** A dynamically linked PIE like /usr/bin/cat on Debian 12, and its ld.so. */
export const DEFAULT_IMAGE: ImageSpec = {
  path: "/usr/bin/prog",
  pie: true,
  segments: [
    { vaddr: 0x0, offset: 0x0, filesz: 0x1f80, memsz: 0x1f80, prot: "r" },
    { vaddr: 0x2000, offset: 0x2000, filesz: 0x4d91, memsz: 0x4d91, prot: "rx" },
    { vaddr: 0x7000, offset: 0x7000, filesz: 0x1fd8, memsz: 0x1fd8, prot: "r" },
    { vaddr: 0x9c10, offset: 0x8c10, filesz: 0x480, memsz: 0x5f0, prot: "rw" },
  ],
  interp: {
    path: "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
    segments: [
      { vaddr: 0x0, offset: 0x0, filesz: 0x1000, memsz: 0x1000, prot: "r" },
      { vaddr: 0x1000, offset: 0x1000, filesz: 0x25e51, memsz: 0x25e51, prot: "rx" },
      { vaddr: 0x27000, offset: 0x27000, filesz: 0x9e3c, memsz: 0x9e3c, prot: "r" },
      { vaddr: 0x31640, offset: 0x31640, filesz: 0x1a18, memsz: 0x1bb8, prot: "rw" },
    ],
  },
};

/** The file size an image needs: the end of its last file-backed byte. */
export function image_file_size(segments: Segment[]): number {
  let end = 0;
  for (const s of segments) end = Math.max(end, s.offset + s.filesz);
  return Math.ceil(end / PG) * PG;
}
