import { hostAllowed } from '../../src/oidc/provider.ts';

test('only listed hosts may be called on private addresses', () => {
  const listed = ['127.0.0.1', '*.changhong.internal'];
  expect(hostAllowed('127.0.0.1', listed)).toBe(true);
  expect(hostAllowed('crm.changhong.internal', listed)).toBe(true);
  expect(hostAllowed('CRM.Changhong.Internal', listed)).toBe(true);
  expect(hostAllowed('changhong.internal.evil.com', listed)).toBe(false);
  expect(hostAllowed('evilchanghong.internal', listed)).toBe(false);
  expect(hostAllowed('10.0.0.5', listed)).toBe(false);
  expect(hostAllowed('127.0.0.1', [])).toBe(false);
});
