/**
 * Program images on the wire: what execve and task creation accept (core/task/image.ts ImageSpec,
 * or "empty" for a bare address space), with argv and envp.
 */
import { z } from "zod";
import type { ImageSpec } from "../../core/task/image.js";
import { field, optional } from "../decode.js";

const Segment = z
  .strictObject({
    vaddr: z
      .int()
      .min(0)
      .max(2 ** 46),
    filesz: z
      .int()
      .min(0)
      .max(2 ** 32),
    memsz: z
      .int()
      .min(0)
      .max(2 ** 32),
    offset: z
      .int()
      .min(0)
      .max(2 ** 40),
    prot: z.enum(["", "r", "w", "x", "rw", "rx", "wx", "rwx"]),
  })
  .refine((s) => s.memsz >= s.filesz, "memsz must be at least filesz")
  .refine((s) => s.offset % 4096 === s.vaddr % 4096, "offset and vaddr must agree modulo the page size")
  .meta({ id: "Segment", description: "One PT_LOAD segment, as the ELF program header says" });

const Segments = z.array(Segment).min(1).max(32);

export const Image = z
  .strictObject({
    path: z.string().min(1).max(4096),
    pie: z.boolean(),
    segments: Segments,
    interp: z.strictObject({ path: z.string().max(4096), segments: Segments }).nullable(),
    execStack: z.boolean().optional(),
  })
  .meta({
    id: "Image",
    description:
      "An ELF-like executable: PT_LOAD segments (PIE loaded at ELF_ET_DYN_BASE + random, ET_EXEC at its vaddrs) and an optional interpreter",
  }) satisfies z.ZodType<ImageSpec>;

export const ImageOrEmpty = z.union([Image, z.literal("empty")]).meta({
  description: 'An image spec, or "empty": an address space with no mappings at all',
});

const Strings = z.array(z.string().max(131072)).max(4096);

/** execve's arguments (also part of task creation). */
export const ExecFields = {
  image: optional(field(ImageOrEmpty, null)),
  argv: optional(field(Strings, null)),
  envp: optional(field(Strings, null)),
};
