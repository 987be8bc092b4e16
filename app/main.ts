import { ConfigError, loadConfig } from './config.js';
import { startNode } from './node.js';

/** Process entry: configuration, the node, and the signals that drain it. */
async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(
        `${JSON.stringify({ level: 'fatal', code: err.code, problems: err.problems, msg: err.message })}\n`,
      );
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }

  // With --enable-source-maps (the Dockerfile's CMD), the first stack trace formatted parses the
  // bundle's source map, about 60 ms of blocked event loop (scripts/build.mjs): paid here, before the
  // node listens, rather than inside its first request.
  if (process.sourceMapsEnabled) void new Error('parses the source map now').stack;

  const node = await startNode(config).catch((err: NodeJS.ErrnoException) => {
    process.stderr.write(
      `${JSON.stringify({ level: 'fatal', code: err.code, msg: `could not start: ${err.message}` })}\n`,
    );
    process.exit(1);
  });

  let signalled = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (signalled) return;
    signalled = true;
    // The hard stop: whatever happens, exit within the grace period the platform allows.
    setTimeout(() => {
      node.logger.error('drain did not finish within SHUTDOWN_GRACE_SECONDS; exiting');
      process.exit(1);
    }, config.shutdownGraceSeconds * 1000).unref();
    node
      .drain(signal)
      .then(() => process.exit(0))
      .catch((err: Error) => {
        node.logger.error({ err }, 'drain failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  process.on('unhandledRejection', (reason) =>
    node.logger.error({ err: reason }, 'unhandled promise rejection'),
  );
}

void main();
