import request from 'supertest';
import { SignJWT, importJWK } from 'jose';
import { startTestServer, type TestServer } from '../support/server.ts';
import { basic } from '../support/tokens.ts';
import { ADMIN_SCOPES, adminResource, type AdminScope } from '../../src/admin/admin-scopes.ts';
import { adminRoutes } from '../../src/admin/admin.routes.ts';

/**
 * The admin API: JWT access tokens for the admin resource, one scope per endpoint, every
 * call audited, answers without hashes or secrets; searching, locking and erasing accounts;
 * merge runs; apps and brands; the audit log; the OpenAPI document.
 */

let server: TestServer;
let admin: { clientId: string; clientSecret?: string };
let reader: { clientId: string; clientSecret?: string };
let ordinary: { clientId: string; clientSecret?: string };

beforeAll(async () => {
  server = await startTestServer();
  admin = await server.addClient({ name: '客服后台', grantTypes: ['client_credentials'], redirectUris: [], adminScopes: [...ADMIN_SCOPES] });
  reader = await server.addClient({ name: '数据平台', grantTypes: ['client_credentials'], redirectUris: [], adminScopes: ['admin:users:read'] });
  ordinary = await server.addClient({ name: '订单系统', grantTypes: ['client_credentials'], redirectUris: [] });
});
afterAll(() => server.close());

async function tokenFor(client: { clientId: string; clientSecret?: string }, scopes: readonly string[]) {
  const res = await request(server.url).post('/token').set('authorization', basic(client.clientId, client.clientSecret!)).type('form')
    .send({ grant_type: 'client_credentials', resource: adminResource(server.url), scope: scopes.join(' ') });
  return res;
}

async function token(scopes: readonly AdminScope[] = ADMIN_SCOPES): Promise<string> {
  const res = await tokenFor(admin, scopes);
  expect(res.status).toBe(200);
  return res.body.access_token;
}

const api = () => request(server.url);

test('a token for the admin API is a short JWT for that resource, with the scopes asked for and allowed', async () => {
  const res = await tokenFor(reader, ['admin:users:read', 'admin:users:erase']);
  expect(res.status).toBe(200);
  const [header, payload] = res.body.access_token.split('.').slice(0, 2).map((p: string) => JSON.parse(Buffer.from(p, 'base64url').toString()));
  expect(header).toMatchObject({ typ: 'at+jwt', alg: 'ES256' });
  expect(payload).toMatchObject({ aud: adminResource(server.url), client_id: reader.clientId, scope: 'admin:users:read' });
  expect(res.body.expires_in).toBeLessThanOrEqual(600);
  const refused = await tokenFor(ordinary, ['admin:users:read']);
  expect(refused.status).toBe(400);
  expect(refused.body.error).toBe('invalid_target');
});

test('every endpoint refuses no token, a token without its scope, and a token for another resource', async () => {
  const routes = adminRoutes({} as never);
  const other = await importJWK(server.jwks.keys.find((k) => k.alg === 'ES256')!, 'ES256');
  const foreign = await new SignJWT({ scope: ADMIN_SCOPES.join(' '), client_id: admin.clientId })
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: server.jwks.keys.find((k) => k.alg === 'ES256')!.kid! })
    .setIssuer(server.url).setAudience('https://orders.example.com/api').setIssuedAt().setExpirationTime('5m').sign(other);
  const opaque = (await request(server.url).post('/token').set('authorization', basic(admin.clientId, admin.clientSecret!)).type('form').send({ grant_type: 'client_credentials' })).body.access_token;
  for (const route of routes) {
    const path = `/admin/api${route.path.replace(':id', 'x')}`;
    const lacking = await token(ADMIN_SCOPES.filter((s) => s !== route.scope));
    const call = (auth?: string) => {
      const req = api()[route.method](path);
      return auth ? req.set('authorization', `Bearer ${auth}`) : req;
    };
    const none = await call();
    expect([path, none.status, none.headers['www-authenticate']]).toEqual([path, 401, expect.stringContaining('invalid_token')]);
    const without = await call(lacking);
    expect([path, without.status, without.body.error]).toEqual([path, 403, 'admin.forbidden']);
    expect(without.headers['www-authenticate']).toContain(`scope="${route.scope}"`);
    expect([path, (await call(foreign)).status]).toEqual([path, 401]);
    expect([path, (await call(opaque)).status]).toEqual([path, 401]);
  }
});

test('search by phone in any shape, email, username, legacy id and device MAC', async () => {
  const id = await server.addUser({ phone: '+8613800138900', email: 'zhang@example.com', username: 'zhangsan' });
  await server.database.db('legacy_records').insert({ source: 'mall', source_id: '100777', payload: { name: '张三' }, digest: 'd' });
  const [record] = await server.database.db('legacy_records').where({ source: 'mall', source_id: '100777' }).pluck('id');
  await server.database.db('record_links').insert({ record_id: record, account_id: id, merge_run_id: 0, rule: 'seed' });
  const [device] = await server.database.db('devices').insert({ mac: 'a0b1c2d3e4f6', type: 'tv' }).returning('id');
  await server.database.db('device_bindings').insert({ device_id: device.id, account_id: id, source: 'test' });
  const auth = `Bearer ${await token(['admin:users:read'])}`;
  for (const q of ['phone=138-0013-8900', 'phone=%2B86%20138%200013%208900', 'email=Zhang%40Example.com', 'username=ZhangSan', 'legacy=mall%3A100777', 'mac=A0-B1-C2-D3-E4-F6']) {
    const res = await api().get(`/admin/api/users?${q}`).set('authorization', auth);
    expect([q, res.status, res.body.items.map((a: { id: string }) => a.id)]).toEqual([q, 200, [id]]);
  }
  const bad = await api().get('/admin/api/users?phone=123&email=x%40y.com').set('authorization', auth);
  expect(bad.status).toBe(400);
  expect(bad.body.reason).toContain('exactly one of');
  expect((await api().get('/admin/api/users?colour=red').set('authorization', auth)).status).toBe(400);
});

test('showing an account: identifiers, devices, legacy records, sessions; never a hash', async () => {
  const id = await server.addUser({ phone: '+8613800138901', password: 'a long passphrase for the hash' });
  const res = await api().get(`/admin/api/users/${id}`).set('authorization', `Bearer ${await token(['admin:users:read'])}`);
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({ id, status: 'active', hasPassword: true, identifiers: [{ kind: 'phone', value: '+8613800138901', verified: true }] });
  const [{ hash }] = await server.database.db('credentials').where({ account_id: id }).select('hash');
  expect(JSON.stringify(res.body)).not.toContain(hash);
  expect(JSON.stringify(res.body)).not.toMatch(/argon2|hash/);
  expect((await api().get('/admin/api/users/nobody').set('authorization', `Bearer ${await token(['admin:users:read'])}`)).status).toBe(404);
});

test('lock and unlock: a locked account cannot sign in and loses its sessions', async () => {
  const id = await server.addUser({ email: 'locked@example.com', password: 'correct horse battery staple' });
  await server.database.db('oidc_models').insert({ model: 'Session', id: 'sess-lock', payload: { accountId: id }, account_id: id });
  const auth = `Bearer ${await token(['admin:users:write'])}`;
  expect((await api().post(`/admin/api/users/${id}/lock`).set('authorization', auth)).body).toEqual({ done: true });
  expect((await server.chucs.identity.getAccount(id))!.status).toBe('locked');
  expect(await server.database.db('oidc_models').where({ account_id: id })).toEqual([]);
  expect((await api().post(`/admin/api/users/${id}/lock`).set('authorization', auth)).status).toBe(409);
  expect((await api().post(`/admin/api/users/${id}/unlock`).set('authorization', auth)).status).toBe(200);
  expect((await server.chucs.identity.getAccount(id))!.status).toBe('active');
  expect(await server.database.db('events').where({ account_id: id }).whereIn('type', ['account.locked', 'account.unlocked']).orderBy('id').pluck('type'))
    .toEqual(['account.locked', 'account.unlocked']);
});

test('erasure leaves no personal data, and keeps the legacy-id tombstones', async () => {
  const id = await server.addUser({ phone: '+8613800138902', email: 'erase-me@example.com', password: 'correct horse battery staple' });
  await server.database.db('accounts').where({ id }).update({ profile: { name: '李四', nickname: '小李' } });
  await server.database.db('legacy_records').insert({ source: 'crm', source_id: 'C-9', payload: { name: '李四', phone: '13800138902' }, normalised: { phone: ['+8613800138902'] }, digest: 'x' });
  const [record] = await server.database.db('legacy_records').where({ source: 'crm', source_id: 'C-9' }).pluck('id');
  await server.database.db('record_links').insert({ record_id: record, account_id: id, merge_run_id: 0, rule: 'seed', evidence: JSON.stringify([{ kind: 'phone', value: '+8613800138902' }]) });
  await server.database.db('legacy_evidence').insert({ record_id: record, kind: 'phone', value: '+8613800138902' }).catch(() => undefined);
  await server.database.db('audit_log').insert({ actor: `account:${id}`, action: 'login.succeeded', subject: id, ip: '203.0.113.7', user_agent: 'Mozilla/5.0 李四的手机' });

  const res = await api().post(`/admin/api/users/${id}/erase`).set('authorization', `Bearer ${await token(['admin:users:erase'])}`);
  expect(res.status).toBe(200);

  const dump = JSON.stringify(await Promise.all(['accounts', 'identifiers', 'credentials', 'legacy_records', 'legacy_evidence', 'record_links', 'audit_log', 'one_time_codes', 'oidc_models', 'external_identities', 'events']
    .map((table) => server.database.db(table).select())));
  for (const personal of ['13800138902', 'erase-me@example.com', '李四', '小李', '203.0.113.7']) expect([personal, dump.includes(personal)]).toEqual([personal, false]);
  expect((await server.chucs.identity.getAccount(id))!.status).toBe('erased');
  // Tombstones: the old id still resolves to the account, for downstream systems.
  const found = await api().get('/admin/api/users?legacy=crm%3AC-9').set('authorization', `Bearer ${await token(['admin:users:read'])}`);
  expect(found.body.items).toMatchObject([{ id, status: 'erased' }]);
  expect(await server.database.db('events').where({ account_id: id, type: 'account.erased' }).count('* as n').first()).toMatchObject({ n: expect.anything() });
});

test('apps: create (secret once), read, update, rotate the secret, delete', async () => {
  const auth = `Bearer ${await token(['admin:clients'])}`;
  const created = await api().post('/admin/api/clients').set('authorization', auth).send({ name: '长虹商城', redirectUris: ['https://mall.example.com/cb'], firstParty: true });
  expect(created.status).toBe(200);
  const { clientId, clientSecret } = created.body;
  expect(clientSecret).toMatch(/^[\w-]{43}$/);
  const shown = await api().get(`/admin/api/clients/${clientId}`).set('authorization', auth);
  expect(shown.body).toMatchObject({ name: '长虹商城', firstParty: true, redirectUris: ['https://mall.example.com/cb'] });
  expect(JSON.stringify(shown.body)).not.toContain(clientSecret);
  const patched = await api().patch(`/admin/api/clients/${clientId}`).set('authorization', auth).send({ name: '长虹商城 (新)' });
  expect(patched.body).toMatchObject({ name: '长虹商城 (新)', firstParty: true, redirectUris: ['https://mall.example.com/cb'] });
  const rotated = await api().post(`/admin/api/clients/${clientId}/rotate-secret`).set('authorization', auth);
  expect(rotated.body.clientSecret).not.toBe(clientSecret);
  expect((await api().get('/admin/api/clients').set('authorization', auth)).body.items.map((c: { clientId: string }) => c.clientId)).toContain(clientId);
  expect((await api().delete(`/admin/api/clients/${clientId}`).set('authorization', auth)).status).toBe(200);
  expect((await api().get(`/admin/api/clients/${clientId}`).set('authorization', auth)).status).toBe(404);
  const invalid = await api().post('/admin/api/clients').set('authorization', auth).send({ name: '', redirectUris: 'nope' });
  expect(invalid.status).toBe(400);
  expect(invalid.body.reason).toMatch(/name|redirectUris/);
});

test('brands: create, read, update, delete', async () => {
  const auth = `Bearer ${await token(['admin:brands'])}`;
  const created = await api().post('/admin/api/brands').set('authorization', auth)
    .send({ id: 'meiling', name: { zh: '美菱', en: 'MeiLing' }, colors: { primary: '#0067b1' } });
  expect(created.status).toBe(200);
  expect((await api().patch('/admin/api/brands/meiling').set('authorization', auth).send({ region: 'cn' })).body).toMatchObject({ id: 'meiling', region: 'cn' });
  expect((await api().get('/admin/api/brands').set('authorization', auth)).body.items.map((b: { id: string }) => b.id)).toEqual(expect.arrayContaining(['changhong', 'meiling']));
  expect((await api().delete('/admin/api/brands/meiling').set('authorization', auth)).status).toBe(200);
  expect((await api().delete('/admin/api/brands/changhong').set('authorization', auth)).status).toBeGreaterThanOrEqual(400);
});

test('merge runs: list, show, undo', async () => {
  const [run] = await server.database.db('merge_runs').insert({ status: 'applied', counts: {}, created_by: 'cli:ops', report: { summary: 'nothing' }, finished_at: new Date() }).returning('id');
  const auth = `Bearer ${await token(['admin:merge:read', 'admin:merge:write'])}`;
  expect((await api().get('/admin/api/merge/runs').set('authorization', auth)).body.items[0]).toMatchObject({ id: Number(run.id), status: 'applied' });
  expect((await api().get(`/admin/api/merge/runs/${run.id}`).set('authorization', auth)).body).toMatchObject({ report: { summary: 'nothing' } });
  const undone = await api().post(`/admin/api/merge/runs/${run.id}/undo`).set('authorization', auth);
  expect(undone.status).toBe(200);
  expect(undone.body).toEqual({ accountsRemoved: 0, linksRemoved: 0, changesReverted: 0 });
  expect((await api().get('/admin/api/merge/runs/9999999').set('authorization', auth)).status).toBe(404);
});

test('every call is audited, and the audit log answers by actor, subject, action and time', async () => {
  const auth = `Bearer ${await token(['admin:audit:read', 'admin:users:read'])}`;
  const id = await server.addUser({ phone: '+8613800138903' });
  await api().get(`/admin/api/users/${id}`).set('authorization', auth);
  const since = new Date(Date.now() - 60_000).toISOString();
  const res = await api().get(`/admin/api/audit?actor=client%3A${admin.clientId}&subject=${id}&action=admin.showUser&since=${encodeURIComponent(since)}`).set('authorization', auth);
  expect(res.body.items).toMatchObject([{ actor: `client:${admin.clientId}`, action: 'admin.showUser', subject: id, detail: { outcome: 'ok' } }]);
  const nothing = await api().get('/admin/api/audit?action=admin.showUser&subject=never-seen').set('authorization', auth);
  expect(nothing.body.items).toEqual([]);
  // Refused calls are audited too, with their outcome.
  await api().get('/admin/api/users/nobody').set('authorization', auth);
  const refused = await api().get('/admin/api/audit?action=admin.showUser&subject=nobody&limit=1').set('authorization', auth);
  expect(refused.body.items).toMatchObject([{ detail: { outcome: 'identity.account_not_found' } }]);
  expect((await api().get('/admin/api/audit?since=yesterday').set('authorization', auth)).status).toBe(400);
});

test('the OpenAPI document describes every endpoint with its scope', async () => {
  const res = await api().get('/admin/api/openapi.json');
  expect(res.status).toBe(200);
  expect(res.body.openapi).toBe('3.0.3');
  const operations = Object.values(res.body.paths as Record<string, Record<string, { operationId: string; security: Array<{ chucs: string[] }> }>>).flatMap((p) => Object.values(p));
  expect(operations.map((o) => o.operationId).sort()).toEqual(adminRoutes({} as never).map((r) => r.operationId).sort());
  for (const o of operations) expect(ADMIN_SCOPES).toContain(o.security[0]!.chucs[0]);
  expect(res.body.components.securitySchemes.chucs.flows.clientCredentials.tokenUrl).toBe(`${server.url}/token`);
});

test('a token stops working when its client loses the scope or is removed', async () => {
  const support = await server.addClient({ name: '临时工具', grantTypes: ['client_credentials'], redirectUris: [], adminScopes: ['admin:users:read', 'admin:clients'] });
  const own = (await tokenFor(support, ['admin:users:read', 'admin:clients'])).body.access_token;
  expect((await api().get('/admin/api/users?phone=13800138000').set('authorization', `Bearer ${own}`)).status).toBe(200);
  await server.chucs.clients.update(support.clientId, { adminScopes: ['admin:clients'] }, 'test');
  expect((await api().get('/admin/api/users?phone=13800138000').set('authorization', `Bearer ${own}`)).status).toBe(403);
  await server.chucs.clients.remove(support.clientId, 'test');
  expect((await api().get('/admin/api/clients').set('authorization', `Bearer ${own}`)).status).toBe(401);
});

test('NUL characters, impossible dates and refused undos are 4xx with a reason, never a 500', async () => {
  const auth = `Bearer ${await token()}`;
  for (const path of ['/admin/api/users/%00', '/admin/api/audit?actor=%00', '/admin/api/users?legacy=mall:%00', '/admin/api/audit?since=0000-01-01T00:00:00Z']) {
    const res = await api().get(path).set('authorization', auth);
    expect([path, res.status]).toEqual([path, 400]);
  }
  expect((await api().post('/admin/api/brands').set('authorization', auth).send({ id: 'nul', name: { zh: 'a\u0000', en: 'a' }, colors: { primary: '#000000' } })).status).toBe(400);
  const undo = await api().post('/admin/api/merge/runs/999999999999999/undo').set('authorization', auth);
  expect(undo.status).toBe(409);
  expect(undo.body.reason).toBeTruthy();
});

test('half an emoji, a body nested 5,000 deep, a body that is not the gzip it says, and an unknown brand are 4xx too', async () => {
  const auth = `Bearer ${await token()}`;
  const app = (await api().post('/admin/api/clients').set('authorization', auth).send({ name: '长虹小店', redirectUris: ['https://shop.example/cb'] })).body;
  const surrogate = await api().patch(`/admin/api/clients/${app.clientId}`).set('authorization', auth).type('json').send('{"name":"\\ud800"}');
  expect([surrogate.status, surrogate.body.reason]).toEqual([400, 'the body holds a NUL or an unpaired surrogate']);
  const deep = await api().post('/admin/api/brands').set('authorization', auth).type('json').send(`${'['.repeat(5000)}${']'.repeat(5000)}`);
  expect([deep.status, deep.body.reason]).toEqual([400, 'the body holds nesting deeper than 32']);
  const notGzip = await api().post('/admin/api/clients').set('authorization', auth).set('content-encoding', 'gzip').type('json').send('{"name":"x"}');
  expect([notGzip.status, notGzip.body.error]).toEqual([400, 'request.unreadable']);
  const unknownBrand = await api().patch(`/admin/api/clients/${app.clientId}`).set('authorization', auth).send({ brand: 'nope' });
  expect([unknownBrand.status, unknownBrand.body.error]).toEqual([404, 'brands.not_found']);
});

test('after erasure, undoing a merge run that had touched the account brings nothing back', async () => {
  const id = await server.addUser({ phone: '+8613800138904', email: 'journal@example.com', password: 'correct horse battery staple' });
  const [run] = await server.database.db('merge_runs').insert({ status: 'applied', counts: {}, created_by: 'test', finished_at: new Date() }).returning('id');
  const { journalDelete } = await import('../../src/merge/journal.ts');
  await server.database.db.transaction(async (trx) => {
    for (const row of await trx('identifiers').where({ account_id: id }).select('id')) await journalDelete(trx, Number(run.id), 'identifiers', { id: Number(row.id) });
  });
  const auth = `Bearer ${await token()}`;
  expect((await api().post(`/admin/api/users/${id}/erase`).set('authorization', auth)).status).toBe(200);
  const journal = JSON.stringify(await server.database.db('merge_run_journal').select());
  expect(journal).not.toContain('journal@example.com');
  expect(journal).not.toContain('13800138904');
  expect((await api().post(`/admin/api/merge/runs/${run.id}/undo`).set('authorization', auth)).status).toBe(200);
  expect(await server.database.db('identifiers').where({ account_id: id })).toEqual([]);
});
