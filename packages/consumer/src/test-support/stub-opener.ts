// A stand-in opener for unit tests of the consumer: bodies are JSON `{ "encrypted_data_key", "job" }`
// (opened to `job`) or `{ "fail": "<code>" }` (the open fails with that SqsEnvelopeError code).
import type { Message } from '@aws-sdk/client-sqs'
import { type KmsMetrics, type OpenedMessage, SqsEnvelopeError, type SqsEnvelopeErrorCode } from '@sqs-envelope/core'
import type { MessageOpener } from '../opening.ts'

export const STUB_KEY_ARN = 'arn:aws:kms:us-east-1:000000000000:key/11111111-2222-3333-4444-555555555555'

/** A body the stub opens to `job`, sealed (as it were) under data key `dataKey`. */
export function sealedBody(job: unknown, dataKey = 'k1'): string {
  return JSON.stringify({ encrypted_data_key: dataKey, job })
}

/** A body whose open fails with `code`. */
export function failingBody(code: SqsEnvelopeErrorCode, dataKey = 'bad'): string {
  return JSON.stringify({ encrypted_data_key: dataKey, fail: code })
}

/** A body whose open never settles until its signal aborts. */
export const HANGING_BODY = JSON.stringify({ encrypted_data_key: 'slow', hang: true })

export interface StubOpener extends MessageOpener {
  /** Signals the opens were given, to check that stop() reaches them. */
  readonly signals: AbortSignal[]
  closed: number
}

export function stubOpener(): StubOpener {
  const metrics: KmsMetrics = {
    generateDataKeyCalls: 0,
    decryptCalls: 0,
    cacheHits: 0,
    cacheMisses: 0,
    singleFlightJoins: 0,
    throttles: 0,
    retries: 0,
    keysEvicted: 0,
    failedDataKeyCacheHits: 0,
  }
  const stub: StubOpener = {
    signals: [],
    closed: 0,
    open: (async (message: Message, options?: { signal?: AbortSignal }) => {
      if (options?.signal) stub.signals.push(options.signal)
      const body = JSON.parse(message.Body ?? 'null') as {
        job?: unknown
        fail?: SqsEnvelopeErrorCode
        hang?: boolean
      } | null
      if (body?.hang) {
        // An open waiting on a KMS call that never answers: only its signal ends it.
        await new Promise((_, reject) =>
          options?.signal?.addEventListener('abort', () => reject(options.signal?.reason)),
        )
      }
      if (body?.fail) throw new SqsEnvelopeError(body.fail, `stub open failed with ${body.fail}`)
      const opened: OpenedMessage = {
        plaintext: Buffer.from(JSON.stringify(body?.job)),
        value: body?.job,
        contentType: 'json',
        kmsKeyArn: STUB_KEY_ARN,
        encryptionContext: undefined,
      }
      return opened
    }) as MessageOpener['open'],
    metrics: () => metrics,
    close: () => {
      stub.closed++
    },
  }
  return stub
}
