import type { MessageAttributeValue as SdkAttributeValue } from '@aws-sdk/client-sqs'
import { isSqsEnvelopeError, SqsEnvelopeError, type SqsEnvelopeErrorCode } from '@sqs-envelope/core'
import type { TraceSpanContext } from '@sqs-envelope/core/internal'
import type { SendFailureInfo } from './classify.ts'
import type { PreparedJob, QueueFacts } from './jobs.ts'
import { type SendFailed, SendFailure, type SendResult } from './results.ts'
import { attemptsText } from './sqs.ts'

/** What the producer read of its queue. */
export interface QueueInfo extends QueueFacts {
  readonly contentBasedDeduplication: boolean
}

/** A message sealed, measured and ready for a batch entry. */
export interface SealedJob {
  readonly job: PreparedJob
  readonly body: string
  readonly attributes: Record<string, SdkAttributeValue>
  readonly bytes: number
  readonly deduplicationId: string | undefined
  /** With tracing on: the job's create span, to link from its send span, and its `AWSTraceHeader`. */
  readonly trace: JobTrace | undefined
}

export interface JobTrace {
  readonly context: TraceSpanContext
  readonly header: string | undefined
}

/** The producer's counters, updated in place by every send. */
export interface Counts {
  messagesSent: number
  messagesFailed: number
  batches: number
  retries: number
  bytesSent: number
}

/** Who a result belongs to. */
interface JobRef {
  readonly index: number
  readonly id: string | undefined
}

/** One `send()`: its queue, its signal and its results, filled in input order as each job settles. */
export class SendRun {
  readonly results: SendResult[]
  readonly queue: QueueInfo
  /** FIFO: derive deduplication ids from the plaintext. */
  readonly contentBased: boolean
  readonly signal: AbortSignal | undefined
  readonly #counts: Counts

  constructor(jobs: number, queue: QueueInfo, contentBased: boolean, signal: AbortSignal | undefined, counts: Counts) {
    this.results = new Array(jobs)
    this.queue = queue
    this.contentBased = contentBased
    this.signal = signal
    this.#counts = counts
  }

  /** SQS took the message. */
  succeed({ job, bytes }: SealedJob, messageId: string, sequenceNumber: string | undefined): void {
    this.#counts.messagesSent++
    this.#counts.bytesSent += bytes
    this.results[job.index] = {
      ok: true,
      index: job.index,
      ...(job.id === undefined ? {} : { id: job.id }),
      messageId,
      ...(sequenceNumber === undefined ? {} : { sequenceNumber }),
      bytes,
    }
  }

  fail({ index, id }: JobRef, error: SendFailure): void {
    this.#counts.messagesFailed++
    this.results[index] = { ok: false, index, ...(id === undefined ? {} : { id }), error } satisfies SendFailed
  }

  /** Refused before any SQS call: a limit or a field the job breaks. */
  refuse(job: JobRef, code: SqsEnvelopeErrorCode, message: string): void {
    this.fail(job, new SendFailure(code, message, { retryable: false, mayHaveBeenSent: false, attempts: 0 }))
  }

  /** Sealing failed (KMS, or the payload): nothing was sent. */
  sealFailed(job: JobRef, error: unknown): void {
    const cause = isSqsEnvelopeError(error)
      ? error
      : new SqsEnvelopeError('KMS_UNAVAILABLE', 'sealing failed', { cause: error })
    const details = { retryable: cause.kind === 'transient', mayHaveBeenSent: false, attempts: 0, cause }
    this.fail(job, new SendFailure(cause.code, cause.message, details))
  }

  /** SendMessageBatch failed these for good after `attempts` requests; `maybeSent` holds those an earlier attempt may have delivered. */
  failSending(
    sealed: readonly SealedJob[],
    code: SqsEnvelopeErrorCode,
    info: SendFailureInfo,
    attempts: number,
    maybeSent: ReadonlySet<number>,
    cause?: unknown,
  ): void {
    const what = code === 'ABORTED' ? 'aborted' : `failed with ${info.sqsCode}`
    const when = attempts === 0 ? 'before it was sent' : `after ${attemptsText(attempts)}`
    const message = `SQS SendMessageBatch ${what} ${when}`
    for (const { job } of sealed) {
      const mayHaveBeenSent = info.mayHaveBeenSent || maybeSent.has(job.index)
      const details = { sqsCode: info.sqsCode, retryable: info.retryable, mayHaveBeenSent, attempts }
      this.fail(job, new SendFailure(code, message, cause === undefined ? details : { ...details, cause }))
    }
  }
}
