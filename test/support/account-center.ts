import type request from 'supertest';
import { csrfOf, type Browser, type CodePerson, type PasswordPerson } from './browser.ts';

/** Where a browser stopped: the last page it was shown and the path of that page. */
export interface Stop { res: request.Response; path: string }

/**
 * Follows redirects within CHUCS from `path`, signing in on the login page when it shows,
 * until a page that is not a redirect (the account center's pages, an error) or a redirect
 * that leaves CHUCS.
 */
export async function follow(agent: Browser, base: string, path: string, person?: PasswordPerson | CodePerson): Promise<Stop> {
  let res = await agent.get(path);
  for (let step = 0; step < 20; step++) {
    if (res.status >= 300 && res.status < 400) {
      const target = new URL(res.headers.location!, base);
      if (target.origin !== new URL(base).origin) return { res, path };
      path = `${target.pathname}${target.search}`;
      res = await agent.get(path);
      continue;
    }
    const login = /action="(\/interaction\/[^/"]+)\/login"/.exec(res.text);
    if (res.status !== 200 || !login || !person) return { res, path };
    const csrf = csrfOf(res.text);
    if ('password' in person) {
      res = await agent.post(`${login[1]}/login`).type('form').send({ _csrf: csrf, identifier: person.identifier, password: person.password });
    } else {
      const sent = await agent.post(`${login[1]}/code/send`).type('form').send({ _csrf: csrf, target: person.target });
      if (sent.status !== 200) throw new Error(`sending a code failed with ${sent.status}: ${sent.text.slice(0, 300)}`);
      res = await agent.post(`${login[1]}/code/verify`).type('form').send({ _csrf: csrf, target: person.target, code: person.readCode() });
    }
  }
  throw new Error('too many redirects');
}

/** Submits a form of the page as the browser would (the page's CSRF token included). */
export async function submit(agent: Browser, page: request.Response, action: string, fields: Record<string, string> = {}) {
  return agent.post(action).type('form').send({ _csrf: csrfOf(page.text), ...fields });
}
