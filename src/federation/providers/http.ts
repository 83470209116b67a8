import type { Logger } from 'pino';
import type { z } from 'zod';
import type { UpstreamSettings } from '../../config/schema.ts';
import { AppError } from '../../errors.ts';
import type { AuthorizationRequest, CallbackParams, UpstreamKind } from '../upstream.ts';

/** What every provider consumes besides its settings. */
export interface ProviderDeps {
  /** Defaults to the global fetch. */
  fetch: typeof fetch;
  logger: Logger;
}

/** A provider's settings once its secret is known (from the file or CHUCS_UPSTREAM_<ID>_SECRET). */
export type SettingsOf<K extends UpstreamKind> = Extract<UpstreamSettings, { kind: K }> & { clientSecret: string };

/** Upstream texts quoted in a detail are cut short: enough to diagnose, not a page of HTML. */
const QUOTE_MAX_CHARS = 160;

/**
 * One provider's way to the network. Every request has the configured timeout, and every
 * failure becomes `federation.upstream_failed` whose detail names the provider and the step.
 * Details and log lines never hold a URL's query (WeChat and QQ put the secret there) and pass
 * through `scrub`, which blanks the secret and whatever the caller marks sensitive (codes,
 * tokens), so even an upstream echoing our request into its error text leaks nothing.
 */
export interface UpstreamHttp {
  /** fetch with the timeout, for openid-client's customFetch; failures become AppErrors. */
  fetch: typeof fetch;
  /** GETs JSON and checks it: an error object in it (`errorOf`) or a wrong shape fails. */
  getJson<T>(step: string, url: URL, schema: z.ZodType<T>, opts?: JsonOptions): Promise<T>;
  /** POSTs a form and reads the JSON answer as getJson does. */
  postForm<T>(step: string, url: URL, form: URLSearchParams, schema: z.ZodType<T>, opts?: JsonOptions): Promise<T>;
  /** Reads a response already fetched (openid-client's fetchProtectedResource). */
  readJson<T>(step: string, response: Response, schema: z.ZodType<T>, opts?: JsonOptions): Promise<T>;
  /** An upstream_failed error, logged; `what` is scrubbed. */
  failed(what: string, sensitive?: readonly string[]): AppError;
}

export interface JsonOptions {
  /** Values to blank if the upstream echoes them (the code, an access token). */
  sensitive?: readonly string[];
  /** The upstream's error inside a 2xx answer (WeChat's errcode, QQ's ret), as text. */
  errorOf?: (json: Record<string, unknown>) => string | undefined;
  headers?: Record<string, string>;
}

export function upstreamHttp(settings: { id: string; timeoutMs: number; clientSecret: string }, deps: ProviderDeps): UpstreamHttp {
  const log = deps.logger.child({ upstream: settings.id });
  const scrub = (text: string, sensitive: readonly string[] = []) =>
    [settings.clientSecret, ...sensitive].filter((s) => s.length >= 4).reduce((t, s) => t.replaceAll(s, '[redacted]'), text);

  function failed(what: string, sensitive: readonly string[] = []): AppError {
    const detail = scrub(`upstream ${settings.id}: ${what}`, sensitive);
    log.warn({ reason: detail }, 'upstream sign-in failed');
    return new AppError('federation.upstream_failed', { detail });
  }

  const timedFetch: typeof fetch = async (input, init) => {
    const signal = init?.signal ? AbortSignal.any([init.signal, AbortSignal.timeout(settings.timeoutMs)]) : AbortSignal.timeout(settings.timeoutMs);
    try {
      return await deps.fetch(input, { ...init, signal });
    } catch (err) {
      throw failed(`${where(input)}: ${describeFailure(err, settings.timeoutMs)}`);
    }
  };

  async function readJson<T>(step: string, response: Response, schema: z.ZodType<T>, opts: JsonOptions = {}): Promise<T> {
    const fail = (what: string) => failed(`${step}: ${what}`, opts.sensitive);
    let text: string;
    try {
      text = await response.text();
    } catch (err) {
      throw fail(describeFailure(err, settings.timeoutMs));
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw fail(`status ${response.status}, answer is not JSON: ${quote(text)}`);
    }
    const object = typeof json === 'object' && json !== null && !Array.isArray(json) ? json as Record<string, unknown> : undefined;
    const upstreamError = object && opts.errorOf?.(object);
    if (upstreamError) throw fail(`status ${response.status}, error ${quote(upstreamError)}`);
    if (!response.ok) throw fail(`status ${response.status}: ${quote(text)}`);
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      // Paths only: the values may be tokens.
      throw fail(`unexpected answer (${parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')})`);
    }
    return parsed.data;
  }

  return {
    fetch: timedFetch,
    readJson,
    failed,
    async getJson(step, url, schema, opts = {}) {
      const response = await timedFetch(url, { headers: { accept: 'application/json', ...opts.headers } });
      return readJson(step, response, schema, opts);
    },
    async postForm(step, url, form, schema, opts = {}) {
      const response = await timedFetch(url, { method: 'POST', body: form, headers: { accept: 'application/json', ...opts.headers } });
      return readJson(step, response, schema, opts);
    },
  };
}

/**
 * The code of a callback whose `state` is ours. `error=access_denied` (QQ, Weibo, OIDC) is the
 * person saying no; WeChat says no by leaving out the code, so it passes `missingCodeIsRefusal`.
 */
export function codeOfCallback(http: UpstreamHttp, callback: CallbackParams, request: AuthorizationRequest, missingCodeIsRefusal = false): string {
  refusedAt(callback);
  const error = callback.get('error');
  if (callback.get('state') !== request.state) throw http.failed('callback state does not match the request');
  if (error) throw http.failed(`callback error ${quote(error)}`);
  const code = callback.get('code');
  if (!code) {
    if (missingCodeIsRefusal) throw new AppError('federation.upstream_denied', { detail: 'the upstream returned without a code' });
    throw http.failed('callback without a code');
  }
  return code;
}

/** `error=access_denied` is the person saying no, not the upstream failing. */
export function refusedAt(callback: CallbackParams): void {
  if (callback.get('error') === 'access_denied') throw new AppError('federation.upstream_denied', { detail: 'the person refused at the upstream' });
}

/** Seconds since the epoch, as a JWT's `exp`. */
export function expiresAt(expiresIn: number | undefined): number | undefined {
  return expiresIn === undefined ? undefined : Math.floor(Date.now() / 1000) + expiresIn;
}

/** The entries that have a value (claims are stored as JSON). */
export function compact(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined && v !== null && v !== ''));
}

/** Plain http only to this machine (tests); anything else must be https. */
export function isLoopback(url: string | URL): boolean {
  const { protocol, hostname } = new URL(url);
  return protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(hostname);
}

/** The scheme, host and path of a request, never its query (which may hold the secret). */
function where(input: string | URL | Request): string {
  const url = new URL(input instanceof Request ? input.url : input);
  return `${url.origin}${url.pathname}`;
}

function quote(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return JSON.stringify(flat.length > QUOTE_MAX_CHARS ? `${flat.slice(0, QUOTE_MAX_CHARS)}…` : flat);
}

/**
 * Names the failure by its kind and system code, never by its message. Duck-typed: the error
 * may come from another realm (undici's DOMException, jest's sandbox).
 */
function describeFailure(err: unknown, timeoutMs: number): string {
  const { name, cause } = (err ?? {}) as { name?: unknown; cause?: { code?: unknown } };
  if (name === 'TimeoutError') return `timeout after ${timeoutMs} ms`;
  return typeof cause?.code === 'string' ? `network error ${cause.code}` : 'network error';
}
