import { z } from "zod";
import { ImageOrEmpty } from "../../schemas/image.js";

const limit = z.union([z.int().min(0), z.literal("unlimited")]);

export const SpawnTask = z
  .strictObject({
    comm: z
      .string()
      .min(1)
      .max(15)
      .optional()
      .meta({ description: "The task's name (TASK_COMM_LEN - 1 chars)" }),
    image: ImageOrEmpty.optional().meta({
      description:
        'The program to exec (default: a dynamically linked PIE), or "empty" for no mappings at all',
    }),
    argv: z.array(z.string().max(131072)).max(4096).optional(),
    envp: z.array(z.string().max(131072)).max(4096).optional(),
    rlimits: z
      .strictObject({ AS: limit, DATA: limit, STACK: limit, MEMLOCK: limit })
      .partial()
      .optional()
      .meta({ description: "Soft limits in bytes (RLIMIT_AS, _DATA, _STACK, _MEMLOCK)" }),
    caps: z
      .strictObject({ CAP_IPC_LOCK: z.boolean(), CAP_SYS_RAWIO: z.boolean(), CAP_SYS_ADMIN: z.boolean() })
      .partial()
      .optional(),
  })
  .meta({ id: "SpawnTask" });

export const TaskView = z
  .object({
    pid: z.int(),
    tgid: z.int(),
    ppid: z.int(),
    comm: z.string(),
    state: z.string().meta({ description: "running, vfork-waiting, zombie or dead", examples: ["running"] }),
    mm: z.int().nullable().meta({ description: "The mm_struct id (shared by threads and vfork children)" }),
    min_flt: z.int(),
    maj_flt: z.int(),
    exit_code: z.int().nullable().meta({ description: "The wait status once exited" }),
  })
  .meta({ id: "Task" });

export const TaskList = z.object({ tasks: z.array(TaskView) });
