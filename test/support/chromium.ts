import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page, type Request } from 'playwright-core';
import { projectRoot } from '../../src/paths.ts';

/**
 * A real headless Chromium for the browser tests: Debian's `chromium` package driven by
 * playwright-core. Nothing here downloads a browser.
 */

const DEFAULT_CHROMIUM = '/usr/bin/chromium';

/** Root in a container: no user namespaces for the sandbox, a small /dev/shm, no GPU, no phoning home. */
const CONTAINER_ARGS = [
  '--no-sandbox',
  '--disable-dev-shm-usage',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
  '--metrics-recording-only',
  '--disable-default-apps',
];

/** A cheap Android phone and a laptop. */
export const VIEWPORTS = {
  phone: { width: 360, height: 740 },
  desktop: { width: 1280, height: 800 },
} as const;

export const SCREENSHOT_DIR = path.join(projectRoot, 'artifacts', 'screenshots');

/** Launches Chromium from `CHROMIUM_PATH` or /usr/bin/chromium; a missing browser fails the test. */
export async function launchChromium(): Promise<Browser> {
  const executablePath = process.env.CHROMIUM_PATH || DEFAULT_CHROMIUM;
  if (!existsSync(executablePath)) {
    throw new Error(
      `Chromium not found at ${executablePath}. The browser tests need it: ` +
      '`apt-get install -y chromium` (Debian), or set CHROMIUM_PATH to a Chromium executable.',
    );
  }
  return chromium.launch({ executablePath, headless: true, args: CONTAINER_ARGS });
}

function sameOrigin(a: string, b: string): boolean {
  try {
    return new URL(a).origin === new URL(b).origin;
  } catch {
    return false;
  }
}

/** A resource the page itself loaded (style sheet, script, image) from the origin it is on. */
function isOwnAsset(request: Request): boolean {
  if (request.isNavigationRequest()) return false;
  try {
    return sameOrigin(request.url(), request.frame().url());
  } catch {
    return false; // a service worker's request has no frame
  }
}

/**
 * Collects what a person would suffer from without seeing a message: script errors,
 * console errors (CSP violations land there) and assets that failed to load.
 */
export function watchPage(page: Page): { problems(): string[] } {
  const found: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') found.push(`console error: ${msg.text()} (at ${msg.location().url || page.url()})`);
  });
  page.on('pageerror', (err) => found.push(`uncaught exception: ${err.message}`));
  page.on('requestfailed', (request) => {
    // ERR_ABORTED: the browser dropped the load itself because the page moved on (a form
    // submitted while the favicon was loading), nothing a person misses. A missing asset
    // is a 404 (below); a refused or broken one another error.
    if (request.failure()?.errorText === 'net::ERR_ABORTED') return;
    if (isOwnAsset(request)) found.push(`request failed: ${request.method()} ${request.url()}: ${request.failure()?.errorText}`);
  });
  page.on('response', (response) => {
    if (response.status() >= 400 && isOwnAsset(response.request())) found.push(`HTTP ${response.status()}: ${response.url()}`);
  });
  return { problems: () => [...found] };
}

/** Saves a full-page PNG as artifacts/screenshots/<name>.png and returns its path. */
export async function saveScreenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
