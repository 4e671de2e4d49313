import { z } from "zod";
import { ImageOrEmpty } from "../../schemas/image.js";

/** oom_score_adj: -1000 (never killed by the OOM killer) .. 1000 (killed first). */
export const OomScoreAdj = z.int().min(-1000).max(1000).meta({
  description:
    "oom_score_adj: added to the OOM killer's badness in thousandths of RAM + swap; -1000 exempts the task",
});

const limit = z.union([z.int().min(0), z.literal("unlimited")]);

export const SpawnTask = z
  .strictObject({
    comm: z
      .string()
      .min(1)
      .refine(
        (s) => new TextEncoder().encode(s).length <= 15,
        "at most 15 bytes of UTF-8 (TASK_COMM_LEN - 1)",
      )
      .optional()
      .meta({ description: "The task's name (at most TASK_COMM_LEN - 1 = 15 bytes of UTF-8)" }),
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
    oom_score_adj: OomScoreAdj.optional(),
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
    oom_score_adj: z.int().meta({ description: "/proc/PID/oom_score_adj" }),
    oom_killed: z.boolean().meta({ description: "Killed by the OOM killer" }),
  })
  .meta({ id: "Task" });

/** /proc/PID/oom_score_adj and oom_score. */
export const OomScore = z
  .object({
    oom_score_adj: z.int(),
    oom_score: z.int().meta({
      description: "/proc/PID/oom_score: the OOM killer's badness scaled to 0..1333 (0: never chosen)",
    }),
  })
  .meta({ id: "OomScore" });

export const TaskList = z.object({ tasks: z.array(TaskView) });
