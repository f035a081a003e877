/** Why LocalStack could not be started; `code` is stable. */
export type LocalStackErrorCode =
  /** Nothing to start or reach: no endpoint, no usable container engine, no host-mode prerequisites; or an endpoint that never became ready. */
  | 'LOCALSTACK_UNAVAILABLE'
  /** The host-mode launcher exited non-zero; its last lines are in the message. */
  | 'LOCALSTACK_LAUNCHER_FAILED'
  /** No folder with the pinned `version` (a `localstackDir` or `SQS_ENVELOPE_LOCALSTACK_DIR` that has none). */
  | 'LOCALSTACK_NOT_FOUND'
  /** Container mode could not be used: testcontainers missing, image absent and not pullable, container failed or never became ready. */
  | 'LOCALSTACK_CONTAINER_FAILED'
  /** An option out of range: `mode` / `SQS_ENVELOPE_LOCALSTACK_MODE`, `port`, `startupTimeoutMs`, `endpoint`. */
  | 'LOCALSTACK_BAD_OPTION'

export class LocalStackError extends Error {
  override readonly name = 'LocalStackError'
  readonly code: LocalStackErrorCode

  constructor(code: LocalStackErrorCode, message: string, options?: ErrorOptions) {
    super(message, options)
    this.code = code
  }
}
