/**
 * A machine's files: the simulated namespace that open(2) and file mappings see. Creating a path
 * that exists replaces it (the old inode lives on, " (deleted)", in the mappings that hold it).
 */
import { Buffer } from "node:buffer";
import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { PAGE_SIZE } from "../../../core/abi/mman.js";
import type { Inode } from "../../../core/fs/file.js";
import type { Machine } from "../../../core/machine.js";
import { ApiError, conflict, notFound } from "../../errors.js";
import { errors, MachineParams } from "../../schemas/common.js";
import { CreateFile, FileList, FileParams, FileQuery, FileView, MAX_FILE_DATA } from "./schemas.js";

const hex2 = (n: number) => n.toString(16).padStart(2, "0");

/** The file's current bytes: cached pages (which writes through shared mappings change) over disk. */
function contents(m: Machine, inode: Inode): Buffer {
  const out = Buffer.alloc(inode.i_size);
  const pages = Math.ceil(inode.i_size / PAGE_SIZE);
  for (let idx = 0; idx < pages; idx++) {
    const pfn = inode.i_pages.get(idx);
    const n = Math.min(PAGE_SIZE, inode.i_size - idx * PAGE_SIZE);
    if (pfn !== undefined) {
      m.frames.read(pfn, 0, n, out, idx * PAGE_SIZE);
      continue;
    }
    const src = inode.disk.get(idx);
    if (src) out.set(src.subarray(0, n), idx * PAGE_SIZE);
  }
  return out;
}

function fileView(m: Machine, inode: Inode, withData: boolean): z.infer<typeof FileView> {
  const v: z.infer<typeof FileView> = {
    path: inode.path,
    kind: inode.kind,
    ino: inode.i_ino,
    dev: `${hex2(inode.dev[0])}:${hex2(inode.dev[1])}`,
    size: inode.i_size,
    cached_pages: inode.i_pages.size,
  };
  if (withData) {
    if (inode.i_size > MAX_FILE_DATA)
      throw new ApiError(
        413,
        "FILE_TOO_LARGE",
        `file is ${inode.i_size} bytes; data is served up to ${MAX_FILE_DATA}`,
      );
    v.data = contents(m, inode).toString("base64");
  }
  return v;
}

const tags = ["files"];

export default async function fileRoutes(base: FastifyInstance): Promise<void> {
  const app = base.withTypeProvider<ZodTypeProvider>();

  app.post(
    "/machines/:mid/files",
    {
      schema: {
        tags,
        summary: "Create (or replace) a regular file",
        params: MachineParams,
        body: CreateFile,
        response: { 201: FileView, ...errors(400, 404, 409, 413) },
      },
    },
    async (req, reply) => {
      const m = app.machines.get(req.params.mid).machine;
      const { path, size, data } = req.body;
      const bytes = data ? Buffer.from(data, "base64") : Buffer.alloc(0);
      if (bytes.length > MAX_FILE_DATA)
        throw new ApiError(413, "FILE_TOO_LARGE", `file data is limited to ${MAX_FILE_DATA} bytes`);
      if (size !== undefined && size < bytes.length)
        throw new ApiError(400, "FILE_SIZE", `size ${size} is less than the data's ${bytes.length} bytes`);
      const old = m.fs.lookup(path);
      if (old && old.kind !== "regular") throw conflict("FILE_EXISTS", `${path} exists and is a ${old.kind}`);
      const inode = m.fs.create(path, size ?? bytes.length);
      for (let off = 0; off < bytes.length; off += PAGE_SIZE) {
        const chunk = bytes.subarray(off, off + PAGE_SIZE);
        if (chunk.some((b) => b !== 0)) {
          const page = new Uint8Array(PAGE_SIZE);
          page.set(chunk);
          inode.disk.set(off / PAGE_SIZE, page);
        }
      }
      return reply.code(201).send(fileView(m, inode, false));
    },
  );

  app.get(
    "/machines/:mid/files",
    {
      schema: {
        tags,
        summary: "List files",
        params: MachineParams,
        response: { 200: FileList, ...errors(404) },
      },
    },
    async (req) => {
      const m = app.machines.get(req.params.mid).machine;
      return { files: [...m.fs.files()].map((i) => fileView(m, i, false)) };
    },
  );

  app.get(
    "/machines/:mid/files/*",
    {
      schema: {
        tags,
        summary: "A file (with ?data=true its contents, base64)",
        params: FileParams,
        querystring: FileQuery,
        response: { 200: FileView, ...errors(404, 413) },
      },
    },
    async (req) => {
      const m = app.machines.get(req.params.mid).machine;
      const path = `/${req.params["*"]}`;
      const inode = m.fs.lookup(path);
      if (!inode) throw notFound("FILE_NOT_FOUND", `no file ${path}`);
      return fileView(m, inode, req.query.data === "true");
    },
  );

  app.delete(
    "/machines/:mid/files/*",
    {
      schema: {
        tags,
        summary: "Unlink a file (mappings keep it, shown as deleted)",
        params: FileParams,
        response: { 204: z.null(), ...errors(404) },
      },
    },
    async (req, reply) => {
      const m = app.machines.get(req.params.mid).machine;
      const path = `/${req.params["*"]}`;
      if (!m.fs.unlink(path)) throw notFound("FILE_NOT_FOUND", `no file ${path}`);
      return reply.code(204).send(null);
    },
  );
}
