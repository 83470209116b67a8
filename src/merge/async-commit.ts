/**
 * Bulk merge work commits without waiting for the disk: each batch carries its own
 * checkpoint (apply) or is simply read again (import), so a batch lost in a crash is redone
 * on resume and nothing is half-written. Never used for anything else.
 */
export const ASYNC_COMMIT = 'set local synchronous_commit to off';
