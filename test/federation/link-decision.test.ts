import { decideLink, type LinkFacts } from '../../src/federation/link-decision.ts';

const nothing: LinkFacts = {
  holders: [], emailVerifiedUpstream: false, trustVerifiedEmail: false, phoneVerifiedUpstream: false, trustVerifiedPhone: false,
};

test('an identity already linked signs in to its account', () => {
  expect(decideLink({ ...nothing, holders: ['A'] })).toEqual({ kind: 'existing', accountId: 'A' });
  expect(decideLink({ ...nothing, holders: ['A', 'A'] })).toEqual({ kind: 'existing', accountId: 'A' });
});

test('an identity held by two accounts (unionid here, openid there) signs in to neither', () => {
  expect(decideLink({ ...nothing, holders: ['A', 'B'] })).toEqual({ kind: 'conflict', accountIds: ['A', 'B'], reason: 'several_holders' });
});

test('a new identity: the person chooses', () => {
  expect(decideLink(nothing)).toEqual({ kind: 'choose' });
  expect(decideLink(nothing, { create: true })).toEqual({ kind: 'create' });
  expect(decideLink(nothing, { provenAccount: 'A', hasOtherOfProvider: false })).toEqual({ kind: 'link', accountId: 'A', reason: 'proven' });
});

test('a matching email or phone never links by itself (pre-hijacking)', () => {
  expect(decideLink({ ...nothing, emailAccount: 'A', emailVerifiedUpstream: true })).toEqual({ kind: 'choose' });
  expect(decideLink({ ...nothing, phoneAccount: 'A', phoneVerifiedUpstream: true })).toEqual({ kind: 'choose' });
});

test('a trusted upstream links by a verified email or phone, but only when it says it verified it', () => {
  expect(decideLink({ ...nothing, emailAccount: 'A', emailVerifiedUpstream: true, trustVerifiedEmail: true }))
    .toEqual({ kind: 'link', accountId: 'A', reason: 'verified_email' });
  expect(decideLink({ ...nothing, emailAccount: 'A', emailVerifiedUpstream: false, trustVerifiedEmail: true })).toEqual({ kind: 'choose' });
  expect(decideLink({ ...nothing, phoneAccount: 'B', phoneVerifiedUpstream: true, trustVerifiedPhone: true }))
    .toEqual({ kind: 'link', accountId: 'B', reason: 'verified_phone' });
  expect(decideLink({
    ...nothing, emailAccount: 'A', emailVerifiedUpstream: true, trustVerifiedEmail: true, phoneAccount: 'B', phoneVerifiedUpstream: true, trustVerifiedPhone: true,
  })).toEqual({ kind: 'conflict', accountIds: ['A', 'B'], reason: 'trusted_values_differ' });
});

test('proving a different account than the one holding the identity links nothing', () => {
  expect(decideLink({ ...nothing, holders: ['A'] }, { provenAccount: 'B', hasOtherOfProvider: false }))
    .toEqual({ kind: 'conflict', accountIds: ['A', 'B'], reason: 'holder_differs' });
});

test('an account that has another identity of the same provider does not take a second one', () => {
  expect(decideLink(nothing, { provenAccount: 'A', hasOtherOfProvider: true }))
    .toEqual({ kind: 'conflict', accountIds: ['A'], reason: 'other_identity_of_provider' });
});

test('a trusted email or phone does not give an account a second identity of the same provider', () => {
  // The upstream handed A's verified address to someone else (a recycled alias); A already has its own identity there.
  const recycled = { ...nothing, emailAccount: 'A', emailVerifiedUpstream: true, trustVerifiedEmail: true, withOtherOfProvider: ['A'] };
  expect(decideLink(recycled)).toEqual({ kind: 'choose' });
  expect(decideLink(recycled, { create: true })).toEqual({ kind: 'create' });
  expect(decideLink(recycled, { provenAccount: 'A', hasOtherOfProvider: true }))
    .toEqual({ kind: 'conflict', accountIds: ['A'], reason: 'other_identity_of_provider' });
  expect(decideLink({ ...recycled, withOtherOfProvider: ['B'] })).toEqual({ kind: 'link', accountId: 'A', reason: 'verified_email' });
});
