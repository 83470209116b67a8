import { createBrandsService, type BrandsService } from '../../src/brands/brands.service.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { browser, authorizeUrl, csrfOf, pkce } from '../support/browser.ts';
import { alertOf } from '../support/login-page.ts';
import { enterDeviceCode } from '../support/device.ts';
import { DEVICE_CODE_GRANT } from '../../src/clients/clients.service.ts';

const MEILING_LOGO = `data:image/svg+xml,${encodeURIComponent('<svg xmlns="http://www.w3.org/2000/svg" width="80" height="32"><rect width="80" height="32" fill="#0067b1"/></svg>')}`;

describe('the brands service', () => {
  let database: TestDatabase;
  let brands: BrandsService;
  beforeAll(async () => {
    database = await createTestDatabase();
    brands = createBrandsService({ db: database.db });
  });
  afterAll(() => database.drop());

  const auditOf = (id: string) => database.db('audit_log').where({ subject: `brand:${id}` }).orderBy('id').pluck('action');

  test('a brand is added with its name, logo, colours and legal links; the default brand is there from the start', async () => {
    const added = await brands.add({
      id: 'meiling', name: { zh: '美菱', en: 'MeiLing' }, logoUrl: MEILING_LOGO, colors: { primary: '#0067B1' },
      legal: { termsUrl: 'https://meiling.example/terms' }, region: 'cn', defaultLocale: 'zh-CN',
    }, 'test');
    expect(added).toMatchObject({
      id: 'meiling', name: { zh: '美菱', en: 'MeiLing' }, logoUrl: MEILING_LOGO, colors: { primary: '#0067b1' },
      legal: { termsUrl: 'https://meiling.example/terms' }, region: 'cn', defaultLocale: 'zh-CN',
    });
    expect(added.colors.primaryText).toBeUndefined();
    expect((await brands.list()).map((b) => b.id)).toEqual(['changhong', 'meiling']);
    expect(await brands.show('changhong')).toMatchObject({ name: { zh: '长虹', en: 'Changhong' }, colors: { primary: '#e60012' }, logoUrl: null });
    expect(await auditOf('meiling')).toEqual(['brand.created']);
    await expect(brands.add({ id: 'meiling', name: { zh: '美菱', en: 'MeiLing' } }, 'test')).rejects.toMatchObject({ code: 'brands.exists' });
  });

  test.each([
    ['a colour that is not #rrggbb', { colors: { primary: 'red' } }, 'colors.primary'],
    ['CSS smuggled in a colour', { colors: { primary: '#0067b1;}body{display:none' } }, 'colors.primary'],
    ['a short colour', { colors: { primaryText: '#fff' } }, 'colors.primaryText'],
    ['a logo over http', { logoUrl: 'http://cdn.example/logo.png' }, 'logoUrl'],
    ['a script as logo', { logoUrl: 'javascript:alert(1)' }, 'logoUrl'],
    ['an html data URL as logo', { logoUrl: 'data:text/html,<script>alert(1)</script>' }, 'logoUrl'],
    ['terms over http', { legal: { termsUrl: 'http://meiling.example/terms' } }, 'legal.termsUrl'],
    ['an unknown language', { defaultLocale: 'fr' }, 'defaultLocale'],
    ['an id with capitals', { id: 'MeiLing' }, 'id'],
    ['an empty name', { name: { zh: ' ', en: 'X' } }, 'name.zh'],
  ])('%s is refused, naming the setting', async (_what, bad, path) => {
    const input = { id: 'chiq', name: { zh: 'CHiQ', en: 'CHiQ' }, ...bad };
    await expect(brands.add(input as never, 'test')).rejects.toMatchObject({ code: 'brands.invalid', detail: expect.stringContaining(`${path}:`) });
    await expect(brands.show('chiq')).rejects.toMatchObject({ code: 'brands.not_found' });
  });

  test('update changes only what it names; null clears an optional setting', async () => {
    await brands.add({ id: 'chiq', name: { zh: '启客', en: 'CHiQ' }, colors: { primary: '#111111', primaryText: '#eeeeee' }, legal: { termsUrl: 'https://chiq.example/terms', privacyUrl: 'https://chiq.example/privacy' }, region: 'eu' }, 'test');
    const updated = await brands.update('chiq', { colors: { primary: '#222222' }, legal: { termsUrl: null }, region: null, defaultLocale: 'en' }, 'test');
    expect(updated).toMatchObject({
      name: { zh: '启客', en: 'CHiQ' }, colors: { primary: '#222222', primaryText: '#eeeeee' },
      legal: { privacyUrl: 'https://chiq.example/privacy' }, region: null, defaultLocale: 'en',
    });
    expect(updated.legal.termsUrl).toBeUndefined();
    await expect(brands.update('chiq', { colors: { primary: 'blue' } }, 'test')).rejects.toMatchObject({ code: 'brands.invalid' });
    expect((await brands.show('chiq')).colors.primary).toBe('#222222');
    await expect(brands.update('nope', { region: 'cn' }, 'test')).rejects.toMatchObject({ code: 'brands.not_found' });
    expect(await auditOf('chiq')).toEqual(['brand.created', 'brand.updated']);
  });

  test('a brand is removed only when no app belongs to it, and the default brand never', async () => {
    await brands.add({ id: 'used', name: { zh: '在用', en: 'Used' } }, 'test');
    await database.db('clients').insert({ client_id: 'app-of-used', brand_id: 'used', metadata: { client_name: 'x' } });
    await expect(brands.remove('used', 'test')).rejects.toMatchObject({ code: 'brands.in_use' });
    await expect(brands.remove('changhong', 'test')).rejects.toMatchObject({ code: 'brands.default' });
    await expect(brands.remove('nope', 'test')).rejects.toMatchObject({ code: 'brands.not_found' });
    await database.db('clients').where({ client_id: 'app-of-used' }).delete();
    await brands.remove('used', 'test');
    await expect(brands.show('used')).rejects.toMatchObject({ code: 'brands.not_found' });
    expect(await auditOf('used')).toEqual(['brand.created', 'brand.removed']);
  });

  test('pages get the named brand, the default for an unknown one, and a change elsewhere within the cache time', async () => {
    let now = 1_000_000;
    const node = createBrandsService({ db: database.db, cacheSeconds: 10, clock: () => now });
    expect((await node.brandFor('meiling')).name.zh).toBe('美菱');
    expect((await node.brandFor('no-such-brand')).id).toBe('changhong');
    expect((await node.brandFor(undefined)).id).toBe('changhong');
    expect(node.cachedBrandFor('meiling').colors.primary).toBe('#0067b1');

    await brands.update('meiling', { colors: { primary: '#004a80' } }, 'test'); // the CLI, or another node
    now += 9_000;
    expect((await node.brandFor('meiling')).colors.primary).toBe('#0067b1');
    now += 2_000;
    expect((await node.brandFor('meiling')).colors.primary).toBe('#004a80');
    await brands.update('meiling', { colors: { primary: '#0067b1' } }, 'test');
  });
});

describe('branded pages', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ config: { legal: { termsUrl: 'https://changhong.example/terms', privacyUrl: 'https://changhong.example/privacy' } } });
    await server.chucs.brands.add({
      id: 'meiling', name: { zh: '美菱', en: 'MeiLing' }, logoUrl: MEILING_LOGO, colors: { primary: '#0067b1' },
      legal: { termsUrl: 'https://meiling.example/terms' },
    }, 'test');
    await server.chucs.brands.add({ id: 'global', name: { zh: '长虹国际', en: 'Changhong Global' }, colors: { primary: '#333333', primaryText: '#ffcc00' }, defaultLocale: 'en' }, 'test');
  });
  afterAll(() => server?.close());

  /** Follows an authorization request of the app to its login page. */
  async function loginPage(clientId: string, headers: Record<string, string> = {}) {
    const agent = browser(server.url);
    const { challenge } = pkce();
    const auth = await agent.get(authorizeUrl({ clientId, challenge })).set(headers);
    expect(auth.status).toBe(303);
    const uid = /\/interaction\/([^/?]+)/.exec(auth.headers.location!)![1]!;
    const page = await agent.get(`/interaction/${uid}`).set(headers);
    expect(page.status).toBe(200);
    return { agent, uid, html: page.text };
  }

  test("a brand's style sheet carries its colours; an unknown brand gets the default's", async () => {
    const agent = browser(server.url);
    const meiling = await agent.get('/assets/brand/meiling.css');
    expect(meiling.status).toBe(200);
    expect(meiling.headers['content-type']).toMatch(/^text\/css/);
    expect(meiling.headers['cache-control']).toBe('public, max-age=300');
    expect(meiling.text).toBe(':root{--brand:#0067b1;--brand-text:#ffffff}\n');
    expect((await agent.get('/assets/brand/global.css')).text).toBe(':root{--brand:#333333;--brand-text:#ffcc00}\n');
    expect((await agent.get('/assets/brand/no-such-brand.css')).text).toBe(':root{--brand:#e60012;--brand-text:#ffffff}\n');
    expect((await agent.get('/assets/brand/..%2Fchucs.css')).status).toBe(404);
  });

  test("an app's login page wears its brand: logo, style sheet and the brand's legal links", async () => {
    const { clientId } = await server.addClient({ name: '美菱冰箱', brand: 'meiling' });
    const { html } = await loginPage(clientId);
    expect(html).toMatch(/<link rel="stylesheet" href="\/assets\/brand\/meiling\.css\?v=[0-9a-z]+">/);
    expect(html).toContain(`<img class="logo-image" src="data:image/svg+xml,%3Csvg`);
    expect(html).toContain('alt="美菱"');
    expect(html).toContain('长虹ID'); // the product keeps its name
    expect(html).toContain('href="https://meiling.example/terms"');
    expect(html).toContain('href="https://changhong.example/privacy"'); // not set by the brand: the configured one

    const { clientId: mall } = await server.addClient({ name: '长虹商城' });
    const changhong = await loginPage(mall);
    expect(changhong.html).toContain('href="/assets/brand/changhong.css?v=');
    expect(changhong.html).toContain('<span class="logo">长虹</span>');
    expect(changhong.html).toContain('href="https://changhong.example/terms"');
    expect(changhong.html).not.toContain('meiling');
  });

  test('an app of an unknown brand cannot be registered', async () => {
    await expect(server.addClient({ brand: 'no-such-brand' })).rejects.toMatchObject({ code: 'brands.not_found' });
  });

  test('a TV app that allows codes only shows no password form and refuses a password sign-in', async () => {
    const { clientId } = await server.addClient({ name: '美菱电视', brand: 'meiling', public: true, loginMethods: ['code'] });
    expect((await server.chucs.clients.show(clientId)).loginMethods).toEqual(['code']);
    await server.addUser({ phone: '+8613700137000', password: 'a long passphrase' });
    const { agent, uid, html } = await loginPage(clientId);
    expect(html).toContain(`/interaction/${uid}/code/send`);
    expect(html).not.toContain(`/interaction/${uid}/login`);
    expect(html).not.toContain('type="password"');

    const refused = await agent.post(`/interaction/${uid}/login`).type('form')
      .send({ _csrf: csrfOf(html), identifier: '+8613700137000', password: 'a long passphrase' });
    expect(refused.status).toBe(403);
    expect(alertOf(refused.text)).toBe('该应用不支持这种登录方式，请换一种方式登录。');

    // The code still works, and the person lands back at the app.
    const sent = await agent.post(`/interaction/${uid}/code/send`).type('form').send({ _csrf: csrfOf(html), target: '13700137000' });
    expect(sent.status).toBe(200);
    const verified = await agent.post(`/interaction/${uid}/code/verify`).type('form')
      .send({ _csrf: csrfOf(sent.text), target: '13700137000', code: server.lastCode('+8613700137000') });
    expect(verified.status).toBe(303);
  });

  test('an app allowing passwords only shows the password form openly, with the terms', async () => {
    const { clientId } = await server.addClient({ name: '售后系统', loginMethods: ['password'] });
    const { uid, html } = await loginPage(clientId);
    expect(html).toContain(`/interaction/${uid}/login`);
    expect(html).not.toContain('/code/send');
    expect(html).not.toContain('<details');
    expect(html).toContain('继续即表示你同意');
  });

  test("a brand's default language applies when the browser names neither Chinese nor English", async () => {
    const { clientId } = await server.addClient({ name: 'Global Store', brand: 'global' });
    expect((await loginPage(clientId, { 'accept-language': 'fr-FR,fr;q=0.9' })).html).toContain('<h1>Sign in to Changhong ID</h1>');
    expect((await loginPage(clientId)).html).toContain('<h1>Sign in to Changhong ID</h1>');
    expect((await loginPage(clientId, { 'accept-language': 'zh-CN,fr;q=0.9' })).html).toContain('<h1>登录长虹ID</h1>');

    const { clientId: mall } = await server.addClient({ name: '长虹商城' });
    expect((await loginPage(mall, { 'accept-language': 'fr-FR' })).html).toContain('<h1>登录长虹ID</h1>');
  });

  test("the device pages wear the TV app's brand once the code names it; error pages the default brand", async () => {
    const tv = await server.addClient({ name: '美菱电视', brand: 'meiling', public: true, grantTypes: [DEVICE_CODE_GRANT], redirectUris: [], loginMethods: ['code'] });
    const agent = browser(server.url);
    const started = await agent.post('/device/auth').type('form').send({ client_id: tv.clientId, scope: 'openid' });
    expect(started.status).toBe(200);
    const input = await agent.get('/device');
    expect(input.text).toContain('href="/assets/brand/changhong.css?v='); // no app known yet
    const confirm = await enterDeviceCode(agent, server.url, started.body.user_code);
    expect(confirm.text).toContain('href="/assets/brand/meiling.css?v=');
    expect(confirm.text).toContain('alt="美菱"');

    const error = await agent.get('/interaction/unknown-uid');
    expect(error.status).toBe(400);
    expect(error.text).toContain('href="/assets/brand/changhong.css?v=');
    expect(error.text).toContain('<span class="logo">长虹</span>');
  });
});
