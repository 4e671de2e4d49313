/**
 * npm run openapi: write openapi.yaml from the routes' zod schemas (the default configuration;
 * nothing in the document depends on it). `--check` exits 1 when the committed file differs.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { buildApp } from "../src/app.js";
import { makeConfig } from "../src/config.js";
import { openapiYaml } from "../src/http/openapi.js";

export async function generateOpenApi(): Promise<string> {
  const app = await buildApp(makeConfig(), { logger: false });
  await app.ready();
  const yaml = openapiYaml(app);
  await app.close();
  return yaml;
}

const FILE = new URL("../openapi.yaml", import.meta.url);

if (import.meta.url === `file://${process.argv[1]}`) {
  const yaml = await generateOpenApi();
  if (process.argv.includes("--check")) {
    const same = readFileSync(FILE, "utf8") === yaml;
    process.stdout.write(
      same ? "openapi.yaml is up to date\n" : "openapi.yaml differs: run npm run openapi\n",
    );
    process.exit(same ? 0 : 1);
  }
  writeFileSync(FILE, yaml);
  process.stdout.write(`wrote openapi.yaml (${yaml.length} bytes)\n`);
}
