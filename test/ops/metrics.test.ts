import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { startTestServer, testClock, type TestServer } from '../support/server.ts';
import { browser, pkce, authorizeUrl, runFlow, csrfOf } from '../support/browser.ts';
import { openLoginPage } from '../support/login-page.ts';
import { tokenRequest } from '../support/tokens.ts';
import { importLegacyFile } from '../../src/merge/import.ts';
import { startRun, continueRun, type ApplyOptions } from '../../src/merge/apply.ts';
import { SAMPLE_FILES } from '../merge/samples.ts';
import { parseMetrics, metricValue } from './metrics-text.ts';
import { formOn, submission } from '../support/forms.ts';

let server: TestServer;
let app: { clientId: string; clientSecret?: string };
let service: { clientId: string; clientSecret?: string };
const clock = testClock();
const phone = '+8613800139001';
const password = 'a long passphrase for metrics';

beforeAll(async () => {
  server = await startTestServer({
    clock,
    config: {
      throttle: {
        identifier: { freeFailures: 1, baseDelaySeconds: 60, maxDelaySeconds: 600, forgetAfterSeconds: 3600 },
        userCode: { freeFailures: 1, baseDelaySeconds: 60, maxDelaySeconds: 600, forgetAfterSeconds: 3600 },
      },
    },
  });
  app = await server.addClient({ name: '长虹商城', firstParty: true });
  service = await server.addClient({ name: '后台服务', grantTypes: ['client_credentials'] });
  await server.addUser({ phone, password });
});
afterAll(() => server.close());

async function scrape() {
  const res = await request(server.url).get('/metrics');
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  return { text: res.text, samples: parseMetrics(res.text) };
}

test('a password sign-in, a wrong password and a throttled attempt move the sign-in and throttle counters', async () => {
  const { challenge } = pkce();
  await runFlow(browser(server.url), server.url, authorizeUrl({ clientId: app.clientId, challenge }), { identifier: phone, password });

  const agent = browser(server.url);
  const page = await openLoginPage(agent, authorizeUrl({ clientId: app.clientId, challenge }));
  const attempt = (pw: string) => agent.post(`/interaction/${page.uid}/login`).type('form').send({ _csrf: page.csrf, identifier: phone, password: pw });
  expect((await attempt('wrong password')).status).toBe(401);
  expect((await attempt('wrong password')).status).toBe(429);

  const { samples } = await scrape();
  expect(metricValue(samples, 'chucs_sign_ins_total', { method: 'password', outcome: 'success' })).toBe(1);
  expect(metricValue(samples, 'chucs_sign_ins_total', { method: 'password', outcome: 'failure' })).toBe(1);
  expect(metricValue(samples, 'chucs_sign_ins_total', { method: 'password', outcome: 'throttled' })).toBe(1);
  expect(metricValue(samples, 'chucs_throttled_requests_total', { reason: 'auth.throttled' })).toBe(1);
  expect(metricValue(samples, 'chucs_http_requests_total', { method: 'POST', route: '/interaction/:uid/login', status: '4xx' })).toBe(2);
});

test('a device code refused by the /device throttle is counted', async () => {
  const agent = browser(server.url);
  const typeWrongCode = async () => {
    const form = formOn((await agent.get('/device')).text, { id: 'op.deviceInputForm' });
    return agent.post('/device').type('form').send(submission(form, { typed: { user_code: '0000-0000' } }));
  };
  expect((await typeWrongCode()).status).toBe(200); // the page again, saying the code is wrong
  expect((await typeWrongCode()).status).toBe(429);
  expect(metricValue((await scrape()).samples, 'chucs_throttled_requests_total', { reason: 'device.throttled' })).toBe(1);
});

test('a code sent and a resend inside the cooldown are counted by channel and outcome', async () => {
  const agent = browser(server.url);
  const page = await openLoginPage(agent, authorizeUrl({ clientId: app.clientId, challenge: pkce().challenge }));
  const sent = await agent.post(`/interaction/${page.uid}/code/send`).type('form').send({ _csrf: page.csrf, target: '13800139002' });
  expect(sent.status).toBe(200);
  const again = await agent.post(`/interaction/${page.uid}/code/send`).type('form').send({ _csrf: csrfOf(sent.text), target: '13800139002', resend: '1' });
  expect(again.status).toBe(429);

  const { samples } = await scrape();
  expect(metricValue(samples, 'chucs_code_sends_total', { channel: 'sms', outcome: 'sent' })).toBe(1);
  expect(metricValue(samples, 'chucs_code_sends_total', { channel: 'sms', outcome: 'cooldown' })).toBe(1);
  expect(metricValue(samples, 'chucs_throttled_requests_total', { reason: 'codes.cooldown' })).toBe(1);
});

test('routes are labelled by their pattern: no ids, codes, phone numbers or unknown paths in any label', async () => {
  const agent = browser(server.url);
  const page = await openLoginPage(agent, authorizeUrl({ clientId: app.clientId, challenge: pkce().challenge }));
  expect((await tokenRequest(server.url, service, { grant_type: 'client_credentials' })).status).toBe(200);
  await request(server.url).get(`/no/such/page/${page.uid}`).expect(404);

  const { text, samples } = await scrape();
  const routes = new Set(samples.filter((s) => s.name === 'chucs_http_requests_total').map((s) => s.labels.route));
  expect([...routes]).toEqual(expect.arrayContaining(['/auth', '/interaction/:uid', '/interaction/:uid/login', '/token', '/metrics', '(unmatched)']));
  expect(metricValue(samples, 'chucs_http_requests_total', { method: 'POST', route: '/token', status: '2xx' })).toBe(1);
  expect(metricValue(samples, 'chucs_http_request_duration_seconds_count', { method: 'POST', route: '/token' })).toBe(1);
  for (const secret of [page.uid, '13800139001', '13800139002', service.clientSecret!, '/no/such/page']) expect(text).not.toContain(secret);
  // Process metrics come along (the default collectors).
  expect(metricValue(samples, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
});

test('merge progress: batches and records applied in this process, and the newest run from the database', async () => {
  const db = server.database.db;
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'chucs-metrics-'));
  const { config } = server.chucs;
  const placeholders = { phone: new Set(config.merge.placeholders.phone), email: new Set(config.merge.placeholders.email) };
  for (const [source, file] of SAMPLE_FILES) {
    await importLegacyFile({ db, source, file, rejectsFile: path.join(tmp, `${source.name}.csv`), placeholders, actor: 'test' });
  }
  const options: ApplyOptions = {
    maxRecordsPerValue: config.merge.maxRecordsPerValue, sourcePriority: config.merge.sourcePriority, batchSize: 5, actor: 'test',
    onBatch: server.chucs.metrics.mergeBatch,
  };
  const { runId } = await startRun(db, options);
  await continueRun(db, runId, options);

  const { samples } = await scrape();
  expect(metricValue(samples, 'chucs_merge_batches_total')).toBeGreaterThan(1);
  expect(metricValue(samples, 'chucs_merge_records_applied_total')).toBeGreaterThan(0);
  const total = metricValue(samples, 'chucs_merge_run_clusters', { run: String(runId), state: 'total' });
  expect(total).toBeGreaterThan(0);
  expect(metricValue(samples, 'chucs_merge_run_clusters', { run: String(runId), state: 'applied' })).toBe(total);
  expect(metricValue(samples, 'chucs_merge_latest_run', { field: 'id' })).toBe(runId);
  expect(metricValue(samples, 'chucs_merge_latest_run', { field: 'applying' })).toBe(0);
  expect(metricValue(samples, 'chucs_merge_latest_run', { field: 'accounts_created' })).toBeGreaterThan(0);
});

describe('who may read /metrics', () => {
  test('without a token: this machine yes, anything that came through a proxy no', async () => {
    await request(server.url).get('/metrics').expect(200);
    const proxied = await request(server.url).get('/metrics').set('x-forwarded-for', '203.0.113.9').set('accept', 'application/json');
    expect(proxied.status).toBe(403);
    expect(proxied.body.error).toBe('metrics.forbidden');
  });

  test('with metrics.token: only a request bearing it', async () => {
    const token = 'metrics-token-0123456789-abcdef';
    const guarded = await startTestServer({ config: { metrics: { enabled: true, token } } });
    try {
      const none = await request(guarded.url).get('/metrics').set('accept', 'application/json');
      expect(none.status).toBe(401);
      expect(none.headers['www-authenticate']).toMatch(/^Bearer/);
      await request(guarded.url).get('/metrics').set('authorization', 'Bearer not-the-token').expect(401);
      const ok = await request(guarded.url).get('/metrics').set('authorization', `Bearer ${token}`).set('x-forwarded-for', '203.0.113.9');
      expect(ok.status).toBe(200);
      expect(ok.text).toContain('chucs_http_requests_total');
      expect(ok.text).not.toContain(token);
    } finally {
      await guarded.close();
    }
  });

  test('behind a proxy (trustProxy) without a token: nobody, whatever the headers say', async () => {
    const proxied = await startTestServer({ config: { trustProxy: true } });
    try {
      expect((await request(proxied.url).get('/metrics').set('accept', 'application/json')).status).toBe(403);
    } finally {
      await proxied.close();
    }
  });

  test('metrics.enabled false: there is no /metrics', async () => {
    const off = await startTestServer({ config: { metrics: { enabled: false } } });
    try {
      await request(off.url).get('/metrics').expect(404);
    } finally {
      await off.close();
    }
  });
});
