import type { Command } from 'commander';
import { withChucs, operator } from './context.ts';
import { table, type Output } from './output.ts';
import { UsageError } from './usage-error.ts';
import { GRANT_TYPES, LOGIN_METHODS, type ClientSummary } from '../clients/clients.service.ts';
import { ADMIN_SCOPES } from '../admin/admin-scopes.ts';

const collect = (value: string, previous: string[] = []) => [...previous, value];

function describe(c: ClientSummary & { clientSecret?: string }): string {
  return [
    `client_id:          ${c.clientId}`,
    ...(c.clientSecret ? [`client_secret:      ${c.clientSecret}   (shown once: store it now)`] : []),
    `name:               ${c.name}`,
    `type:               ${c.public ? 'public (PKCE required, no secret)' : 'confidential'}${c.firstParty ? ', first-party (no consent page)' : ''}`,
    `brand:              ${c.brand}`,
    `grant types:        ${c.grantTypes.join(', ')}`,
    `redirect URIs:      ${c.redirectUris.join(', ') || '-'}`,
    `post-logout URIs:   ${c.postLogoutRedirectUris.join(', ') || '-'}`,
    `back-channel URI:   ${c.backchannelLogoutUri ?? '-'}`,
    `legacy source:      ${c.legacySource ?? '-'}`,
    `upstreams:          ${c.upstreams?.join(', ') ?? 'all configured'}`,
    `admin scopes:       ${c.adminScopes.join(', ') || '-'}`,
    `sign-in methods:    ${c.loginMethods.join(', ')}`,
  ].join('\n');
}

export function registerClients(program: Command, out: () => Output) {
  const clients = program.command('clients').description('apps that sign in with CHUCS');

  clients.command('add')
    .description('register an app; prints its client_id and, for confidential apps, its secret once')
    .requiredOption('--name <name>', 'name shown to people on the login and consent pages')
    .option('--redirect-uri <uri>', 'where codes are sent (repeatable)', collect, [])
    .option('--post-logout-uri <uri>', 'where people land after signing out (repeatable)', collect, [])
    .option('--backchannel-logout-uri <uri>', 'where CHUCS posts logout tokens')
    .option('--grant <type>', `grant type (repeatable): ${GRANT_TYPES.join(', ')}`, collect)
    .option('--public', 'no secret: mobile apps, single-page apps, TVs (PKCE required)', false)
    .option('--native', 'a native app (custom-scheme or loopback redirect URIs)', false)
    .option('--first-party', "one of Changhong's own apps: no consent page", false)
    .option('--brand <id>', 'brand that themes its pages', 'changhong')
    .option('--legacy-source <name>', 'legacy user center this app replaces')
    .option('--admin-scope <scope>', `admin API scope this service may get (repeatable): ${ADMIN_SCOPES.join(', ')}`, collect)
    .option('--upstream <id>', 'an upstream (WeChat, QQ, ...) people may sign in with for this app (repeatable; all configured ones when absent)', collect)
    .option('--login-method <method>', `a way people may sign in (repeatable; all when absent): ${LOGIN_METHODS.join(', ')}`, collect)
    .action(async (o) => {
      const badMethods = (o.loginMethod as string[] | undefined ?? []).filter((m) => !(LOGIN_METHODS as readonly string[]).includes(m));
      if (badMethods.length > 0) throw new UsageError(`unknown sign-in method ${badMethods.join(', ')} (use ${LOGIN_METHODS.join(', ')})`);
      const created = await withChucs((c) => {
        const unknown = (o.upstream as string[] | undefined ?? []).filter((id) => !c.config.upstreams.some((u) => u.id === id));
        if (unknown.length > 0) throw new UsageError(`no upstream configured with the id ${unknown.join(', ')}`);
        return c.clients.add({
        name: o.name,
        redirectUris: o.redirectUri,
        postLogoutRedirectUris: o.postLogoutUri,
        backchannelLogoutUri: o.backchannelLogoutUri,
        ...(o.grant ? { grantTypes: o.grant } : {}),
        public: o.public,
        native: o.native,
        firstParty: o.firstParty,
        brand: o.brand,
        legacySource: o.legacySource,
        ...(o.upstream ? { upstreams: o.upstream } : {}),
        ...(o.adminScope ? { adminScopes: o.adminScope } : {}),
        ...(o.loginMethod ? { loginMethods: o.loginMethod } : {}),
      }, operator());
      });
      out().result(created, () => describe(created));
    });

  clients.command('list').description('list registered apps').action(async () => {
    const list = await withChucs((c) => c.clients.list());
    out().result(list, () => table(list.map((c) => ({
      client_id: c.clientId, name: c.name, type: c.public ? 'public' : 'confidential', first_party: c.firstParty ? 'yes' : '', grants: c.grantTypes.join(','),
    })), ['client_id', 'name', 'type', 'first_party', 'grants']));
  });

  clients.command('show <clientId>').description('show one app').action(async (clientId: string) => {
    const client = await withChucs((c) => c.clients.show(clientId));
    out().result(client, () => describe(client));
  });

  clients.command('remove <clientId>').description("remove an app and revoke all of its tokens").action(async (clientId: string) => {
    await withChucs((c) => c.clients.remove(clientId, operator()));
    out().result({ removed: clientId }, () => `removed ${clientId} and revoked its tokens`);
  });
}
