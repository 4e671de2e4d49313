/**
 * The query parameters of the event streams: they set the first subscription (the same filter the
 * subscribe op sets in-band). Lists are comma-separated.
 */
import { z } from "zod";
import { EVENT_TYPES } from "../../../events/wire.js";

const list = <T extends z.ZodType<unknown, string>>(item: T, what: string) =>
  z
    .string()
    .transform((s) => s.split(",").map((x) => x.trim()))
    .pipe(z.array(item).min(1))
    .describe(`Comma-separated ${what}`);

const intText = z
  .string()
  .regex(/^-?[0-9]{1,15}$/, "expected an integer")
  .transform(Number);
const seqText = z
  .string()
  .regex(/^[0-9]{1,15}$/, "expected a seq number (0 or more)")
  .transform(Number);

const filter = {
  types: list(
    z.enum(EVENT_TYPES as [string, ...string[]]),
    `event types (${EVENT_TYPES.join(", ")})`,
  ).optional(),
  pid: list(intText, "pids").optional(),
  mm: list(intText, "mm_struct ids").optional(),
};

export const MachineStreamQuery = z.strictObject({
  ...filter,
  since: seqText
    .optional()
    .describe("Resume after this seq: replay the ring after it (a gap first for what it lost)"),
});

export const AllStreamQuery = z.strictObject({
  ...filter,
  machine: list(z.string().min(1), "machine ids").optional(),
  since: list(
    z
      .string()
      .regex(/^[^:]+:[0-9]{1,15}$/, "expected machine:seq")
      .transform((s) => {
        const i = s.lastIndexOf(":");
        return [s.slice(0, i), Number(s.slice(i + 1))] as const;
      }),
    "machine:seq pairs",
  )
    .transform((pairs) => Object.fromEntries(pairs) as Record<string, number>)
    .optional(),
});
