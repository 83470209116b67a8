import { createServer } from 'node:http';
import { loadConfig, assertServable, ConfigError, describeConfig } from './config/load.ts';
import { createLogger } from './logger.ts';
import { createChucs } from './app.ts';
import { isDatabaseUnavailable } from './db/unavailable.ts';

/** Time allowed for requests in flight to finish on SIGTERM before the process exits. */
const SHUTDOWN_GRACE_MS = 10_000;
/** How often, while draining, connections whose requests have finished are closed. */
const DRAIN_POLL_MS = 100;

async function main() {
  let config;
  try {
    config = loadConfig();
    assertServable(config);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`chucs: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  const chucs = await createChucs(config, { logger });
  chucs.startSweeper();
  chucs.startEvents();

  const server = createServer(chucs.app.callback());
  server.requestTimeout = config.requestTimeoutMs * 3;
  server.headersTimeout = 20_000;
  server.keepAliveTimeout = 65_000;
  server.listen(config.port, () => {
    const db = config.databaseUrl ? 'PostgreSQL' : `embedded PGlite in ${config.dataDir}`;
    logger.info({ config: describeConfig(config) }, 'configuration');
    logger.info(`CHUCS is up: issuer ${config.issuer} (discovery: ${config.issuer}/.well-known/openid-configuration), database: ${db}`);
    logger.info('register an app: npm run chucs -- clients add --name "My app" --redirect-uri http://localhost:8080/callback');
  });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: draining requests');
    const force = setTimeout(() => { logger.warn('grace period over: closing'); server.closeAllConnections(); }, SHUTDOWN_GRACE_MS);
    force.unref();
    server.close(async () => {
      await chucs.close();
      logger.info('stopped');
      process.exit(0);
    });
    // A keep-alive connection whose last request just finished is closed at once, rather
    // than held open by the client (or a proxy) until the grace period ends.
    server.closeIdleConnections();
    setInterval(() => server.closeIdleConnections(), DRAIN_POLL_MS).unref();
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((err) => {
  if (isDatabaseUnavailable(err)) console.error('chucs: failed to start: cannot reach the database (DATABASE_URL):', err instanceof Error ? err.message : err);
  else console.error('chucs: failed to start:', err instanceof Error ? err.message : err);
  process.exit(1);
});
