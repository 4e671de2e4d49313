/**
 * The process entry point, and the only module that reads process.env and listens: configuration
 * (exit 1 with the reasons when it is invalid), the app, graceful shutdown on SIGTERM/SIGINT (stop
 * accepting, /readyz turns 503, in-flight requests finish, sockets close; a second signal or 10 s
 * forces the exit).
 */
import closeWithGrace from "close-with-grace";
import { buildApp } from "./app.js";
import { ConfigError, loadConfig } from "./config.js";

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(process.env);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`mmsim: ${e.message}\n`);
      process.exit(1);
    }
    throw e;
  }
  const app = await buildApp(config);
  closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
    app.draining = true;
    if (err) app.log.error({ err }, "shutting down after an error");
    else app.log.info({ signal }, "shutting down");
    await app.close();
  });
  await app.listen({ port: config.port, host: config.host });
}

main().catch((err) => {
  process.stderr.write(`mmsim: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
