import type Provider from 'oidc-provider';
import type Koa from 'koa';
import type { Logger } from 'pino';
import type { Config } from './config/schema.ts';
import { resolveSecrets } from './config/secrets.ts';
import { createLogger } from './logger.ts';
import { openDatabase, type Db } from './db/database.ts';
import { migrateLatest } from './db/migrate.ts';
import { createSecretBox } from './crypto/secret-box.ts';
import { createPasswordHasher } from './identity/passwords.ts';
import { createIdentityService, type IdentityService } from './identity/identity.service.ts';
import { createPasswordLogin } from './auth/password-login.ts';
import { createCodeLogin } from './auth/code-login.ts';
import { createCodes, type Codes } from './codes/codes.service.ts';
import { sweepCodes } from './codes/codes.repo.ts';
import { createMessaging, type Messaging } from './messaging/index.ts';
import { createClientsService, type ClientsService } from './clients/clients.service.ts';
import { createBrandsService, type BrandsService } from './brands/brands.service.ts';
import { loadOrCreateKeys, keysFileOf, type PrivateJwks } from './oidc/keys.ts';
import { openConfiguredDatabase } from './db/configured-database.ts';
import { createAdapterFactory, sweepExpired } from './oidc/adapter.ts';
import { createProvider, clientValidator } from './oidc/provider.ts';
import { createInteractionRoutes } from './oidc/interactions.routes.ts';
import { createViews } from './http/views.ts';
import { createCsrf } from './http/csrf.ts';
import { createHttpApp } from './http/app.ts';
import { createHealthRoutes } from './http/health.routes.ts';
import { createMetricsRoutes } from './http/metrics.routes.ts';
import { createMetrics, type Metrics } from './ops/metrics.ts';
import { createAssetRoutes } from './http/assets.routes.ts';
import { sweepThrottles, createGuessLimiter } from './auth/throttle.repo.ts';
import { legacyIdsOf } from './merge/legacy-ids.ts';
import { createAccountSettings } from './identity/account-settings.ts';
import { createAccountClient } from './account/account-client.ts';
import { createAccountRoutes } from './account/account.routes.ts';
import { createUpstreamProviders } from './federation/providers/index.ts';
import { createFederation, type Federation } from './federation/federation.service.ts';
import { createUpstreamRoutes } from './federation/upstream.routes.ts';
import { createLogoutNotifier } from './oidc/backchannel.ts';
import { createDevices, type Devices } from './devices/devices.service.ts';
import { createDeviceRoutes } from './devices/device.routes.ts';
import { createEventsWorker, type EventsWorker } from './events/webhooks.ts';
import { sweepDeliveredEvents } from './events/deliveries.repo.ts';
import { createAdminRoutes } from './admin/admin.routes.ts';
import { createAdminAuth } from './admin/admin-auth.ts';

export interface ChucsOptions {
  logger?: Logger;
  /** An open database (tests); otherwise opened from the config. */
  db?: Db;
  /** Signing keys (tests); otherwise read from, or created in, the keys file. */
  jwks?: PrivateJwks;
  clock?: () => Date;
}

export interface Chucs {
  config: Config;
  logger: Logger;
  db: Db;
  identity: IdentityService;
  clients: ClientsService;
  brands: BrandsService;
  codes: Codes;
  federation: Federation;
  devices: Devices;
  /** Where codes go out; with the development providers, tests read them here. */
  messaging: Messaging;
  provider: Provider;
  app: Koa;
  /** Starts periodic sweeping of expired tokens and throttles. */
  startSweeper(): void;
  /** Delivery of outbox events to the configured webhooks (`events.onDelivery` observes it). */
  events: EventsWorker;
  /** Starts delivering events to the webhooks; close() stops it. */
  startEvents(): void;
  /** Prometheus metrics (served at /metrics). */
  metrics: Metrics;
  close(): Promise<void>;
}

/** The composition root: config -> db -> services -> provider -> koa. */
export async function createChucs(config: Config, opts: ChucsOptions = {}): Promise<Chucs> {
  const logger = opts.logger ?? createLogger(config.logLevel);
  const clock = opts.clock ?? (() => new Date());
  const secrets = resolveSecrets(config);
  const opened = opts.db ? { db: opts.db, release: () => {} } : await openConfiguredDatabase(config, { serving: true, logger });
  const { db } = opened;
  await migrateLatest(db);
  const metrics = createMetrics({ db });
  const jwks = opts.jwks ?? await loadOrCreateKeys(keysFileOf(config), config.env !== 'production');

  const hasher = createPasswordHasher(config.argon2);
  const identity = createIdentityService({ db, hasher });
  let provider: Provider | undefined;
  const secretBox = createSecretBox(secrets.encryptionKey);
  const clients = createClientsService({
    db,
    secretBox,
    validate: (metadata) => clientValidator(provider!)(metadata),
    cacheSeconds: config.clientCacheSeconds,
  });
  const brands = createBrandsService({ db, cacheSeconds: config.clientCacheSeconds });
  await brands.brandFor(); // read once, so the first pages are themed without waiting
  const views = createViews({ cache: config.env === 'production', brands: (id) => brands.cachedBrandFor(id) });
  const devices = createDevices({ db, clock });
  provider = createProvider({
    config, jwks, cookieKeys: secrets.cookieKeys, adapter: createAdapterFactory({ db, clients }), identity, views, logger,
    devices, legacyIdsOf: (accountId, source) => legacyIdsOf(db, accountId, source),
    userCodeGuesses: createGuessLimiter({ db, prefix: 'device:user_code:ip', rule: config.throttle.userCode, clock }),
    onUserCodeThrottled: () => metrics.userCodeThrottled(),
  });
  const passwordLogin = createPasswordLogin({ db, identity, hasher, rules: config.throttle, failureFloorMs: config.passwordFailureFloorMs, clock, onSignIn: metrics.signIn });
  const messaging = createMessaging(config.messaging, logger);
  const codes = createCodes({ db, senders: messaging, settings: config.codes, secret: secrets.encryptionKey, clock, logger, onSend: metrics.codeSend });
  const codeLogin = createCodeLogin({ db, identity, codes, onSignIn: metrics.signIn });
  const csrf = createCsrf(secrets.cookieKeys);
  const federation = createFederation({
    db, providers: createUpstreamProviders(config.upstreams, { logger }), settings: config.upstreams, identity, secretBox, issuer: config.issuer, clock,
  });
  const accountClient = createAccountClient({
    issuer: config.issuer, providerUrl: config.accountCenter.providerUrl, encryptionKey: secrets.encryptionKey, jwks, clients,
  });
  await accountClient.register();
  const notifyLogout = createLogoutNotifier({ db, provider, logger });
  const app = createHttpApp({
    config, logger, views, provider, cookieKeys: secrets.cookieKeys, metrics,
    routers: [
      createAdminRoutes({ db, clients, brands, notifyLogout, requireScope: createAdminAuth({ issuer: config.issuer, jwks, clientMetadata: (id) => clients.providerMetadata(id) }), issuer: config.issuer }),
      createHealthRoutes({ db }),
      createMetricsRoutes({ metrics, settings: config.metrics, behindProxy: config.trustProxy }),
      createAssetRoutes({ brands }),
      createInteractionRoutes({ provider, passwordLogin, codeLogin, federation, identity, brands, db, legal: config.legal, views, csrf, onSignIn: metrics.signIn }),
      createUpstreamRoutes({ federation, views, logger }),
      createDeviceRoutes({ issuer: config.issuer, views }),
      createAccountRoutes({
        db, config, identity, settings: createAccountSettings({ db, hasher }), clients, codes, federation, notifyLogout, client: accountClient, views, csrf, clock,
      }),
    ],
  });

  const events = createEventsWorker({ db, webhooks: config.webhooks, settings: config.events, jwks, logger });
  events.onDelivery((outcome, subscriber) => metrics.webhookDelivery(outcome, subscriber));
  let sweeper: NodeJS.Timeout | undefined;
  return {
    config, logger, db, identity, clients, brands, codes, federation, devices, messaging, provider, app,
    startSweeper() {
      const sweep = async () => {
        try {
          const tokens = await sweepExpired(db);
          const throttles = await sweepThrottles(db, new Date(clock().getTime() - 2 * 86400_000));
          const oneTimeCodes = await sweepCodes(db, clock());
          const upstreamTrips = await federation.sweep();
          const deliveredEvents = await sweepDeliveredEvents(db, new Date(clock().getTime() - config.events.retentionDays * 86400_000));
          if (tokens + throttles + oneTimeCodes + upstreamTrips + deliveredEvents > 0) {
            logger.info({ tokens, throttles, oneTimeCodes, upstreamTrips, deliveredEvents }, 'swept expired rows');
          }
        } catch (err) {
          logger.warn({ err }, 'sweep failed; will retry');
        }
      };
      sweeper = setInterval(sweep, config.sweepIntervalSeconds * 1000);
      sweeper.unref();
      void sweep();
    },
    events,
    metrics,
    startEvents() {
      events.start();
    },
    async close() {
      clearInterval(sweeper);
      await events.stop();
      if (!opts.db) {
        await db.destroy();
        opened.release();
      }
    },
  };
}
