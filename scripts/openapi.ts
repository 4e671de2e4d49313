/**
 * npm run openapi: write openapi.yaml from the routes' zod schemas (the default configuration;
 * nothing in the document depends on it). `--check` exits 1 when the committed file differs.
 */
import { buildApp } from "../src/app.js";
import { makeConfig } from "../src/config.js";
import { openapiYaml } from "../src/http/openapi.js";
import { writeOrCheck } from "./generated_file.js";

export async function generateOpenApi(): Promise<string> {
  const app = await buildApp(makeConfig(), { logger: false });
  await app.ready();
  const yaml = openapiYaml(app);
  await app.close();
  return yaml;
}

if (import.meta.url === `file://${process.argv[1]}`)
  writeOrCheck("openapi.yaml", "openapi", await generateOpenApi());
