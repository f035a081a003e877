/** Why LocalStack could not be started; `code` is stable. */
export type LocalStackErrorCode = 'LOCALSTACK_UNAVAILABLE' | 'LOCALSTACK_LAUNCHER_FAILED' | 'LOCALSTACK_NOT_FOUND'

export class LocalStackError extends Error {
  readonly code: LocalStackErrorCode

  constructor(code: LocalStackErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'LocalStackError'
    this.code = code
  }
}
