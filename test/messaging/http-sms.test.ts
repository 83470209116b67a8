import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createHttpSmsSender, type HttpSmsSettings } from '../../src/messaging/http-sms.ts';
import type { CodeMessage } from '../../src/messaging/message.ts';
import { createLogger } from '../../src/logger.ts';
import { AppError } from '../../src/errors.ts';

/** The SMS gateway contract, checked from the gateway's side by a fake on a loopback port. */
const SECRET = 'sms-gateway-secret-Zq81xV';
const message: CodeMessage = { channel: 'sms', to: '+8613812348000', purpose: 'login', code: '704216', minutes: 5, locale: 'zh-CN' };

interface Received { headers: IncomingHttpHeaders; body: string; signed: boolean }
/** What the gateway does with its nth request (0-based): answer with a status, or never answer. */
type Behaviour = (n: number) => number | 'hang';

interface Gateway { url: string; received: Received[]; close(): Promise<void> }

/** Checks the signature as a gateway would, with its own copy of the secret. */
function signatureValid(headers: IncomingHttpHeaders, body: string, secret: string): boolean {
  const { 'x-chucs-timestamp': timestamp, 'x-chucs-nonce': nonce, 'x-chucs-signature': signature } = headers;
  if (typeof timestamp !== 'string' || typeof nonce !== 'string' || typeof signature !== 'string') return false;
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > 300) return false;
  const expected = createHmac('sha256', secret).update(`${timestamp}\n${nonce}\n${body}`).digest();
  const given = Buffer.from(signature, 'base64url');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

async function startGateway(behaviour: Behaviour, secret = SECRET): Promise<Gateway> {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => { body += chunk; });
    req.on('end', () => {
      const signed = signatureValid(req.headers, body, secret);
      const action = behaviour(received.length);
      received.push({ headers: req.headers, body, signed });
      if (action === 'hang') return;
      const status = signed ? action : 401;
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: status === 200 }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/sms/send`,
    received,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

function settings(url: string, overrides: Partial<HttpSmsSettings> = {}): HttpSmsSettings {
  return {
    provider: 'http', url, codeTemplateId: 'SMS_CODE_01', signName: '长虹', accessKeyId: 'chucs-test',
    secret: SECRET, timeoutMs: 2000, retries: 2, ...overrides,
  };
}

/** A sender whose log lines and backoff pauses the test can read; it does not really wait. */
function sender(config: HttpSmsSettings) {
  const logLines: string[] = [];
  const pauses: number[] = [];
  const sms = createHttpSmsSender(config, {
    logger: createLogger('info', { write: (line: string) => { logLines.push(line); } }),
    sleep: async (ms) => { pauses.push(ms); },
  });
  return { sms, logLines, pauses };
}

async function failure(promise: Promise<unknown>): Promise<AppError> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(AppError);
  expect((err as AppError).code).toBe('messaging.unavailable');
  return err as AppError;
}

test('the gateway receives the phone, template and code in a JSON body it can verify', async () => {
  const gateway = await startGateway(() => 200);
  try {
    const { sms, pauses } = sender(settings(gateway.url));
    await sms.send(message);
    expect(gateway.received).toHaveLength(1);
    const [request] = gateway.received;
    expect(request!.signed).toBe(true);
    expect(request!.headers['x-chucs-key-id']).toBe('chucs-test');
    expect(request!.headers['content-type']).toBe('application/json');
    expect(JSON.parse(request!.body)).toEqual({
      phone: '+8613812348000', templateId: 'SMS_CODE_01', signName: '长虹',
      params: { code: '704216', minutes: 5 }, requestId: expect.any(String),
    });
    expect(pauses).toEqual([]);
  } finally {
    await gateway.close();
  }
});

test('a request the gateway cannot verify is refused once and not retried', async () => {
  const gateway = await startGateway(() => 200, 'the-gateway-holds-another-secret');
  try {
    const { sms, pauses } = sender(settings(gateway.url));
    const err = await failure(sms.send(message));
    expect(err.detail).toContain('status 401');
    expect(gateway.received).toHaveLength(1);
    expect(pauses).toEqual([]);
  } finally {
    await gateway.close();
  }
});

test('after a 500 the message is sent again, re-signed, with the same request id', async () => {
  const gateway = await startGateway((n) => (n === 0 ? 500 : 200));
  try {
    const { sms, pauses } = sender(settings(gateway.url));
    await sms.send(message);
    expect(gateway.received).toHaveLength(2);
    const [first, second] = gateway.received.map((r) => ({ ...r, json: JSON.parse(r.body) as { requestId: string } }));
    expect(second!.json.requestId).toBe(first!.json.requestId);
    expect(second!.signed).toBe(true);
    expect(second!.headers['x-chucs-nonce']).not.toBe(first!.headers['x-chucs-nonce']);
    expect(pauses).toEqual([200]);
  } finally {
    await gateway.close();
  }
});

test('429 and 5xx are retried `retries` times, pausing longer each time, then given up', async () => {
  const gateway = await startGateway((n) => (n === 0 ? 429 : 503));
  try {
    const { sms, pauses } = sender(settings(gateway.url, { retries: 2 }));
    const err = await failure(sms.send(message));
    expect(err.detail).toContain('status 503');
    expect(gateway.received).toHaveLength(3);
    expect(pauses).toEqual([200, 400]);
  } finally {
    await gateway.close();
  }
});

test('a gateway that never answers times out; neither the error nor the log holds the code or the secret', async () => {
  const gateway = await startGateway(() => 'hang');
  try {
    const { sms, logLines } = sender(settings(gateway.url, { timeoutMs: 200, retries: 1 }));
    const err = await failure(sms.send(message));
    expect(gateway.received).toHaveLength(2);
    expect(err.detail).toContain('timeout after 200 ms');
    expect(logLines).toHaveLength(2);
    expect(logLines.join('')).toContain('+86138****8000');
    for (const text of [err.detail!, err.message, ...logLines]) {
      expect(text).not.toContain('704216');
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain('13812348000');
    }
  } finally {
    await gateway.close();
  }
});

test('a gateway that refuses connections makes the code unavailable', async () => {
  const gateway = await startGateway(() => 200);
  await gateway.close(); // the port is now closed
  const { sms, pauses } = sender(settings(gateway.url, { retries: 1 }));
  const err = await failure(sms.send(message));
  expect(err.detail).toContain('network error ECONNREFUSED');
  expect(pauses).toEqual([200]);
});
