/** How a person signed in (the audit log's `detail.method`). */
export type SignInMethod = 'password' | 'legacy_password' | 'sms' | 'email_code' | 'upstream';
export type SignInOutcome = 'success' | 'failure' | 'throttled';

/** Told of each sign-in attempt as it is decided (metrics); must not throw. */
export type SignInObserver = (method: SignInMethod, outcome: SignInOutcome) => void;
