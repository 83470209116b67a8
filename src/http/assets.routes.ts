import { readFileSync } from 'node:fs';
import path from 'node:path';
import Router from '@koa/router';
import { VIEWS_DIR } from './views.ts';

/** The few static files the pages use, read once at start. */
const ASSETS: Record<string, string> = { 'chucs.css': 'text/css; charset=utf-8', 'favicon.svg': 'image/svg+xml' };

export function createAssetRoutes(): Router {
  const router = new Router({ prefix: '/assets' });
  const files = new Map(Object.entries(ASSETS).map(([name, type]) => [name, { type, body: readFileSync(path.join(VIEWS_DIR, 'assets', name)) }]));
  router.get('/:name', (ctx) => {
    const file = files.get(ctx.params.name!);
    if (!file) return;
    ctx.type = file.type;
    ctx.set('cache-control', 'public, max-age=3600');
    ctx.body = file.body;
  });
  return router;
}
