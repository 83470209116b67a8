import { readFileSync } from 'node:fs';
import path from 'node:path';
import Router from '@koa/router';
import { VIEWS_DIR } from './views.ts';
import { brandStylesheet, type BrandsService } from '../brands/brands.service.ts';

/** The few static files the pages use, read once at start. */
const ASSETS: Record<string, string> = { 'chucs.css': 'text/css; charset=utf-8', 'favicon.svg': 'image/svg+xml' };

/** Pages link a brand's style sheet with a version (views.ts), so browsers may keep it a while. */
const BRAND_CSS_MAX_AGE_S = 300;

export function createAssetRoutes({ brands }: { brands: BrandsService }): Router {
  const router = new Router({ prefix: '/assets' });
  const files = new Map(Object.entries(ASSETS).map(([name, type]) => [name, { type, body: readFileSync(path.join(VIEWS_DIR, 'assets', name)) }]));
  router.get('/:name', (ctx) => {
    const file = files.get(ctx.params.name!);
    if (!file) return;
    ctx.type = file.type;
    ctx.set('cache-control', 'public, max-age=3600');
    ctx.body = file.body;
  });
  // A brand's colours as CSS variables (an unknown brand gets the default's): the pages'
  // CSP allows style sheets from 'self' only, never inline styles.
  router.get('/brand/:file', async (ctx) => {
    const m = /^([a-z0-9][a-z0-9-]{0,31})\.css$/.exec(ctx.params.file!);
    if (!m) return;
    ctx.type = 'text/css; charset=utf-8';
    ctx.set('cache-control', `public, max-age=${BRAND_CSS_MAX_AGE_S}`);
    ctx.body = brandStylesheet(await brands.brandFor(m[1]));
  });
  return router;
}
