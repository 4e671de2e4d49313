/**
 * What the scripts that generate a committed file share: write it, or with `--check` exit 1 when
 * the committed copy differs (so a schema change without a regenerated document is caught).
 */
import { readFileSync, writeFileSync } from "node:fs";

export function writeOrCheck(name: string, script: string, text: string): void {
  const file = new URL(`../${name}`, import.meta.url);
  if (process.argv.includes("--check")) {
    const same = readFileSync(file, "utf8") === text;
    process.stdout.write(same ? `${name} is up to date\n` : `${name} differs: run npm run ${script}\n`);
    process.exit(same ? 0 : 1);
  }
  writeFileSync(file, text);
  process.stdout.write(`wrote ${name} (${text.length} bytes)\n`);
}
