/**
 * Tasks: spawn (a fresh process: an empty mm, then execve of its image), list, get, kill (SIGKILL:
 * the whole thread group exits and becomes a zombie until its parent reaps it), and the OOM
 * killer's view of a task (oom_score, oom_score_adj).
 */
import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { ERRNO_MESSAGES, errnoName } from "../../../core/abi/errno.js";
import type { Machine } from "../../../core/machine.js";
import { oom_score, set_oom_score_adj } from "../../../core/mem/oom_kill.js";
import { do_execve } from "../../../core/task/exec.js";
import { do_exit, do_group_exit, SIGKILL } from "../../../core/task/exit.js";
import {
  comm_of,
  RLIM_INFINITY,
  type Rlimits,
  SpawnNoMemoryError,
  type task_struct,
} from "../../../core/task/task.js";
import { ApiError, overLimit } from "../../errors.js";
import { errors, MachineParams, TaskParams } from "../../schemas/common.js";
import { OomScore, OomScoreAdj, SpawnTask, TaskList, TaskView } from "./schemas.js";

export function taskView(t: task_struct): z.infer<typeof TaskView> {
  return {
    pid: t.pid,
    tgid: t.tgid,
    ppid: t.ppid,
    comm: t.comm,
    state: t.state,
    mm: t.mm ? t.mm.id : null,
    min_flt: t.min_flt,
    maj_flt: t.maj_flt,
    exit_code: t.exit_code,
    oom_score_adj: t.oom_score_adj,
    oom_killed: t.oom_victim,
  };
}

const tags = ["tasks"];

export default async function taskRoutes(base: FastifyInstance): Promise<void> {
  const app = base.withTypeProvider<ZodTypeProvider>();

  app.post(
    "/machines/:mid/tasks",
    {
      schema: {
        tags,
        summary: 'Spawn a task: an empty address space, then execve of the image unless it is "empty"',
        params: MachineParams,
        body: SpawnTask.optional(),
        response: { 201: TaskView, ...errors(400, 404, 409, 429) },
      },
    },
    async (req, reply) => {
      const e = app.machines.get(req.params.mid);
      const m = e.machine;
      const body = req.body ?? {};
      const max = app.machines.limits.tasksPerMachine;
      if (m.tasks.size >= max)
        throw overLimit("LIMIT_TASKS", `at most ${max} tasks per machine (MAX_TASKS_PER_MACHINE)`);
      const rlimits: Partial<Rlimits> = {};
      for (const [k, v] of Object.entries(body.rlimits ?? {}))
        rlimits[k as keyof Rlimits] = v === "unlimited" ? RLIM_INFINITY : v;
      if (rlimits.DATA !== undefined) rlimits.DATA_max = rlimits.DATA;
      let task: task_struct;
      try {
        task = m.spawnEmpty({ comm: body.comm ?? "task", rlimits, caps: body.caps ?? {} });
      } catch (err) {
        if (err instanceof SpawnNoMemoryError) throw new ApiError(409, "NO_MEMORY", err.message);
        throw err;
      }
      if (body.oom_score_adj !== undefined) set_oom_score_adj(m, task, body.oom_score_adj);
      if (body.image !== "empty") {
        const r = do_execve(m, task, { image: body.image, argv: body.argv, envp: body.envp });
        if (!r.ok) {
          // Killed by the OOM killer while its image was loaded: it has exited already.
          if (task.state === "running") do_exit(m, task, 127);
          throw new ApiError(
            400,
            "EXEC_FAILED",
            `execve failed: ${errnoName(r.errno)} (${ERRNO_MESSAGES[r.errno] ?? "error"})`,
          );
        }
      }
      if (body.comm) task.comm = comm_of(body.comm);
      req.log.info({ machine: e.id, pid: task.pid }, "task spawned");
      return reply.code(201).send(taskView(task));
    },
  );

  app.get(
    "/machines/:mid/tasks",
    {
      schema: {
        tags,
        summary: "List tasks",
        params: MachineParams,
        response: { 200: TaskList, ...errors(404) },
      },
    },
    async (req) => ({ tasks: [...app.machines.get(req.params.mid).machine.tasks.values()].map(taskView) }),
  );

  app.get(
    "/machines/:mid/tasks/:pid",
    { schema: { tags, summary: "A task", params: TaskParams, response: { 200: TaskView, ...errors(404) } } },
    async (req) => taskView(app.machines.get(req.params.mid).task(req.params.pid)),
  );

  const oomView = (m: Machine, t: task_struct) => ({
    oom_score_adj: t.oom_score_adj,
    oom_score: oom_score(m, t),
  });

  app.get(
    "/machines/:mid/tasks/:pid/oom_score",
    {
      schema: {
        tags,
        summary: "/proc/PID/oom_score and oom_score_adj",
        params: TaskParams,
        response: { 200: OomScore, ...errors(404) },
      },
    },
    async (req) => {
      const e = app.machines.get(req.params.mid);
      return oomView(e.machine, e.task(req.params.pid));
    },
  );

  app.put(
    "/machines/:mid/tasks/:pid/oom_score_adj",
    {
      schema: {
        tags,
        summary:
          "Write /proc/PID/oom_score_adj: the task's thread group and the processes sharing its mm get it",
        params: TaskParams,
        body: z.strictObject({ oom_score_adj: OomScoreAdj }),
        response: { 200: OomScore, ...errors(400, 404) },
      },
    },
    async (req) => {
      const e = app.machines.get(req.params.mid);
      const t = e.task(req.params.pid);
      set_oom_score_adj(e.machine, t, req.body.oom_score_adj);
      return oomView(e.machine, t);
    },
  );

  app.delete(
    "/machines/:mid/tasks/:pid",
    {
      schema: {
        tags,
        summary: "SIGKILL: the task's thread group exits (a zombie until its parent reaps it, or gone)",
        params: TaskParams,
        response: { 200: TaskView, ...errors(404) },
      },
    },
    async (req) => {
      const e = app.machines.get(req.params.mid);
      const t = e.task(req.params.pid);
      do_group_exit(e.machine, t, 0, SIGKILL);
      req.log.info({ machine: e.id, pid: t.pid }, "task killed");
      return taskView(t);
    },
  );
}
