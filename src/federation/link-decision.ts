/**
 * What to do with an upstream identity (WeChat, QQ, Weibo, an OIDC provider) that someone
 * just signed in with: one pure function, so each rule has a plain test.
 *
 * Casdoor and others link a social login to a local account because an email, phone or
 * nickname matches, without checking it was verified: a stranger who registers the victim's
 * email upstream walks into the victim's account. Here an upstream identity joins an account
 * only when it is already linked to it, when the person proves they own the account (its
 * password or a code to its verified phone or email), or, where the operator enabled it for
 * that upstream, when the upstream asserts the email or phone is verified and it is verified
 * here too.
 */
export interface LinkFacts {
  /**
   * Accounts that already hold this upstream identity: linked to it, or holding one of its
   * identifiers verified (a WeChat unionid from the merge engine, say). Distinct ids.
   */
  holders: readonly string[];
  /** The account holding, verified, the email the upstream asserts (if any). */
  emailAccount?: string | undefined;
  emailVerifiedUpstream: boolean;
  trustVerifiedEmail: boolean;
  phoneAccount?: string | undefined;
  phoneVerifiedUpstream: boolean;
  trustVerifiedPhone: boolean;
  /**
   * Which of emailAccount and phoneAccount already hold another identity of this provider:
   * a trusted email or phone does not give such an account a second one (the upstream may
   * have handed a recycled address to someone else). Absent: none.
   */
  withOtherOfProvider?: readonly string[] | undefined;
}

/** What the person did on the page that asked them, if they were asked. */
export type LinkChoice =
  | { create: true }
  /** They proved they own this account (signed in to it), or are signed in to it already. */
  | { provenAccount: string; hasOtherOfProvider: boolean };

export type LinkDecision =
  /** Already linked: sign in to that account. */
  | { kind: 'existing'; accountId: string }
  /** Link to this account (proven, or trusted verified email/phone), then sign in to it. */
  | { kind: 'link'; accountId: string; reason: 'proven' | 'verified_email' | 'verified_phone' }
  /** A new Changhong ID holding only this upstream identity. */
  | { kind: 'create' }
  /** Ask: create a new Changhong ID, or prove an existing one. */
  | { kind: 'choose' }
  /** The evidence points at different accounts, or the account has another identity of this provider: nobody is signed in. */
  | { kind: 'conflict'; accountIds: string[]; reason: 'several_holders' | 'holder_differs' | 'trusted_values_differ' | 'other_identity_of_provider' };

export function decideLink(facts: LinkFacts, choice?: LinkChoice): LinkDecision {
  const holders = [...new Set(facts.holders)];
  if (holders.length > 1) return { kind: 'conflict', accountIds: holders, reason: 'several_holders' };
  const holder = holders[0];
  if (holder !== undefined) {
    if (choice && 'provenAccount' in choice && choice.provenAccount !== holder) {
      return { kind: 'conflict', accountIds: [holder, choice.provenAccount], reason: 'holder_differs' };
    }
    return { kind: 'existing', accountId: holder };
  }

  const trusted = [
    facts.trustVerifiedEmail && facts.emailVerifiedUpstream && facts.emailAccount ? { accountId: facts.emailAccount, reason: 'verified_email' as const } : undefined,
    facts.trustVerifiedPhone && facts.phoneVerifiedUpstream && facts.phoneAccount ? { accountId: facts.phoneAccount, reason: 'verified_phone' as const } : undefined,
  ].filter((t) => t !== undefined);

  if (choice && 'provenAccount' in choice) {
    if (choice.hasOtherOfProvider) return { kind: 'conflict', accountIds: [choice.provenAccount], reason: 'other_identity_of_provider' };
    return { kind: 'link', accountId: choice.provenAccount, reason: 'proven' };
  }
  if (trusted.length > 0) {
    const ids = [...new Set(trusted.map((t) => t.accountId))];
    if (ids.length > 1) return { kind: 'conflict', accountIds: ids, reason: 'trusted_values_differ' };
    // The person is asked instead: they may create a Changhong ID; proving this account
    // would then conflict (other_identity_of_provider), as it does for anyone.
    if (facts.withOtherOfProvider?.includes(ids[0]!)) return choice && 'create' in choice ? { kind: 'create' } : { kind: 'choose' };
    return { kind: 'link', accountId: ids[0]!, reason: trusted[0]!.reason };
  }
  if (choice && 'create' in choice) return { kind: 'create' };
  return { kind: 'choose' };
}
