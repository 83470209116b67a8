import Koa from 'koa';
import mount from 'koa-mount';
import helmet from 'koa-helmet';
import type Router from '@koa/router';
import type Provider from 'oidc-provider';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import type { Views } from './views.ts';
import { requestLogging, errorPages, requestDeadline, wellFormedRequest } from './middleware.ts';
import { requestMetrics } from './metrics.routes.ts';
import type { Metrics } from '../ops/metrics.ts';

export interface HttpAppDeps {
  config: Config;
  logger: Logger;
  views: Views;
  provider: Provider;
  cookieKeys: string[];
  /** Our own routes, tried before oidc-provider. */
  routers: Router[];
  metrics?: Metrics;
}

export function createHttpApp({ config, logger, views, provider, cookieKeys, routers, metrics }: HttpAppDeps): Koa {
  // Behind proxies, the client address is the entry the nearest proxy appended: a client can
  // put anything in front of it (per-address caps and throttles count the real address).
  const app = new Koa({ proxy: config.trustProxy, maxIpsCount: config.proxyHops });
  // Must equal the provider's cookie keys, or interaction cookies do not verify.
  app.keys = cookieKeys;
  app.silent = true;

  app.use(requestLogging(logger, config.trustProxy));
  if (metrics) app.use(requestMetrics(metrics));
  app.use(helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:', 'https:'],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        frameAncestors: ["'none'"],
        // No form-action: browsers apply it to the redirects that follow a login form,
        // which end at each app's own redirect URI.
      },
    },
    strictTransportSecurity: config.issuer.startsWith('https://') ? { maxAge: 31536000 } : false,
    crossOriginResourcePolicy: false, // JWKS, discovery and userinfo are read across origins
  }));
  app.use(errorPages(logger, views));
  app.use(wellFormedRequest());
  app.use(requestDeadline(config.requestTimeoutMs, logger));
  for (const router of routers) app.use(router.routes()).use(router.allowedMethods());
  app.use(mount(provider as unknown as Koa));
  return app;
}
