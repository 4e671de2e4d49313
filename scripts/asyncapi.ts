/**
 * npm run asyncapi: write asyncapi.yaml (the event streams) from the event catalogue's zod schemas.
 * `--check` exits 1 when the committed file differs.
 */
import { stringify } from "yaml";
import { asyncApiDocument } from "../src/http/routes/events/asyncapi.js";
import { writeOrCheck } from "./generated_file.js";

export function generateAsyncApi(): string {
  return stringify(asyncApiDocument(), { lineWidth: 0, aliasDuplicateObjects: false });
}

if (import.meta.url === `file://${process.argv[1]}`)
  writeOrCheck("asyncapi.yaml", "asyncapi", generateAsyncApi());
