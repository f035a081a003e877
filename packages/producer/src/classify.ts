/** What a failed SendMessageBatch entry, or a failed request, means for the messages in it. */
export interface SendFailureInfo {
  /** The SQS error code (`Code` of the entry, or the error's name), e.g. `InvalidParameterValue`. */
  readonly sqsCode: string
  /** Worth sending again after a backoff: throttling, SQS 5xx, network. */
  readonly retryable: boolean
  /** The request may have reached SQS before it failed (no answer, or a 5xx): a retry may duplicate it. */
  readonly mayHaveBeenSent: boolean
}

const THROTTLING_CODES = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'KmsThrottled',
  'KMS.ThrottlingException',
])

// Entry codes that say SQS itself failed, whatever SenderFault says.
const SERVICE_CODES = new Set(['InternalError', 'InternalFailure', 'ServiceUnavailable', 'RequestTimeout'])

/** A `BatchResultErrorEntry`: retryable unless SQS says the sender is at fault (throttling aside). */
export function classifyEntryFailure(entry: { Code?: string | undefined; SenderFault?: boolean | undefined }) {
  const sqsCode = entry.Code || 'UnknownError'
  const retryable = THROTTLING_CODES.has(sqsCode) || SERVICE_CODES.has(sqsCode) || entry.SenderFault !== true
  // SQS answered for this entry: it did not take it.
  return { sqsCode, retryable, mayHaveBeenSent: false } satisfies SendFailureInfo
}

const NETWORK_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'NetworkingError'])

interface AwsLikeError {
  name?: unknown
  code?: unknown
  $fault?: unknown
  $metadata?: { httpStatusCode?: unknown }
  $retryable?: { throttling?: unknown }
}

/**
 * An error thrown by a whole SendMessageBatch request. Throttling and 5xx are retried; a 4xx
 * answer (queue gone, access denied, bad request) is not. A network error without an HTTP answer
 * (timeout, connection reset) is retried but may have been delivered; a failure before sending
 * (missing region) is not retried, and missing credentials are retried (the provider may recover).
 */
export function classifyRequestFailure(error: unknown): SendFailureInfo {
  const e = (typeof error === 'object' && error !== null ? error : {}) as AwsLikeError
  const name = typeof e.name === 'string' && e.name !== '' ? e.name : 'UnknownError'
  const sqsCode = name === 'Error' && typeof e.code === 'string' ? e.code : name
  const status = typeof e.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : undefined
  if (THROTTLING_CODES.has(name) || status === 429 || e.$retryable?.throttling === true) {
    return { sqsCode, retryable: true, mayHaveBeenSent: false }
  }
  if ((status !== undefined && status >= 500) || SERVICE_CODES.has(name)) {
    return { sqsCode, retryable: true, mayHaveBeenSent: true }
  }
  if (status === undefined) {
    // No HTTP answer: a network error (a system error code, a timeout) may have reached SQS; an
    // error thrown before sending (a missing region, say) is the configuration's and is not retried.
    if (typeof e.code === 'string' || NETWORK_NAMES.has(name))
      return { sqsCode, retryable: true, mayHaveBeenSent: true }
    if (name === 'CredentialsProviderError') return { sqsCode, retryable: true, mayHaveBeenSent: false }
  }
  return { sqsCode, retryable: false, mayHaveBeenSent: false }
}

/** A request abandoned after `requestTimeoutMs`: like a network error, it may have reached SQS. */
export const TIMED_OUT: SendFailureInfo = Object.freeze({
  sqsCode: 'TimeoutError',
  retryable: true,
  mayHaveBeenSent: true,
})

/** A request or backoff stopped by the send's own signal. */
export const ABORTED: SendFailureInfo = Object.freeze({
  sqsCode: 'AbortError',
  retryable: true,
  mayHaveBeenSent: false,
})
