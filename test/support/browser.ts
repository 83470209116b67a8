import { createHash, randomBytes } from 'node:crypto';
import request from 'supertest';
import type TestAgent from 'supertest/lib/agent.js';

/**
 * A person's browser, reduced to what the flows need: a cookie jar (supertest's agent),
 * following redirects by hand, and filling in our login and consent forms.
 */
export type Browser = TestAgent;

export function browser(url: string): Browser {
  return request.agent(url);
}

export function pkce() {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  return { verifier, challenge };
}

export function csrfOf(html: string): string {
  const m = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!m) throw new Error(`no CSRF token in page:\n${html.slice(0, 500)}`);
  return m[1]!;
}

export interface AuthorizeParams {
  clientId: string;
  redirectUri?: string;
  scope?: string;
  challenge?: string;
  extra?: Record<string, string>;
}

export function authorizeUrl(p: AuthorizeParams): string {
  const q = new URLSearchParams({
    client_id: p.clientId,
    response_type: 'code',
    redirect_uri: p.redirectUri ?? 'http://127.0.0.1:9/cb',
    scope: p.scope ?? 'openid',
    state: randomBytes(8).toString('hex'),
    nonce: randomBytes(8).toString('hex'),
    ...(p.challenge ? { code_challenge: p.challenge, code_challenge_method: 'S256' } : {}),
    ...p.extra,
  });
  return `/auth?${q}`;
}

function localPath(location: string, base: string): string | undefined {
  const target = new URL(location, base);
  return target.origin === new URL(base).origin ? `${target.pathname}${target.search}` : undefined;
}

export interface FlowResult {
  /** Where the browser was finally sent outside CHUCS (the app's redirect URI). */
  redirect: URL;
  /** The pages the person saw on the way, by kind. */
  pages: string[];
}

export interface PasswordPerson { identifier: string; password: string; consent?: boolean }
/** Someone who signs in with a code sent to `target` (as typed), read from the outbox by `readCode`. */
export interface CodePerson { target: string; readCode: () => string; consent?: boolean }
export type Person = PasswordPerson | CodePerson;

/**
 * Follows a flow from `start` until the browser leaves CHUCS, signing in and consenting
 * when the pages ask.
 */
export async function runFlow(agent: Browser, base: string, start: string, person?: Person): Promise<FlowResult> {
  let path: string | undefined = start;
  const pages: string[] = [];
  for (let step = 0; step < 20 && path; step++) {
    let res = await agent.get(path);
    while (res.status === 200 && res.type === 'text/html' && path.startsWith('/interaction/')) {
      const uid = path.split('/')[2]!.split('?')[0];
      if (res.text.includes(`/interaction/${uid}/login`) || res.text.includes(`/interaction/${uid}/code/send`)) {
        if (!person) throw new Error('login page reached, but no person to sign in');
        pages.push('login');
        if ('password' in person) {
          res = await agent.post(`/interaction/${uid}/login`).type('form')
            .send({ _csrf: csrfOf(res.text), identifier: person.identifier, password: person.password });
        } else {
          const sent = await agent.post(`/interaction/${uid}/code/send`).type('form').send({ _csrf: csrfOf(res.text), target: person.target });
          if (sent.status !== 200) throw new Error(`sending a code failed with ${sent.status}: ${sent.text.slice(0, 300)}`);
          res = await agent.post(`/interaction/${uid}/code/verify`).type('form')
            .send({ _csrf: csrfOf(sent.text), target: person.target, code: person.readCode() });
        }
      } else if (res.text.includes(`/interaction/${uid}/confirm`)) {
        pages.push('consent');
        res = await agent.post(`/interaction/${uid}/${person?.consent === false ? 'abort' : 'confirm'}`).type('form').send({ _csrf: csrfOf(res.text) });
      } else {
        break;
      }
    }
    if (res.status < 300 || res.status >= 400) {
      throw new Error(`flow stopped at ${path} with ${res.status}: ${res.text.slice(0, 300)}`);
    }
    const location = res.headers.location!;
    path = localPath(location, base);
    if (!path) return { redirect: new URL(location), pages };
  }
  throw new Error('too many redirects');
}
