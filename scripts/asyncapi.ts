/**
 * npm run asyncapi: write asyncapi.yaml (the event streams) from the event catalogue's zod schemas.
 * `--check` exits 1 when the committed file differs.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { stringify } from "yaml";
import { asyncApiDocument } from "../src/http/routes/events/asyncapi.js";

export function generateAsyncApi(): string {
  return stringify(asyncApiDocument(), { lineWidth: 0, aliasDuplicateObjects: false });
}

const FILE = new URL("../asyncapi.yaml", import.meta.url);

if (import.meta.url === `file://${process.argv[1]}`) {
  const yaml = generateAsyncApi();
  if (process.argv.includes("--check")) {
    const same = readFileSync(FILE, "utf8") === yaml;
    process.stdout.write(
      same ? "asyncapi.yaml is up to date\n" : "asyncapi.yaml differs: run npm run asyncapi\n",
    );
    process.exit(same ? 0 : 1);
  }
  writeFileSync(FILE, yaml);
  process.stdout.write(`wrote asyncapi.yaml (${yaml.length} bytes)\n`);
}
