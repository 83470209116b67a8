import { createHmac, randomBytes } from 'node:crypto';
import { createRemoteJWKSet, compactVerify } from 'jose';
import { startTestServer, type TestServer } from '../support/server.ts';
import { startWebhookReceiver, type Received, type WebhookReceiver } from '../support/webhook-receiver.ts';
import { emitEvent } from '../../src/events/outbox.ts';
import { sweepDeliveredEvents } from '../../src/events/deliveries.repo.ts';

/**
 * Delivery of the outbox to downstream webhooks, over real sockets: signatures a receiver
 * checks (JWS against the published JWKS, HMAC), redelivery after errors with the same
 * idempotency id, an account's events in order without one failing account holding back
 * the others, and nothing lost while the database is away.
 */

let server: TestServer;
let crm: WebhookReceiver;
let dw: WebhookReceiver;
const hmacSecret = randomBytes(32).toString('base64url');
const outcomes: string[] = [];

beforeAll(async () => {
  [crm, dw] = await Promise.all([startWebhookReceiver(), startWebhookReceiver()]);
  server = await startTestServer({
    config: {
      webhooks: [
        { id: 'crm', url: crm.url, signing: 'jws' },
        { id: 'data-platform', url: dw.url, signing: 'hmac', secret: hmacSecret, events: ['account.created', 'account.locked'] },
      ],
      // Fast rounds and short waits: the tests wait for outcomes, never for fixed times.
      events: { pollMs: 20, batchSize: 20, timeoutMs: 500, retryBaseMs: 50, retryMaxMs: 200 },
    },
  });
  server.chucs.events.onDelivery((outcome, subscriber) => outcomes.push(`${subscriber}:${outcome}`));
  server.chucs.startEvents();
});
afterAll(async () => {
  await server?.close();
  await Promise.all([crm?.close(), dw?.close()]);
});
beforeEach(() => {
  crm.answer = () => 200;
  dw.answer = () => 200;
});

const of = (accountId: string) => (r: Received) => r.payload.account_id === accountId;

test('a new account reaches both subscribers, signed: JWS verified against the published JWKS, HMAC with the shared secret', async () => {
  const id = await server.addUser({ phone: '+8613800138601' });
  await crm.waitFor((rs) => rs.some(of(id)), 'account.created at the CRM');
  await dw.waitFor((rs) => rs.some(of(id)), 'account.created at the data platform');

  const [atCrm] = crm.received.filter(of(id));
  expect(atCrm!.payload).toEqual({
    id: expect.stringMatching(/^[0-9a-f-]{36}$/), type: 'account.created', occurred_at: expect.any(String), account_id: id,
    data: { via: 'test', identifiers: [{ kind: 'phone', value: '+8613800138601', verified: true }] },
  });
  expect(atCrm!.headers).toMatchObject({
    'content-type': 'application/json', 'x-chucs-event-id': atCrm!.payload.id, 'x-chucs-event-type': 'account.created', 'x-chucs-delivery-attempt': '1',
  });
  // A detached JWS: the receiver puts the body back between the dots and checks it with the issuer's JWKS.
  const [header, empty, signature] = String(atCrm!.headers['x-chucs-signature']).split('.');
  expect(empty).toBe('');
  const jwks = createRemoteJWKSet(new URL(`${server.url}/jwks`));
  const verified = await compactVerify(`${header}.${Buffer.from(atCrm!.body).toString('base64url')}.${signature}`, jwks);
  expect(JSON.parse(new TextDecoder().decode(verified.payload))).toEqual(atCrm!.payload);
  expect(verified.protectedHeader).toMatchObject({ alg: 'ES256', kid: expect.any(String) });
  // A body changed on the way fails.
  const forged = atCrm!.body.replace('+8613800138601', '+8613800138602');
  await expect(compactVerify(`${header}.${Buffer.from(forged).toString('base64url')}.${signature}`, jwks)).rejects.toThrow();

  const [atDw] = dw.received.filter(of(id));
  expect(atDw!.body).toBe(atCrm!.body); // the same event, the same bytes
  expect(atDw!.headers['x-chucs-signature']).toBe(`sha256=${createHmac('sha256', hmacSecret).update(atDw!.body).digest('hex')}`);

  // Exactly once each: no further attempts once answered 2xx.
  await crm.waitFor(() => outcomes.filter((o) => o === 'crm:delivered').length >= 1, 'the observer');
  const row = await recorded(() => server.database.db('event_deliveries as d').join('events as e', 'e.id', 'd.event_id').where({ 'e.event_id': atCrm!.payload.id, 'd.subscriber': 'crm' }).first());
  expect(row).toMatchObject({ attempts: 1, last_error: null, delivered_at: expect.any(Date) });
  expect(crm.received.filter(of(id))).toHaveLength(1);
});

test('a subscriber gets only the event types it asked for', async () => {
  const id = await server.addUser({ phone: '+8613800138603' });
  await server.chucs.devices.bind({ mac: '00e04c680603', type: 'tv' }, true, id, undefined, { actor: `account:${id}` });
  await crm.waitFor((rs) => rs.filter(of(id)).map((r) => r.payload.type).join() === 'account.created,device.bound', 'both events at the CRM');
  await dw.waitFor((rs) => rs.some(of(id)), 'account.created at the data platform');
  expect(dw.received.filter(of(id)).map((r) => r.payload.type)).toEqual(['account.created']);
});

test('redelivered after the receiver answers 500 twice: same idempotency id, attempt counted up', async () => {
  let failures = 2;
  crm.answer = (r) => (r.payload.type === 'account.created' && r.payload.data.via === 'test' && r.body.includes('+8613800138604') && failures-- > 0 ? 500 : 200);
  const id = await server.addUser({ phone: '+8613800138604' });
  await crm.waitFor((rs) => rs.filter(of(id)).some((r) => r.status === 200), 'the third attempt to succeed');
  const attempts = crm.received.filter(of(id));
  expect(attempts.map((r) => [r.status, r.headers['x-chucs-delivery-attempt']])).toEqual([[500, '1'], [500, '2'], [200, '3']]);
  expect(new Set(attempts.map((r) => r.headers['x-chucs-event-id'])).size).toBe(1);
  expect(new Set(attempts.map((r) => r.body)).size).toBe(1);
  const row = await recorded(() => server.database.db('event_deliveries').where({ subscriber: 'crm', account_id: id }).first());
  expect(row).toMatchObject({ attempts: 3, delivered_at: expect.any(Date) });
});

test("an account's events arrive in order; an account whose deliveries fail holds back only its own", async () => {
  const [a, b] = await Promise.all([server.addUser({ phone: '+8613800138605' }), server.addUser({ phone: '+8613800138606' })]);
  await crm.waitFor((rs) => rs.some(of(a)) && rs.some(of(b)), 'both accounts created');
  let aDown = true;
  crm.answer = (r) => (r.payload.account_id === a && aDown ? 503 : 200);
  const db = server.database.db;
  for (const n of [1, 2, 3]) {
    await emitEvent(db, { type: 'account.locked', accountId: a, data: { n } });
    await emitEvent(db, { type: 'account.locked', accountId: b, data: { n } });
  }
  const locked = (id: string) => (rs: Received[]) => rs.filter((r) => of(id)(r) && r.payload.type === 'account.locked');
  await crm.waitFor((rs) => locked(b)(rs).filter((r) => r.status === 200).length === 3, "b's three events");
  await crm.waitFor((rs) => locked(a)(rs).length >= 2, 'a retried');
  // While a's first event fails, a's later ones are not even tried; b's went through in order.
  expect(locked(a)(crm.received).map((r) => r.payload.data.n)).toEqual(locked(a)(crm.received).map(() => 1));
  expect(locked(b)(crm.received).map((r) => r.payload.data.n)).toEqual([1, 2, 3]);

  aDown = false;
  await crm.waitFor((rs) => locked(a)(rs).filter((r) => r.status === 200).length === 3, "a's three events once its receiver is back");
  expect(locked(a)(crm.accepted()).map((r) => r.payload.data.n)).toEqual([1, 2, 3]);
  const firstOk = locked(a)(crm.received).findIndex((r) => r.status === 200);
  expect(locked(a)(crm.received).slice(0, firstOk).every((r) => r.payload.data.n === 1)).toBe(true);
});

/** A delivery row once the worker has written down the receiver's answer (just after it came), bounded. */
async function recorded(read: () => Promise<{ delivered_at: Date | null } | undefined>) {
  let row = await read();
  for (let i = 0; i < 100 && !row?.delivered_at; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    row = await read();
  }
  return row;
}

test('no event is lost while the database is away; delivery resumes by itself, an unrecorded success is sent again', async () => {
  const db = server.database.db;
  const client = db.client as { acquireConnection: () => Promise<unknown> };
  const acquire = client.acquireConnection.bind(client);
  let away = false;
  client.acquireConnection = () => (away ? Promise.reject(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })) : acquire());
  try {
    const id = await server.addUser({ phone: '+8613800138607' });
    await crm.waitFor((rs) => rs.some(of(id)), 'account.created');
    await emitEvent(db, { type: 'account.locked', accountId: id, data: { n: 1 } });
    // The database goes away while the receiver handles the event: it says 200, but the
    // worker cannot write that down.
    crm.answer = (r) => {
      if (r.payload.account_id === id && r.payload.data.n === 1) away = true;
      return 200;
    };
    await crm.waitFor(() => away, 'the first delivery');
    const during = crm.received.length;
    await new Promise((resolve) => setTimeout(resolve, 300)); // a few rounds against a missing database
    expect(crm.received.length).toBe(during);
    away = false;
    crm.answer = () => 200;
    for (const n of [2, 3]) await emitEvent(db, { type: 'account.locked', accountId: id, data: { n } });
    const locked = (rs: Received[]) => rs.filter((r) => of(id)(r) && r.payload.type === 'account.locked');
    await crm.waitFor((rs) => locked(rs).map((r) => r.payload.data.n).join() === '1,1,2,3', 'event 1 again (its outcome was lost), then 2 and 3');
    expect(locked(crm.received)[1]!.headers['x-chucs-delivery-attempt']).toBe('2');
    expect(new Set(locked(crm.received).slice(0, 2).map((r) => r.payload.id)).size).toBe(1);
    // The receiver has answered; the worker writes that down just after: wait for it, bounded.
    const pendingRows = () => db('event_deliveries').where({ subscriber: 'crm', account_id: id }).whereNull('delivered_at');
    for (let i = 0; i < 100 && (await pendingRows()).length > 0; i++) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await pendingRows()).toEqual([]);
  } finally {
    away = false;
    client.acquireConnection = acquire;
  }
});

test('retention deletes old events every subscriber has received, and keeps one still waiting however old', async () => {
  const db = server.database.db;
  crm.answer = (r) => (r.body.includes('+8613800138611') ? 500 : 200);
  const delivered = await server.addUser({ phone: '+8613800138610' });
  const waiting = await server.addUser({ phone: '+8613800138611' });
  const recent = await server.addUser({ phone: '+8613800138612' });
  await crm.waitFor((rs) => rs.some(of(delivered)) && rs.some(of(recent)) && rs.some((r) => of(waiting)(r) && r.status === 500), 'the deliveries');
  await dw.waitFor((rs) => [delivered, waiting, recent].every((id) => rs.some(of(id))), 'the data platform');
  await recorded(() => db('event_deliveries').where({ subscriber: 'crm', account_id: delivered }).first());
  await recorded(() => db('event_deliveries').where({ subscriber: 'data-platform', account_id: waiting }).first());
  const hundredDaysAgo = new Date(Date.now() - 100 * 86400_000);
  await db('events').whereIn('account_id', [delivered, waiting]).update({ created_at: hundredDaysAgo });

  expect(await sweepDeliveredEvents(db, new Date(Date.now() - 90 * 86400_000))).toBe(1);
  expect(await db('events').where({ account_id: delivered })).toEqual([]);
  expect(await db('event_deliveries').where({ account_id: delivered })).toEqual([]);
  expect(await db('events').where({ account_id: waiting })).toHaveLength(1);
  expect(await db('events').where({ account_id: recent })).toHaveLength(1);

  crm.answer = () => 200;
  await recorded(() => db('event_deliveries').where({ subscriber: 'crm', account_id: waiting }).first());
  expect(await sweepDeliveredEvents(db, new Date(Date.now() - 90 * 86400_000))).toBe(1);
  expect(await db('events').where({ account_id: waiting })).toEqual([]);
});
