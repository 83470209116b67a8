import type { Browser } from './browser.ts';
import { csrfOf } from './browser.ts';

/** A login page a browser has reached: the interaction it belongs to and its CSRF token. */
export interface LoginPage { uid: string; csrf: string; html: string }

/** Starts an authorization request and follows it to our login page. */
export async function openLoginPage(agent: Browser, start: string): Promise<LoginPage> {
  const auth = await agent.get(start);
  const location = auth.headers.location;
  const m = location ? /\/interaction\/([^/?]+)/.exec(location) : null;
  if (auth.status !== 303 || !m) throw new Error(`expected a redirect to the login page, got ${auth.status}: ${auth.text.slice(0, 300)}`);
  const uid = m[1]!;
  const page = await agent.get(`/interaction/${uid}`);
  if (!page.text.includes(`/interaction/${uid}/login`)) throw new Error(`not a login page:\n${page.text.slice(0, 500)}`);
  return { uid, csrf: csrfOf(page.text), html: page.text };
}

/** The message a page shows in its alert box (errors), or undefined. */
export function alertOf(html: string): string | undefined {
  return /role="alert">([^<]*)</.exec(html)?.[1];
}
