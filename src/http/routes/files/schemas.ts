import { z } from "zod";
import { MachineParams } from "../../schemas/common.js";

/** The largest file whose contents a request may carry or fetch. */
export const MAX_FILE_DATA = 16 * 2 ** 20;

export const CreateFile = z
  .strictObject({
    path: z
      .string()
      .regex(/^\/[^\0]*$/, "expected an absolute path")
      .max(4096)
      .refine((p) => p !== "/" && !p.endsWith("/"), "expected a file path"),
    size: z
      .int()
      .min(0)
      .max(2 ** 46)
      .optional()
      .meta({
        description: "i_size in bytes (default: the data's length); past the data the file is sparse zeros",
      }),
    data: z.base64().optional().meta({ description: "The file's contents, base64" }),
  })
  .meta({ id: "CreateFile" });

export const FileView = z
  .object({
    path: z.string(),
    kind: z.enum(["regular", "directory", "chardev", "fifo", "shmem"]),
    ino: z.int(),
    dev: z.string().meta({ examples: ["fe:00"] }),
    size: z.int(),
    cached_pages: z.int().meta({ description: "Pages in the page cache" }),
    data: z
      .string()
      .optional()
      .meta({ description: "Contents (page cache over disk), base64, with ?data=true" }),
  })
  .meta({ id: "File" });

export const FileList = z.object({ files: z.array(FileView) });

export const FileParams = MachineParams.extend({
  "*": z.string().meta({ description: "The path without its leading /" }),
});
export const FileQuery = z.object({ data: z.enum(["true", "false"]).optional() });
