/**
 * Named errors of the host-step tasks. Step Functions matches Retry/Catch on
 * the Lambda's `errorType`, which is the thrown error's `name`: keep each
 * `name` stable, the state machines depend on the exact string.
 */

/** A step input (run context or extra) would not pass the document's `allowedPattern`. Nothing was sent. */
export class InvalidStepInputError extends Error {
  override readonly name = 'InvalidStepInputError';
  constructor(
    message: string,
    /** Parameter or field names that were refused; never their values. */
    readonly fields: string[] = [],
  ) {
    super(message);
  }
}

/** SSM refused the instance (not managed, not registered, terminated). The state machine maps it to `unreachable`. */
export class HostUnreachableError extends Error {
  override readonly name = 'HostUnreachableError';
  constructor(
    readonly instanceId: string,
    cause?: unknown,
  ) {
    super(`instance ${instanceId} is not reachable through SSM (InvalidInstanceId)`, { cause });
  }
}

/** No deployed version is known for a document (DOCUMENT_VERSIONS lacks it): nothing is sent rather than `$DEFAULT`. */
export class DocumentVersionUnknownError extends Error {
  override readonly name = 'DocumentVersionUnknownError';
  constructor(readonly documentName: string) {
    super(`no deployed version of SSM document ${documentName} is known (DOCUMENT_VERSIONS); nothing was sent`);
  }
}
