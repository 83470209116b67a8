/** A mistake in how a command was called: exit code 2 with the message, no stack. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The operator did not confirm, or a check said no: nothing was changed (exit code 3). */
export class RefusedError extends Error {
  override name = 'RefusedError';
}
