import { channel } from 'node:diagnostics_channel'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  GetQueueAttributesCommand,
  type MessageAttributeValue as SdkAttributeValue,
  SendMessageBatchCommand,
  type SendMessageBatchCommandOutput,
  type SendMessageBatchRequestEntry,
  SQSClient,
} from '@aws-sdk/client-sqs'
import { type EncryptionContext, EnvelopeSealer, isSqsEnvelopeError, SqsEnvelopeError } from '@sqs-envelope/core'
import { ATTRIBUTE_CONTENT_TYPE, type ContentType, encodeAttributes } from '@sqs-envelope/core/wire'
import pLimit from 'p-limit'
import { backoffMs, classifyEntryFailure, classifyRequestFailure, type SendFailureInfo } from './classify.ts'
import { DeduplicationIds } from './deduplication.ts'
import {
  isMessage,
  isRefused,
  type Job,
  MAX_ATTRIBUTES,
  type PreparedJob,
  prepareJob,
  type QueueFacts,
} from './jobs.ts'
import { type ProducerOptions, type ResolvedProducerOptions, resolveProducerOptions } from './options.ts'
import { entryIdFor, planBatches } from './plan.ts'
import { type ProducerMetrics, type SendFailed, SendFailure, type SendResult } from './results.ts'
import { attributesBytes, dataKeyCharsOf, MAX_DATA_KEY_CHARS, MIN_DATA_KEY_CHARS, sealedBodyBytes } from './size.ts'

/** Per-send options. */
export interface SendOptions {
  /** Aborts the KMS and SQS requests and backoffs of this send; unsent messages fail with ABORTED. */
  readonly signal?: AbortSignal
}

interface QueueInfo extends QueueFacts {
  readonly contentBasedDeduplication: boolean
}

/** A message sealed, measured and ready for a batch entry. */
interface SealedJob {
  readonly job: PreparedJob
  readonly body: string
  readonly attributes: Record<string, SdkAttributeValue>
  readonly bytes: number
  readonly deduplicationId: string | undefined
}

/**
 * `node:diagnostics_channel` name on which every SendMessageBatch request is reported as a
 * {@link ProducerBatchEvent}; costs nothing while nobody subscribes.
 */
export const PRODUCER_BATCH_CHANNEL = 'sqs-envelope:producer:batch'

/** One SendMessageBatch request (one attempt): counts and timing only, never contents. */
export interface ProducerBatchEvent {
  readonly queueUrl: string
  /** 1 for the first request of these entries, more for retries. */
  readonly attempt: number
  readonly entries: number
  readonly succeeded: number
  /** Entries SQS failed, or all of them when the request itself failed. */
  readonly failed: number
  /** When the whole request failed: the error's name. */
  readonly sqsCode?: string
  readonly durationMs: number
}

const batchChannel = channel(PRODUCER_BATCH_CHANNEL)

const QUEUE_ATTRIBUTES = ['MaximumMessageSize', 'FifoQueue', 'ContentBasedDeduplication'] as const

// A send() is sealed and sent in windows of at most this many jobs and this much payload (see #send).
// Requests are packed optimally within a window: a send() of several windows may take one request
// per window more than the optimum for all of its jobs at once.
const WINDOW_JOBS = 1000
const WINDOW_PAYLOAD_BYTES = 8 * 1024 * 1024

/**
 * Publishes end-to-end encrypted jobs to one SQS queue, in `sqs-producer`'s shape: seals each job
 * with a reused KMS data key, packs them into SendMessageBatch requests by count and by size,
 * sends those concurrently, retries only the entries that failed for a passing cause, and returns
 * one result per job in input order.
 *
 * @example
 * const producer = Producer.create({ queueUrl, kmsKeyId: 'alias/orders', contentType: 'json' })
 * const results = await producer.send([{ orderId: 1 }, { orderId: 2 }])
 * for (const r of results) if (!r.ok) console.error(r.index, r.error.code, r.error.retryable)
 * await producer.close()
 */
export class Producer<C extends ContentType = 'text'> {
  /** The same as `new Producer(options)`, as in sqs-producer. */
  static create<C extends ContentType = 'text'>(options: ProducerOptions<C>): Producer<C> {
    return new Producer<C>(options)
  }

  readonly #options: ResolvedProducerOptions
  readonly #sealer: EnvelopeSealer
  readonly #ownsSealer: boolean
  readonly #sqs: SQSClient
  readonly #ownsSqs: boolean
  readonly #deduplication: DeduplicationIds | undefined
  // The sealer's own context when we built it. An injected sealer's is not known before it seals:
  // sizes before sealing are then lower bounds, and the exact check comes right after sealing.
  readonly #defaultContext: EncryptionContext | undefined
  readonly #limit: ReturnType<typeof pLimit>
  readonly #inFlight = new Set<Promise<unknown>>()
  // FIFO: per group, the gate of the latest send that has messages of it.
  readonly #groupTails = new Map<string, Promise<void>>()
  readonly #contentTypeAttributes = new Map<ContentType, SdkAttributeValue>()
  readonly #envelopeBytes = new Map<ContentType, number>()
  readonly #counts = { messagesSent: 0, messagesFailed: 0, batches: 0, retries: 0, bytesSent: 0 }
  #queue: Promise<QueueInfo> | undefined
  // Base64 characters of the current data key's CiphertextBlob, learnt from the first seal.
  #dataKeyChars: number | undefined
  #closing: Promise<void> | undefined

  constructor(options: ProducerOptions<C>) {
    this.#options = resolveProducerOptions(options)
    if (options.sealer !== undefined) {
      // Duck-typed, so a sealer from another copy of @sqs-envelope/core is accepted.
      const { seal, metrics } = options.sealer as Partial<EnvelopeSealer>
      if (typeof seal !== 'function' || typeof metrics !== 'function') {
        throw new SqsEnvelopeError('OPTION_INVALID', 'sealer must be an EnvelopeSealer; received another object')
      }
      this.#sealer = options.sealer
      this.#ownsSealer = false
      this.#defaultContext = undefined
    } else {
      // The deduplication secret stays here: the sealer has no use for it.
      const { queueUrl: _q, sqs: _s, contentType: _c, deduplicationSecret: _d, ...sealerOptions } = options
      this.#sealer = new EnvelopeSealer(sealerOptions)
      this.#ownsSealer = true
      this.#defaultContext = options.encryptionContext
    }
    if (options.sqs) {
      this.#sqs = options.sqs
      this.#ownsSqs = false
    } else {
      this.#sqs = new SQSClient({
        maxAttempts: 1,
        ...(options.region === undefined ? {} : { region: options.region }),
        ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
      })
      this.#ownsSqs = true
    }
    const secret = this.#options.deduplicationSecret
    this.#deduplication = secret ? new DeduplicationIds(secret) : undefined
    secret?.fill(0)
    this.#limit = pLimit(this.#options.concurrency)
  }

  /** The queue this producer sends to. */
  get queueUrl(): string {
    return this.#options.queueUrl
  }

  /**
   * Seals and sends one job or many. Resolves with one result per job, in input order: a
   * `messageId` (and `sequenceNumber` on FIFO queues), or a {@link SendFailure} with a stable
   * `code`, the SQS error code, whether it is retryable and whether it may have been sent.
   * Rejects only when nothing can be sent: the queue's attributes cannot be read, the
   * configuration does not fit the queue, or the producer is closed.
   */
  send(jobs: Job<C> | readonly Job<C>[], options: SendOptions = {}): Promise<SendResult[]> {
    if (this.#closing) return Promise.reject(new SqsEnvelopeError('CLOSED', 'the producer is closed'))
    const list: readonly unknown[] = Array.isArray(jobs) ? jobs : [jobs]
    const { earlier, release } = this.#reserveGroups(list)
    const run = this.#send(list, options.signal, earlier)
    this.#inFlight.add(run)
    const settle = () => {
      this.#inFlight.delete(run)
      release()
    }
    run.then(settle, settle)
    return run
  }

  /**
   * FIFO queues (their names end in `.fifo`): sends of the same group go out in call order, so
   * each send waits, group by group, for the sends called before it. Taken synchronously, at call time.
   */
  #reserveGroups(list: readonly unknown[]) {
    const earlier = new Map<string, Promise<void>>()
    if (!this.#options.queueUrl.endsWith('.fifo')) return { earlier, release: () => {} }
    let release = () => {}
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    const groups = new Set<string>()
    for (const job of list) if (isMessage(job) && typeof job.groupId === 'string') groups.add(job.groupId)
    for (const group of groups) {
      const previous = this.#groupTails.get(group)
      if (previous) earlier.set(group, previous)
      this.#groupTails.set(group, gate)
    }
    return {
      earlier,
      release: () => {
        release()
        for (const group of groups) if (this.#groupTails.get(group) === gate) this.#groupTails.delete(group)
      },
    }
  }

  /** ApproximateNumberOfMessages of the queue, as sqs-producer's `queueSize()`; `signal` aborts the request. */
  async queueSize(options: SendOptions = {}): Promise<number> {
    const attributes = await this.#getAttributes(['ApproximateNumberOfMessages'], options.signal)
    return Number(attributes.ApproximateNumberOfMessages ?? 0)
  }

  /** Counters so far, with the sealer's KMS counters. */
  metrics(): ProducerMetrics {
    return Object.freeze({ ...this.#counts, kms: this.#sealer.metrics() })
  }

  /**
   * Refuses new sends, waits for those under way, then zero-fills the data keys and destroys the
   * clients it built (an injected sealer or client stays open). Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await Promise.allSettled([...this.#inFlight])
      if (this.#ownsSealer) this.#sealer.close()
      if (this.#ownsSqs) this.#sqs.destroy()
    })()
    return this.#closing
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }

  toJSON(): { queueUrl: string; kmsKeyId: string } {
    return { queueUrl: this.#options.queueUrl, kmsKeyId: this.#sealer.kmsKeyId }
  }

  /** GetQueueAttributes, retried like a batch on throttling, 5xx and network errors. */
  async #getAttributes(names: readonly string[], signal?: AbortSignal): Promise<Record<string, string>> {
    for (let attempt = 1; ; attempt++) {
      try {
        const { Attributes } = await this.#sqs.send(
          new GetQueueAttributesCommand({ QueueUrl: this.#options.queueUrl, AttributeNames: [...names] as never }),
          { abortSignal: signal },
        )
        return Attributes ?? {}
      } catch (error) {
        const info = classifyRequestFailure(error)
        const aborted = signal?.aborted === true
        if (!aborted && info.retryable && attempt < this.#options.maxAttempts) {
          await sleep(backoffMs(attempt, this.#options), undefined, signal ? { signal } : undefined).catch(() => {})
          continue
        }
        throw new SqsEnvelopeError(
          aborted ? 'ABORTED' : info.retryable ? 'SQS_UNAVAILABLE' : 'SQS_REJECTED',
          `SQS GetQueueAttributes failed with ${aborted ? 'AbortError' : info.sqsCode} after ${attempt === 1 ? '1 attempt' : `${attempt} attempts`}`,
          { cause: error },
        )
      }
    }
  }

  /**
   * The queue's size limit and type, read once (a failed read is tried again by the next send). The
   * read is shared by every send that waits for it, so no one send's signal aborts it: an aborted
   * send stops waiting, and the others still get their answer.
   */
  #queueInfo(signal: AbortSignal | undefined): Promise<QueueInfo> {
    if (signal?.aborted && this.#queue === undefined) return Promise.reject(abortedBeforeQueueInfo(signal))
    this.#queue ??= this.#getAttributes(QUEUE_ATTRIBUTES).then(
      (attributes) => ({
        maxMessageBytes: Number(attributes.MaximumMessageSize ?? 262_144),
        fifo: attributes.FifoQueue === 'true' || this.#options.queueUrl.endsWith('.fifo'),
        contentBasedDeduplication: attributes.ContentBasedDeduplication === 'true',
      }),
      (error: unknown) => {
        this.#queue = undefined
        throw error
      },
    )
    return signal === undefined ? this.#queue : untilAborted(this.#queue, signal)
  }

  async #send(
    list: readonly unknown[],
    signal: AbortSignal | undefined,
    earlier: ReadonlyMap<string, Promise<void>>,
  ): Promise<SendResult[]> {
    const queue = await this.#queueInfo(signal)
    const contentBased = this.#options.contentBasedDeduplication ?? queue.contentBasedDeduplication
    if (queue.fifo && contentBased && !this.#deduplication) {
      throw new SqsEnvelopeError(
        'OPTION_INVALID',
        'this FIFO queue has ContentBasedDeduplication, which cannot work on encrypted bodies (each seal is random ' +
          'ciphertext): give the producer a deduplicationSecret so it derives ids with HMAC-SHA256 of the plaintext, ' +
          'or set contentBasedDeduplication: false to send without deduplication',
      )
    }
    const results: SendResult[] = new Array(list.length)
    const fail = (index: number, id: string | undefined, error: SendFailure) => {
      this.#counts.messagesFailed++
      results[index] = { ok: false, index, ...(id === undefined ? {} : { id }), error } satisfies SendFailed
    }
    const refuse = (job: { index: number; id: string | undefined }, code: SqsEnvelopeError['code'], message: string) =>
      fail(job.index, job.id, new SendFailure(code, message, { retryable: false, mayHaveBeenSent: false, attempts: 0 }))

    // 1. Check and encode every job; refuse what cannot fit whatever the data key, before any KMS call.
    const ready: PreparedJob[] = []
    for (let i = 0; i < list.length; i++) {
      const job = prepareJob(list[i], i, this.#options.contentType, queue)
      if (isRefused(job)) {
        refuse(job, job.code, job.message)
      } else if (queue.fifo && job.deduplicationId === undefined && !contentBased && !queue.contentBasedDeduplication) {
        refuse(
          job,
          'MESSAGE_INVALID',
          'deduplicationId is required on this FIFO queue: it has no content-based deduplication and the producer no contentBasedDeduplication',
        )
      } else {
        const atLeast = this.#sizeWith(job, this.#dataKeyChars ?? MIN_DATA_KEY_CHARS)
        if (atLeast > queue.maxMessageBytes)
          refuse(job, 'MESSAGE_TOO_LARGE', tooLarge(atLeast, queue, this.#dataKeyChars === undefined))
        else ready.push(job)
      }
    }

    // 2. Seal. Until the data key's length is known, one job that fits whatever KMS returns goes
    // first, so the size check of all the others is exact before their seal.
    const sealOne = async (job: PreparedJob, checkFirst: boolean): Promise<SealedJob | undefined> => {
      if (checkFirst && this.#dataKeyChars !== undefined) {
        const size = this.#sizeWith(job, this.#dataKeyChars)
        if (size > queue.maxMessageBytes) {
          refuse(job, 'MESSAGE_TOO_LARGE', tooLarge(size, queue, false))
          return undefined
        }
      }
      try {
        const out = await this.#seal(job, queue, contentBased, signal)
        if (!('refused' in out)) return out
        refuse(job, out.refused, out.message)
      } catch (error) {
        const cause = isSqsEnvelopeError(error)
          ? error
          : new SqsEnvelopeError('KMS_UNAVAILABLE', 'sealing failed', { cause: error })
        fail(
          job.index,
          job.id,
          new SendFailure(cause.code, cause.message, {
            retryable: cause.kind === 'transient',
            mayHaveBeenSent: false,
            attempts: 0,
            cause,
          }),
        )
      }
      return undefined
    }
    let first: { job: PreparedJob; sealed: SealedJob | undefined } | undefined
    if (this.#dataKeyChars === undefined && ready.length > 0) {
      const job =
        ready.find((candidate) => this.#sizeWith(candidate, MAX_DATA_KEY_CHARS) <= queue.maxMessageBytes) ??
        (ready[0] as PreparedJob)
      first = { job, sealed: await sealOne(job, false) }
    }

    // 3 and 4, window by window of jobs in input order (up to WINDOW_JOBS jobs or WINDOW_PAYLOAD_BYTES
    // of payload): a window is packed into requests by count and size and sent under the concurrency
    // bound while the next one is sealed. A large send() so starts sending before its last seal and
    // holds at most two windows of sealed bodies ahead of their sends, not all of them. On FIFO
    // queues a batch waits for the earlier batches of its groups (retries included), and the first
    // ones for earlier sends, so order within a group holds.
    const tails = new Map(earlier)
    const windows: Promise<unknown>[] = []
    for (let start = 0, end = 0; start < ready.length; start = end) {
      let payloadBytes = 0
      for (end = start; end < ready.length && end - start < WINDOW_JOBS; end++) {
        payloadBytes += (ready[end] as PreparedJob).plaintextBytes
        if (payloadBytes > WINDOW_PAYLOAD_BYTES && end > start) break
      }
      // The window before the previous one is sent before this one is sealed: sealed bodies stay bounded.
      if (windows.length >= 2) await windows[windows.length - 2]
      const jobs = ready.slice(start, end)
      // Promise.all keeps input order, which FIFO needs.
      const sealed = (
        await Promise.all(jobs.map((job) => (job === first?.job ? first.sealed : sealOne(job, true))))
      ).filter((out): out is SealedJob => out !== undefined)
      const plan = planBatches(
        sealed.map((s) => s.bytes),
        { maxEntries: this.#options.batchSize, maxBytes: queue.maxMessageBytes },
        queue.fifo,
      )
      const tasks = plan.map((positions) => {
        const entries = positions.map((k) => sealed[k] as SealedJob)
        const before = queue.fifo
          ? [...new Set(entries.map((e) => tails.get(e.job.groupId as string)))].filter((t) => t !== undefined)
          : []
        const task = Promise.all(before).then(() => this.#limit(() => this.#sendBatch(entries, results, fail, signal)))
        if (queue.fifo) for (const e of entries) tails.set(e.job.groupId as string, task)
        return task
      })
      const sent = Promise.all(tasks)
      // Awaited below (and maybe above); a failure before then must not count as unhandled.
      sent.catch(() => {})
      windows.push(sent)
    }
    await Promise.all(windows)
    return results
  }

  /** Exact size of a job once sealed under a data key of `dataKeyChars`; a lower bound when the context is unknown. */
  #sizeWith(job: PreparedJob, dataKeyChars: number): number {
    return sealedBodyBytes(job.plaintextBytes, dataKeyChars) + job.attributeBytes + this.#envelopeAttributeBytes(job)
  }

  /** The envelope's attributes: measured once per job under its own context, once per content type under the producer's. */
  #envelopeAttributeBytes(job: PreparedJob): number {
    if (job.contextAttributeBytes !== undefined) return job.contextAttributeBytes
    let bytes = this.#envelopeBytes.get(job.contentType)
    if (bytes === undefined) {
      const context = this.#defaultContext
      bytes = attributesBytes(
        encodeAttributes(
          context ? { contentType: job.contentType, encryptionContext: context } : { contentType: job.contentType },
        ),
      )
      this.#envelopeBytes.set(job.contentType, bytes)
    }
    return bytes
  }

  /** Seals one job, and measures it exactly: a refusal when the sealed message breaks a limit. */
  async #seal(
    job: PreparedJob,
    queue: QueueInfo,
    contentBased: boolean,
    signal: AbortSignal | undefined,
  ): Promise<SealedJob | { refused: SqsEnvelopeError['code']; message: string }> {
    // A json payload is already a JSON string: sealed as text (the same bytes), then labelled json,
    // so it is not stringified twice.
    const { body, messageAttributes } = await this.#sealer.seal(job.plaintext, {
      contentType: job.contentType === 'json' ? 'text' : job.contentType,
      ...(job.encryptionContext === undefined ? {} : { encryptionContext: job.encryptionContext }),
      ...(signal === undefined ? {} : { signal }),
    })
    this.#dataKeyChars = dataKeyCharsOf(body, job.plaintextBytes)
    const attributes: Record<string, SdkAttributeValue> = messageAttributes
    if (job.contentType === 'json') attributes[ATTRIBUTE_CONTENT_TYPE] = this.#contentTypeAttribute('json')
    if (job.messageAttributes) Object.assign(attributes, job.messageAttributes)
    if (Object.keys(attributes).length > MAX_ATTRIBUTES) {
      return { refused: 'TOO_MANY_ATTRIBUTES', message: tooManyAttributes() }
    }
    // The body is ASCII (base64 and JSON punctuation): its length is its UTF-8 size.
    const bytes = body.length + attributesBytes(attributes)
    if (bytes > queue.maxMessageBytes) return { refused: 'MESSAGE_TOO_LARGE', message: tooLarge(bytes, queue, false) }
    const deduplicationId =
      job.deduplicationId ??
      (queue.fifo && contentBased ? this.#deduplication?.idFor(job.contentType, job.plaintext) : undefined)
    return { job, body, attributes, bytes, deduplicationId }
  }

  #contentTypeAttribute(contentType: ContentType): SdkAttributeValue {
    let attribute = this.#contentTypeAttributes.get(contentType)
    if (attribute === undefined) {
      attribute = encodeAttributes({ contentType })[ATTRIBUTE_CONTENT_TYPE] as SdkAttributeValue
      this.#contentTypeAttributes.set(contentType, attribute)
    }
    return attribute
  }

  /** Sends one batch until every entry succeeded or failed for good; only retryable failures are sent again. */
  async #sendBatch(
    entries: readonly SealedJob[],
    results: SendResult[],
    fail: (index: number, id: string | undefined, error: SendFailure) => void,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const { maxAttempts } = this.#options
    const maybeSent = new Set<number>()
    const failAll = (
      jobs: readonly SealedJob[],
      code: SqsEnvelopeError['code'],
      info: SendFailureInfo,
      attempts: number,
      cause?: unknown,
    ) => {
      for (const { job } of jobs) {
        const mayHaveBeenSent = info.mayHaveBeenSent || maybeSent.has(job.index)
        const what = code === 'ABORTED' ? 'aborted' : `failed with ${info.sqsCode}`
        const when =
          attempts === 0 ? 'before it was sent' : `after ${attempts === 1 ? '1 attempt' : `${attempts} attempts`}`
        fail(
          job.index,
          job.id,
          new SendFailure(code, `SQS SendMessageBatch ${what} ${when}`, {
            sqsCode: info.sqsCode,
            retryable: info.retryable,
            mayHaveBeenSent,
            attempts,
            ...(cause === undefined ? {} : { cause }),
          }),
        )
      }
    }
    let pending = entries
    for (let attempt = 1; pending.length > 0; attempt++) {
      if (attempt > 1) {
        this.#counts.retries += pending.length
        try {
          await sleep(backoffMs(attempt - 1, this.#options), undefined, signal ? { signal } : undefined)
        } catch {
          return failAll(
            pending,
            'ABORTED',
            { sqsCode: 'AbortError', retryable: true, mayHaveBeenSent: false },
            attempt - 1,
          )
        }
      }
      if (signal?.aborted) {
        const info = { sqsCode: 'AbortError', retryable: true, mayHaveBeenSent: false }
        return failAll(pending, 'ABORTED', info, attempt - 1)
      }
      const byId = new Map(pending.map((s) => [entryIdFor(s.job.index), s]))
      this.#counts.batches++
      const startedAt = batchChannel.hasSubscribers ? performance.now() : 0
      let response: SendMessageBatchCommandOutput
      try {
        response = await this.#sqs.send(
          new SendMessageBatchCommand({ QueueUrl: this.#options.queueUrl, Entries: pending.map(toEntry) }),
          { abortSignal: signal },
        )
      } catch (error) {
        const info = classifyRequestFailure(error)
        if (batchChannel.hasSubscribers) {
          batchChannel.publish({
            queueUrl: this.#options.queueUrl,
            attempt,
            entries: pending.length,
            succeeded: 0,
            failed: pending.length,
            sqsCode: info.sqsCode,
            durationMs: performance.now() - startedAt,
          } satisfies ProducerBatchEvent)
        }
        if (signal?.aborted) {
          return failAll(pending, 'ABORTED', { ...info, retryable: true, mayHaveBeenSent: true }, attempt, error)
        }
        if (info.mayHaveBeenSent) for (const s of pending) maybeSent.add(s.job.index)
        if (info.retryable && attempt < maxAttempts) continue
        return failAll(pending, info.retryable ? 'SQS_UNAVAILABLE' : 'SQS_REJECTED', info, attempt, error)
      }
      for (const entry of response.Successful ?? []) {
        const s = entry.Id === undefined ? undefined : byId.get(entry.Id)
        if (!s || entry.MessageId === undefined) continue
        byId.delete(entry.Id as string)
        this.#counts.messagesSent++
        this.#counts.bytesSent += s.bytes
        results[s.job.index] = {
          ok: true,
          index: s.job.index,
          ...(s.job.id === undefined ? {} : { id: s.job.id }),
          messageId: entry.MessageId,
          ...(entry.SequenceNumber === undefined ? {} : { sequenceNumber: entry.SequenceNumber }),
          bytes: s.bytes,
        }
      }
      const retry: SealedJob[] = []
      for (const entry of response.Failed ?? []) {
        const s = entry.Id === undefined ? undefined : byId.get(entry.Id)
        if (!s) continue
        byId.delete(entry.Id as string)
        const info = classifyEntryFailure(entry)
        if (info.retryable && attempt < maxAttempts) retry.push(s)
        else failAll([s], info.retryable ? 'SQS_UNAVAILABLE' : 'SQS_REJECTED', info, attempt)
      }
      if (batchChannel.hasSubscribers) {
        batchChannel.publish({
          queueUrl: this.#options.queueUrl,
          attempt,
          entries: pending.length,
          succeeded: response.Successful?.length ?? 0,
          failed: response.Failed?.length ?? 0,
          durationMs: performance.now() - startedAt,
        } satisfies ProducerBatchEvent)
      }
      // An entry SQS did not answer for: it may or may not be in the queue.
      if (byId.size > 0) {
        failAll(
          [...byId.values()],
          'SQS_UNAVAILABLE',
          { sqsCode: 'MissingEntryResult', retryable: true, mayHaveBeenSent: true },
          attempt,
        )
      }
      pending = retry
    }
  }
}

function toEntry({ job, body, attributes, deduplicationId }: SealedJob): SendMessageBatchRequestEntry {
  return {
    Id: entryIdFor(job.index),
    MessageBody: body,
    MessageAttributes: attributes,
    ...(job.groupId === undefined ? {} : { MessageGroupId: job.groupId }),
    ...(deduplicationId === undefined ? {} : { MessageDeduplicationId: deduplicationId }),
    ...(job.delaySeconds === undefined ? {} : { DelaySeconds: job.delaySeconds }),
  }
}

function abortedBeforeQueueInfo(signal: AbortSignal): SqsEnvelopeError {
  return new SqsEnvelopeError('ABORTED', "the send was aborted before the queue's attributes were known", {
    cause: signal.reason,
  })
}

/** `promise`, or an ABORTED rejection as soon as `signal` aborts, whichever comes first. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortedBeforeQueueInfo(signal))
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort)
        resolve(value)
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(error)
      },
    )
  })
}

function tooLarge(bytes: number, queue: QueueFacts, lowerBound: boolean): string {
  return `the sealed message would be ${lowerBound ? 'at least ' : ''}${bytes} bytes with its attributes; the queue's MaximumMessageSize is ${queue.maxMessageBytes}`
}

function tooManyAttributes(): string {
  return `a message may have ${MAX_ATTRIBUTES} attributes, counting those the envelope adds (2, or 3 with an encryption context)`
}
