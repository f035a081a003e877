import { type QueueAttributeName, SQSClient } from '@aws-sdk/client-sqs'
import { type EncryptionContext, EnvelopeSealer, SqsEnvelopeError } from '@sqs-envelope/core'
import { channelMetrics, clientFor, messagingTracer, USER_AGENT, untilAborted } from '@sqs-envelope/core/internal'
import type { ContentType } from '@sqs-envelope/core/wire'
import pLimit from 'p-limit'
import { BatchSending, publishSealed } from './batch.ts'
import { DeduplicationIds } from './deduplication.ts'
import { isMessage, isRefused, type Job, type PreparedJob, prepareJob } from './jobs.ts'
import { type ProducerOptions, type ResolvedProducerOptions, resolveProducerOptions } from './options.ts'
import { planBatches } from './plan.ts'
import type { ProducerMetrics, SendResult } from './results.ts'
import { type Counts, type QueueInfo, type SealedJob, SendRun } from './run.ts'
import { JobSealing } from './sealing.ts'
import { QueueRequests } from './sqs.ts'
import { planWindows } from './windows.ts'

/** Per-send options. */
export interface SendOptions {
  /** Aborts the KMS and SQS requests and backoffs of this send; unsent messages fail with ABORTED. */
  readonly signal?: AbortSignal
}

const QUEUE_ATTRIBUTES: readonly QueueAttributeName[] = ['MaximumMessageSize', 'FifoQueue', 'ContentBasedDeduplication']

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
  readonly #sealing: JobSealing
  readonly #requests: QueueRequests
  readonly #batches: BatchSending
  readonly #limit: ReturnType<typeof pLimit>
  readonly #inFlight = new Set<Promise<unknown>>()
  // FIFO: per group, the gate of the latest send that has messages of it.
  readonly #groupTails = new Map<string, Promise<void>>()
  readonly #counts: Counts = { messagesSent: 0, messagesFailed: 0, batches: 0, retries: 0, bytesSent: 0 }
  readonly #releaseMetrics: (() => void) | undefined
  #queue: Promise<QueueInfo> | undefined
  #closing: Promise<void> | undefined

  constructor(options: ProducerOptions<C>) {
    this.#options = resolveProducerOptions(options)
    const { sealer, defaultContext } = sealerFor(options)
    this.#sealer = sealer
    this.#ownsSealer = options.sealer === undefined
    // Our retry loop (sqsMaxAttempts, backoff) retries; the SDK's would multiply it.
    const { region, endpoint } = options
    const { requestTimeoutMs } = this.#options
    const sqs = clientFor(SQSClient, options.sqs, { region, endpoint, requestTimeoutMs, maxAttempts: 1, sqs: true })
    this.#sqs = sqs.client
    this.#ownsSqs = sqs.owned
    const secret = this.#options.deduplicationSecret
    this.#deduplication = secret ? new DeduplicationIds(secret) : undefined
    secret?.fill(0)
    const tracing = producerTracing(options, this.#options)
    this.#sealing = new JobSealing(sealer, defaultContext, this.#deduplication, tracing)
    this.#requests = new QueueRequests(this.#sqs, this.#ownsSqs, this.#options)
    this.#batches = new BatchSending(this.#requests, this.#options, this.#counts, tracing)
    this.#limit = pLimit(this.#options.concurrency)
    this.#releaseMetrics = channelMetrics(options)
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
    const attributes = await this.#requests.getAttributes(['ApproximateNumberOfMessages'], options.signal)
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
      this.#releaseMetrics?.()
    })()
    return this.#closing
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }

  toJSON(): { queueUrl: string; kmsKeyId: string } {
    return { queueUrl: this.#options.queueUrl, kmsKeyId: this.#sealer.kmsKeyId }
  }

  /**
   * The queue's size limit and type, read once (a failed read is tried again by the next send). The
   * read is shared by every send that waits for it, so no one send's signal aborts it: an aborted
   * send stops waiting, and the others still get their answer.
   */
  #queueInfo(signal: AbortSignal | undefined): Promise<QueueInfo> {
    if (signal?.aborted && this.#queue === undefined) return Promise.reject(abortedBeforeQueueInfo(signal))
    this.#queue ??= this.#requests.getAttributes(QUEUE_ATTRIBUTES).then(
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
    return signal === undefined ? this.#queue : untilAborted(this.#queue, signal, () => abortedBeforeQueueInfo(signal))
  }

  async #send(
    list: readonly unknown[],
    signal: AbortSignal | undefined,
    earlier: ReadonlyMap<string, Promise<void>>,
  ): Promise<SendResult[]> {
    const queue = await this.#queueInfo(signal)
    const run = new SendRun(list.length, queue, this.#contentBased(queue), signal, this.#counts)
    const ready = this.#prepare(list, run)
    const first = await this.#sealing.sealFirst(ready, run)
    // Window by window in input order: a window is sealed, packed into requests by count and size,
    // and sent under the concurrency bound while the next one is sealed. A large send() so starts
    // sending before its last seal, and holds at most two windows of sealed bodies ahead of their sends.
    const tails = new Map(earlier)
    const windows: Promise<unknown>[] = []
    for (const [start, end] of planWindows(ready)) {
      // The window before the previous one is sent before this one is sealed: sealed bodies stay bounded.
      if (windows.length >= 2) await windows[windows.length - 2]
      const sealed = await this.#sealing.sealWindow(ready.slice(start, end), first, run)
      publishSealed(this.#options.queueUrl, sealed.length)
      windows.push(this.#sendWindow(sealed, run, tails))
    }
    await Promise.all(windows)
    return run.results
  }

  /** Whether FIFO deduplication ids are derived from plaintext; refuses a queue whose own deduplication cannot work. */
  #contentBased(queue: QueueInfo): boolean {
    const contentBased = this.#options.contentBasedDeduplication ?? queue.contentBasedDeduplication
    if (queue.fifo && contentBased && !this.#deduplication) {
      throw new SqsEnvelopeError(
        'OPTION_INVALID',
        'this FIFO queue has ContentBasedDeduplication, which cannot work on encrypted bodies (each seal is random ' +
          'ciphertext): give the producer a deduplicationSecret so it derives ids with HMAC-SHA256 of the plaintext, ' +
          'or set contentBasedDeduplication: false to send without deduplication',
      )
    }
    return contentBased
  }

  /** Checks and encodes every job; refuses, before any KMS call, what is invalid or cannot fit whatever the data key. */
  #prepare(list: readonly unknown[], run: SendRun): PreparedJob[] {
    const { queue, contentBased } = run
    const ready: PreparedJob[] = []
    for (let i = 0; i < list.length; i++) {
      const job = prepareJob(list[i], i, this.#options.contentType, queue)
      if (isRefused(job)) {
        run.refuse(job, job.code, job.message)
      } else if (queue.fifo && job.deduplicationId === undefined && !contentBased && !queue.contentBasedDeduplication) {
        run.refuse(
          job,
          'MESSAGE_INVALID',
          'deduplicationId is required on this FIFO queue: it has no content-based deduplication and the producer no contentBasedDeduplication',
        )
      } else if (this.#sealing.mayFit(job, run)) {
        ready.push(job)
      }
    }
    return ready
  }

  /**
   * Packs a sealed window into requests and sends them under the concurrency bound. On FIFO queues
   * a batch waits for the earlier batches of its groups (retries included), and the first ones for
   * earlier sends, so order within a group holds.
   */
  #sendWindow(sealed: readonly SealedJob[], run: SendRun, tails: Map<string, Promise<unknown>>): Promise<unknown> {
    const { fifo, maxMessageBytes } = run.queue
    const limits = { maxEntries: this.#options.batchSize, maxBytes: maxMessageBytes }
    const plan = planBatches(
      sealed.map((s) => s.bytes),
      limits,
      fifo,
    )
    const tasks = plan.map((positions) => {
      const entries = positions.map((k) => sealed[k] as SealedJob)
      const before = fifo ? groupTails(entries, tails) : []
      const task = Promise.all(before).then(() => this.#limit(() => this.#batches.send(entries, run)))
      if (fifo) for (const e of entries) tails.set(e.job.groupId as string, task)
      return task
    })
    // Promise.all keeps input order, which FIFO needs.
    const sent = Promise.all(tasks)
    // Awaited later (and maybe earlier, to bound the windows); a failure before then is not unhandled.
    sent.catch(() => {})
    return sent
  }
}

/** The latest batches, before these entries, of the groups they belong to. */
function groupTails(entries: readonly SealedJob[], tails: ReadonlyMap<string, Promise<unknown>>): Promise<unknown>[] {
  const before = new Set<Promise<unknown>>()
  for (const e of entries) {
    const tail = tails.get(e.job.groupId as string)
    if (tail !== undefined) before.add(tail)
  }
  return [...before]
}

function abortedBeforeQueueInfo(signal: AbortSignal): SqsEnvelopeError {
  return new SqsEnvelopeError('ABORTED', "the send was aborted before the queue's attributes were known", {
    cause: signal.reason,
  })
}

/** The producer's tracer and its queue's span attributes; undefined when tracing is off. */
function producerTracing(options: ProducerOptions<ContentType>, resolved: ResolvedProducerOptions) {
  const tracer = messagingTracer('@sqs-envelope/producer', USER_AGENT[1] ?? '0.0.0', options)
  if (tracer === undefined) return undefined
  return { tracer, destination: tracer.destination(resolved.queueUrl), w3c: resolved.traceAttributes }
}

/** The sealer: the one given (duck-typed, so one from another copy of core is accepted), or one built from the options. */
function sealerFor(options: ProducerOptions<ContentType>): {
  sealer: EnvelopeSealer
  defaultContext: EncryptionContext | undefined
} {
  if (options.sealer !== undefined) {
    const { seal, metrics } = options.sealer as Partial<EnvelopeSealer>
    if (typeof seal !== 'function' || typeof metrics !== 'function') {
      throw new SqsEnvelopeError('OPTION_INVALID', 'sealer must be an EnvelopeSealer; received another object')
    }
    // Its context is not known before it seals (see JobSealing).
    return { sealer: options.sealer, defaultContext: undefined }
  }
  // The deduplication secret stays with the producer: the sealer has no use for it. The rest,
  // requestTimeoutMs included, are the sealer's options too.
  const {
    queueUrl: _q,
    sqs: _s,
    contentType: _c,
    deduplicationSecret: _d,
    tracing: _t,
    tracerProvider: _p,
    traceAttributes: _a,
    metrics: _m,
    meterProvider: _mp,
    ...sealerOptions
  } = options
  return {
    sealer: new EnvelopeSealer(sealerOptions),
    defaultContext: options.encryptionContext,
  }
}
