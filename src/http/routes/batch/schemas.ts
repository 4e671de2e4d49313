import { z } from "zod";
import { CALLS } from "../../calls.js";
import { ErrorBody } from "../../schemas/common.js";

const variants = [...CALLS.values()].map((s) =>
  z.strictObject({
    pid: z.int().positive(),
    call: z.literal(s.name),
    args: s.args.schema.optional(),
  }),
);

export const BatchCall = z
  .discriminatedUnion("call", variants as unknown as [z.ZodObject, ...z.ZodObject[]])
  .meta({
    id: "BatchCall",
    description: "One call: the task, the call (its route after /tasks/{pid}/), its arguments",
  });

export const BatchRequest = z.strictObject({ calls: z.array(BatchCall) }).meta({ id: "BatchRequest" });

export const BatchResult = z
  .union([...[...CALLS.values()].map((s) => s.result), ErrorBody])
  .meta({ description: "What the call's single route would return: its reply, or its error body in place" });

export const BatchResponse = z.object({ results: z.array(BatchResult) }).meta({ id: "BatchResponse" });
