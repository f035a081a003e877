import { Buffer } from 'node:buffer'
import { channel } from 'node:diagnostics_channel'
import { EventEmitter } from 'node:events'
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  type Message,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs'
import { EnvelopeOpener, isSqsEnvelopeError, type OpenedMessage, SqsEnvelopeError } from '@sqs-envelope/core'
import { timerOption } from '@sqs-envelope/core/validation'
import { backoffMs, backoffSeconds } from './backoff.ts'
import { KmsBreaker, SUSPECT_KMS_CODES } from './breaker.ts'
import type { ConsumerEvents, ConsumerMetrics, MessageRef, QuarantineEvent } from './events.ts'
import {
  acknowledgedIds,
  type BatchHandler,
  type MessageContext,
  type MessageHandler,
  type ReceivedJob,
} from './handler.ts'
import { type ConsumerOptions, type ResolvedConsumerOptions, resolveConsumerOptions } from './options.ts'
import { type Poller, SqsConsumerPoller } from './poller.ts'
import { deadLetterQueueUrl, quarantineInput } from './quarantine.ts'

/** `stopped` → `running` (start) → `stopping` (stop) → `stopped`. */
export type ConsumerState = 'stopped' | 'running' | 'stopping'

export interface ConsumerStatus {
  /** As in sqs-consumer: started and not stopped. */
  readonly isRunning: boolean
  /** A receive is pending on at least one poller. */
  readonly isPolling: boolean
  readonly state: ConsumerState
  readonly breaker: 'closed' | 'open' | 'half-open'
}

export interface StopOptions {
  /** How long in-flight handlers may run before their signals are aborted, in ms. @defaultValue `drainTimeoutMs` */
  readonly timeoutMs?: number
}

type Opened =
  | { readonly kind: 'opened'; readonly message: Message; readonly opened: OpenedMessage }
  | { readonly kind: 'poison'; readonly message: Message; readonly error: SqsEnvelopeError }
  | { readonly kind: 'retry'; readonly message: Message; readonly error: SqsEnvelopeError }

// held: not handled, because an earlier message of its FIFO group was not done.
type HandlerResult = 'ok' | 'failed' | 'aborted' | 'held'

interface HandledJob {
  readonly message: Message
  readonly result: HandlerResult
  /** Visibility to set; undefined leaves it. */
  readonly seconds: number | undefined
}

/**
 * The `node:diagnostics_channel` on which every consumer publishes what happens to messages, for
 * metrics that cost nothing unless subscribed. Each message is a {@link ConsumerDiagnostic}.
 */
export const CONSUMER_DIAGNOSTICS_CHANNEL = 'sqs-envelope:consumer'

/** What the diagnostics channel carries: ids, counts and codes, never payloads. */
export interface ConsumerDiagnostic {
  readonly event:
    | 'received'
    | 'processed'
    | 'failed'
    | 'quarantined'
    | 'transient_retry'
    | 'breaker_opened'
    | 'breaker_closed'
  readonly queueUrl: string
  /** Messages concerned (a receive reports its batch size). */
  readonly count: number
  readonly code?: string
}

const diagnostics = channel(CONSUMER_DIAGNOSTICS_CHANNEL)

function publish(diagnostic: ConsumerDiagnostic): void {
  if (diagnostics.hasSubscribers) diagnostics.publish(diagnostic)
}

const DATA_KEY_FIELD = /"encrypted_data_key"\s*:\s*"([^"]{1,8192})"/
const SEEN_DATA_KEYS_MAX = 10_000
const RECEIVE_BACKOFF_BASE_MS = 500
const RECEIVE_BACKOFF_MAX_MS = 30_000

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason)
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    const onAbort = () => {
      clearTimeout(timer)
      reject(signal.reason)
    }
    signal.addEventListener('abort', onAbort, { once: true })
  })
}

function noop(): void {}

function receiveCountOf(message: Message): number {
  const count = Number(message.Attributes?.ApproximateReceiveCount)
  return Number.isSafeInteger(count) && count >= 1 ? count : 1
}

function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value))
}

interface QueueRuntime {
  readonly queueUrl: string
  /** The quarantine destination, looked up once (undefined: none). */
  destination?: Promise<string | undefined>
}

interface PollerRuntime {
  readonly queue: QueueRuntime
  poller: Poller
  /** Messages of the batch in progress. */
  batch: Message[]
  receiveFailures: number
  probing: boolean
  /** The DeleteMessageBatch of this poller's previous batch, while it runs (standard queues). */
  deleting: Promise<void> | undefined
}

/**
 * Consumes sealed jobs: several `sqs-consumer` pollers per queue share one {@link EnvelopeOpener}
 * (one key cache, one KMS limiter); each message is opened before the handler sees it; poison is
 * moved intact to quarantine; transient failures get a visibility backoff; `stop()` is fast.
 *
 * @example
 * const consumer = new EnvelopeConsumer<{ orderId: number }>({
 *   queueUrl,
 *   handleMessage: async (order, { signal }) => ship(order.orderId, { signal }),
 * })
 * consumer.on('message_quarantined', (e) => log.warn('poison', e))
 * consumer.start()
 */
export class EnvelopeConsumer<T = unknown> extends EventEmitter<ConsumerEvents> {
  readonly #options: ResolvedConsumerOptions
  readonly #handleMessage: MessageHandler<T> | undefined
  readonly #handleMessageBatch: BatchHandler<T> | undefined
  readonly #sqs: SQSClient
  readonly #ownsSqs: boolean
  readonly #opener: EnvelopeOpener
  readonly #ownsOpener: boolean
  readonly #logger: ConsumerOptions<T>['logger']
  readonly #breaker: KmsBreaker
  readonly #queues: QueueRuntime[]
  readonly #seenDataKeys = new Set<string>()
  /** Handled jobs awaiting their delete: the event is emitted once sqs-consumer deleted them. */
  readonly #outcomes = new Map<Message, MessageRef>()
  readonly #chores = new Set<Promise<unknown>>()
  #pollers: PollerRuntime[] = []
  #state: ConsumerState = 'stopped'
  #receiveController = new AbortController()
  #handlerController = new AbortController()
  #stopping: Promise<void> | undefined
  /** Set by Symbol.asyncDispose: what this consumer built is closed, so it cannot start again. */
  #disposed = false
  /** Jobs whose batch let its poller go before they finished (see stragglerAfterMs). */
  #detached = 0
  #idleWaiters: Array<() => void> = []
  #counts = { received: 0, processed: 0, failed: 0, quarantined: 0, transientRetries: 0, inFlight: 0, maxInFlight: 0 }

  constructor(options: ConsumerOptions<T>) {
    super()
    this.#options = resolveConsumerOptions(options as ConsumerOptions<unknown>)
    this.#handleMessage = options.handleMessage
    this.#handleMessageBatch = options.handleMessageBatch
    this.#logger = options.logger
    this.#ownsSqs = options.sqs === undefined
    this.#sqs =
      options.sqs ??
      new SQSClient({
        ...(options.region === undefined ? {} : { region: options.region }),
        ...(options.sqsEndpoint === undefined ? {} : { endpoint: options.sqsEndpoint }),
      })
    this.#ownsOpener = options.opener === undefined
    this.#opener = options.opener ?? new EnvelopeOpener(options)
    this.#breaker = new KmsBreaker({
      threshold: this.#options.breakerThreshold,
      probeBaseDelayMs: this.#options.breakerProbeBaseDelayMs,
      probeMaxDelayMs: this.#options.breakerProbeMaxDelayMs,
    })
    this.#queues = this.#options.queueUrls.map((queueUrl) => ({ queueUrl }))
  }

  /** Same as `new EnvelopeConsumer(options)`, as in sqs-consumer. */
  static create<T = unknown>(options: ConsumerOptions<T>): EnvelopeConsumer<T> {
    return new EnvelopeConsumer<T>(options)
  }

  get status(): ConsumerStatus {
    return {
      isRunning: this.#state === 'running',
      isPolling: this.#pollers.some((p) => p.poller.isPolling),
      state: this.#state,
      breaker: this.#breaker.state,
    }
  }

  /** Starts the pollers. Does nothing while running; after `stop()` resolved, starts again; after disposal, throws CLOSED. */
  start(): void {
    if (this.#disposed) throw new SqsEnvelopeError('CLOSED', 'start() was called after the consumer was disposed')
    if (this.#state === 'running') return
    if (this.#state === 'stopping') {
      throw new SqsEnvelopeError('CLOSED', 'start() was called while stop() is still in progress; await stop() first')
    }
    this.#state = 'running'
    this.#stopping = undefined
    this.#receiveController = new AbortController()
    this.#handlerController = new AbortController()
    this.#pollers = []
    for (const queue of this.#queues) {
      for (let i = 0; i < this.#options.pollers; i++) this.#pollers.push(this.#createPoller(queue))
    }
    this.emit('started')
    for (const p of this.#pollers) p.poller.start()
  }

  /**
   * Stops at once: pending long polls are aborted, no new message reaches a handler. A poll that
   * SQS had already answered when it was aborted took messages this consumer never sees: they stay
   * in the queue and come back after the visibility timeout (nothing is lost). In-flight jobs finish (deletes, visibility changes and quarantine
   * sends included) for up to `timeoutMs`, after which handler signals are aborted and their
   * messages released. Resolves when nothing is in flight. Idempotent.
   */
  stop(options: StopOptions = {}): Promise<void> {
    if (this.#stopping) return this.#stopping
    if (this.#state === 'stopped') return Promise.resolve()
    let timeoutMs: number
    try {
      timeoutMs = timerOption('timeoutMs', options.timeoutMs, this.#options.drainTimeoutMs, 0)
    } catch (error) {
      return Promise.reject(error)
    }
    this.#state = 'stopping'
    for (const p of this.#pollers) p.poller.stop()
    this.#receiveController.abort(new SqsEnvelopeError('ABORTED', 'the consumer is stopping'))
    this.#stopping = this.#drain(timeoutMs)
    return this.#stopping
  }

  async #drain(timeoutMs: number): Promise<void> {
    if (this.#counts.inFlight > 0) {
      const timedOut = new AbortController()
      const timer = setTimeout(() => timedOut.abort(), timeoutMs)
      await Promise.race([this.onIdle(), new Promise((resolve) => timedOut.signal.addEventListener('abort', resolve))])
      clearTimeout(timer)
      if (this.#counts.inFlight > 0) {
        this.#handlerController.abort(new SqsEnvelopeError('ABORTED', 'stop() timed out waiting for handlers'))
        await this.onIdle()
      }
    }
    while (this.#chores.size > 0) await Promise.allSettled([...this.#chores])
    this.#state = 'stopped'
    this.emit('stopped')
  }

  /** Resolves when no message is in flight (at once when none is). */
  onIdle(): Promise<void> {
    if (this.#counts.inFlight === 0) return Promise.resolve()
    return new Promise((resolve) => this.#idleWaiters.push(resolve))
  }

  /** Counters since creation, the shared opener's KMS traffic included. */
  metrics(): ConsumerMetrics {
    const kms = this.#opener.metrics()
    const opens = kms.cacheHits + kms.cacheMisses
    return {
      ...this.#counts,
      kmsDecryptCalls: kms.decryptCalls,
      cacheHitRatio: opens === 0 ? 0 : kms.cacheHits / opens,
      breaker: this.#breaker.state,
    }
  }

  /**
   * Stops, then closes what this consumer built (the opener, zero-filling its keys; the SQS client).
   * Idempotent; `start()` afterwards throws CLOSED (its clients are gone).
   */
  async [Symbol.asyncDispose](): Promise<void> {
    this.#disposed = true
    await this.stop()
    if (this.#ownsOpener) this.#opener.close()
    if (this.#ownsSqs) this.#sqs.destroy()
  }

  toJSON(): { queueUrls: readonly string[]; state: ConsumerState } {
    return { queueUrls: this.#options.queueUrls, state: this.#state }
  }

  #createPoller(queue: QueueRuntime): PollerRuntime {
    const runtime: PollerRuntime = {
      queue,
      batch: [],
      receiveFailures: 0,
      probing: false,
      deleting: undefined,
    } as unknown as PollerRuntime
    const o = this.#options
    runtime.poller = new SqsConsumerPoller(
      {
        queueUrl: queue.queueUrl,
        sqs: this.#sqs,
        batchSize: o.batchSize,
        waitTimeSeconds: o.waitTimeSeconds,
        visibilityTimeout: o.visibilityTimeout,
        heartbeatInterval: o.heartbeatInterval,
        messageSystemAttributeNames: o.messageSystemAttributeNames,
        receiveSignal: this.#receiveController.signal,
        stopping: () => this.#state !== 'running',
        track: (chore) => this.#track(chore),
      },
      {
        beforeReceive: (signal) => this.#beforeReceive(runtime, signal),
        processBatch: (messages) => this.#processBatch(runtime, messages),
        deleted: (message) => this.#deleted(message),
        batchDone: () => this.#batchDone(runtime),
        empty: () => this.emit('empty', { queueUrl: queue.queueUrl }),
        received: (error, count) => this.#received(runtime, error, count),
        error: (error, messages) => this.#error(error, queue.queueUrl, messages),
      },
    )
    return runtime
  }

  async #beforeReceive(runtime: PollerRuntime, signal: AbortSignal): Promise<void> {
    if (runtime.receiveFailures > 0) {
      await sleep(backoffMs(RECEIVE_BACKOFF_BASE_MS, RECEIVE_BACKOFF_MAX_MS, runtime.receiveFailures), signal)
    }
    while (this.#breaker.state !== 'closed') {
      if (this.#breaker.tryProbe()) {
        runtime.probing = true
        return
      }
      await sleep(Math.max(this.#breaker.waitMs(), 200), signal)
    }
  }

  #received(runtime: PollerRuntime, error: unknown, count: number): void {
    runtime.receiveFailures = error === undefined ? 0 : runtime.receiveFailures + 1
    if (runtime.probing && count === 0) {
      // An empty or failed probe tells nothing: probe again later.
      runtime.probing = false
      this.#breaker.probeResult(0, 0)
    }
  }

  #error(error: Error, queueUrl: string, messages: readonly Message[] | undefined): void {
    const messageIds = messages?.map((m) => m.MessageId ?? '')
    this.#logger?.error('sqs-envelope consumer error', { queueUrl, name: error.name, message: error.message })
    if (this.listenerCount('error') > 0) this.emit('error', error, messageIds ? { queueUrl, messageIds } : { queueUrl })
  }

  #track(chore: Promise<unknown>): void {
    this.#chores.add(chore)
    void chore.finally(() => this.#chores.delete(chore))
  }

  #ref(message: Message, queueUrl: string): MessageRef {
    return { messageId: message.MessageId ?? '', queueUrl, receiveCount: receiveCountOf(message) }
  }

  #deleted(message: Message): void {
    const ref = this.#outcomes.get(message)
    if (!ref) return
    this.#outcomes.delete(message)
    this.#counts.processed++
    publish({ event: 'processed', queueUrl: ref.queueUrl, count: 1 })
    this.emit('message_processed', ref)
  }

  #batchDone(runtime: PollerRuntime): void {
    for (const message of runtime.batch) this.#outcomes.delete(message)
    this.#finished(runtime.batch.length)
    runtime.batch = []
  }

  #finished(count: number): void {
    this.#counts.inFlight -= count
    if (this.#counts.inFlight === 0) {
      const waiters = this.#idleWaiters
      this.#idleWaiters = []
      for (const resolve of waiters) resolve()
    }
  }

  async #open(message: Message, queueUrl: string): Promise<Opened> {
    try {
      const opened = await this.#opener.open(message, { signal: this.#handlerController.signal })
      this.#breaker.success(this.#freshDataKey(message.Body))
      return { kind: 'opened', message, opened }
    } catch (caught) {
      const error = isSqsEnvelopeError(caught)
        ? caught
        : new SqsEnvelopeError('KMS_UNAVAILABLE', 'opening failed unexpectedly', { cause: caught })
      if (error.kind === 'permanent') {
        if (!SUSPECT_KMS_CODES.has(error.code)) return { kind: 'poison', message, error }
        const before = this.#breaker.state
        const verdict = this.#breaker.suspectFailure()
        if (before === 'closed' && verdict === 'retry') this.#breakerOpened(queueUrl)
        return verdict === 'quarantine' ? { kind: 'poison', message, error } : { kind: 'retry', message, error }
      }
      return { kind: 'retry', message, error }
    }
  }

  /** True when no earlier open of this consumer used this data key: the open needed KMS, not the cache. */
  #freshDataKey(body: string | undefined): boolean {
    const key = body === undefined ? undefined : DATA_KEY_FIELD.exec(body)?.[1]
    if (key === undefined || this.#seenDataKeys.has(key)) return false
    if (this.#seenDataKeys.size >= SEEN_DATA_KEYS_MAX) this.#seenDataKeys.clear()
    // A copy: the match is a slice of the body, and keeping it would keep the whole body (up to
    // 1 MiB) alive for each data key remembered. The key opened, so it is base64: latin1 copies it as is.
    this.#seenDataKeys.add(Buffer.from(key, 'latin1').toString('latin1'))
    return true
  }

  /** `queueUrl`: the queue of the failure that opened it (the breaker is shared by all queues). */
  #breakerOpened(queueUrl: string): void {
    const streak = this.#breaker.streak
    this.#logger?.error('sqs-envelope consumer: KMS breaker opened', { streak })
    publish({ event: 'breaker_opened', queueUrl, count: streak })
    this.emit('breaker_opened', { streak })
    this.#error(
      new SqsEnvelopeError(
        'KMS_BREAKER_OPEN',
        `KMS refused ${streak} messages in a row (access denied, key disabled or not found): quarantining stopped, receiving paused until a probe succeeds`,
      ),
      queueUrl,
      undefined,
    )
  }

  async #processBatch(runtime: PollerRuntime, messages: Message[]): Promise<Message[]> {
    const queueUrl = runtime.queue.queueUrl
    runtime.batch = messages
    this.#counts.received += messages.length
    this.#counts.inFlight += messages.length
    if (this.#counts.inFlight > this.#counts.maxInFlight) this.#counts.maxInFlight = this.#counts.inFlight
    publish({ event: 'received', queueUrl, count: messages.length })
    if (this.listenerCount('message_received') > 0) {
      for (const message of messages) this.emit('message_received', this.#ref(message, queueUrl))
    }

    const results = await Promise.all(messages.map((message) => this.#open(message, queueUrl)))
    const opened: Array<Extract<Opened, { kind: 'opened' }>> = []
    const poison: Array<Extract<Opened, { kind: 'poison' }>> = []
    const retry: Array<Extract<Opened, { kind: 'retry' }>> = []
    // FIFO: after a message of a group that must be retried, the later ones of that group wait for it:
    // they are not handled and get the same visibility, so that SQS delivers them again in order.
    const held: Array<{ message: Message; seconds: number | undefined }> = []
    const blockedGroups = new Map<string, number>()
    const retrySeconds = new Map<Message, number>()
    const fifo = queueUrl.endsWith('.fifo')
    for (const r of results) {
      const group = fifo ? r.message.Attributes?.MessageGroupId : undefined
      const blocker = group === undefined ? undefined : blockedGroups.get(group)
      if (r.kind === 'opened' && blocker !== undefined) held.push({ message: r.message, seconds: blocker })
      else if (r.kind === 'opened') opened.push(r)
      else if (r.kind === 'poison') poison.push(r)
      else {
        const seconds =
          r.error.code === 'ABORTED' ? 0 : backoffSeconds(this.#options.transientBackoff, receiveCountOf(r.message))
        retry.push(r)
        retrySeconds.set(r.message, seconds)
        if (group !== undefined && !blockedGroups.has(group)) blockedGroups.set(group, seconds)
      }
    }
    if (runtime.probing) {
      runtime.probing = false
      const suspect = retry.filter((r) => SUSPECT_KMS_CODES.has(r.error.code)).length
      if (this.#breaker.probeResult(suspect, opened.length) === 'closed') {
        publish({ event: 'breaker_closed', queueUrl, count: 0 })
        this.#logger?.warn('sqs-envelope consumer: KMS breaker closed, receiving again', { queueUrl })
        this.emit('breaker_closed')
      }
    }

    // Transient failures (and FIFO messages held behind them) get their backoff now, not after the batch's handlers.
    const early: Array<{ message: Message; seconds: number }> = []
    for (const h of held) if (h.seconds !== undefined) early.push({ message: h.message, seconds: h.seconds })
    for (const r of retry) {
      const seconds = retrySeconds.get(r.message) ?? 0
      early.push({ message: r.message, seconds })
      this.#counts.transientRetries++
      this.#logger?.debug?.('sqs-envelope consumer: transient failure, retry later', {
        code: r.error.code,
        messageId: r.message.MessageId,
        retryInSeconds: seconds,
      })
      publish({ event: 'transient_retry', queueUrl, count: 1, code: r.error.code })
      this.emit('transient_error', r.error, {
        ...this.#ref(r.message, queueUrl),
        code: r.error.code,
        retryInSeconds: seconds,
      })
    }
    const [handled] = await Promise.all([
      this.#handle(queueUrl, opened, (message) => {
        runtime.batch = runtime.batch.filter((m) => m !== message)
      }),
      this.#quarantineAll(runtime.queue, poison),
      early.length > 0 ? this.#changeVisibility(queueUrl, early) : undefined,
    ])
    const acknowledged: Message[] = []
    // sqs-consumer's heartbeat renews the whole batch while it runs: set the early backoffs again after it.
    const visibility = this.#options.heartbeatInterval === undefined ? [] : [...early]
    for (const { message, result, seconds } of handled) {
      if (result === 'ok') {
        acknowledged.push(message)
        this.#outcomes.set(message, this.#ref(message, queueUrl))
      } else if (seconds !== undefined) {
        visibility.push({ message, seconds })
      }
    }
    if (visibility.length > 0) await this.#changeVisibility(queueUrl, visibility)
    if (fifo || acknowledged.length === 0) return acknowledged
    // Standard queues: the poller deletes its batch itself, without awaiting it, so that the next receive
    // overlaps this DeleteMessageBatch instead of following it (sqs-consumer awaits its delete before polling
    // again: one round trip per batch). At most one such delete per poller runs: the previous one is awaited.
    // FIFO queues keep sqs-consumer's delete: a group stays locked until its message is deleted.
    if (runtime.deleting) await runtime.deleting
    const pending = new Set(acknowledged)
    runtime.batch = runtime.batch.filter((m) => !pending.has(m))
    // A throwing message_processed listener is reported, as sqs-consumer reported it, not left unhandled.
    const deleting = this.#deleteAcknowledged(queueUrl, acknowledged).catch((error: unknown) =>
      this.#error(asError(error), queueUrl, acknowledged),
    )
    runtime.deleting = deleting
    this.#track(deleting)
    void deleting.finally(() => {
      if (runtime.deleting === deleting) runtime.deleting = undefined
      this.#finished(acknowledged.length)
    })
    return []
  }

  /** One DeleteMessageBatch of handled jobs; `message_processed` for each one deleted, `error` for the others. */
  async #deleteAcknowledged(queueUrl: string, messages: readonly Message[]): Promise<void> {
    let successful: ReadonlySet<string>
    try {
      const { Successful = [] } = await this.#sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: messages.map((message, i) => ({ Id: String(i), ReceiptHandle: message.ReceiptHandle })),
        }),
      )
      successful = new Set(Successful.map((entry) => entry.Id ?? ''))
    } catch (error) {
      for (const message of messages) this.#outcomes.delete(message)
      this.#error(asError(error), queueUrl, messages)
      return
    }
    const failed: Message[] = []
    for (const [i, message] of messages.entries()) {
      if (successful.has(String(i))) this.#deleted(message)
      else {
        this.#outcomes.delete(message)
        failed.push(message)
      }
    }
    if (failed.length > 0) {
      this.#error(
        new Error(`DeleteMessageBatch failed for ${failed.length} handled messages: they will be delivered again`),
        queueUrl,
        failed,
      )
    }
  }

  async #changeVisibility(queueUrl: string, entries: ReadonlyArray<{ message: Message; seconds: number }>) {
    try {
      const { Failed } = await this.#sqs.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: queueUrl,
          Entries: entries.map(({ message, seconds }, i) => ({
            Id: String(i),
            ReceiptHandle: message.ReceiptHandle,
            VisibilityTimeout: seconds,
          })),
        }),
      )
      if (Failed && Failed.length > 0) {
        const failed = Failed.map((f) => entries[Number(f.Id)]?.message).filter((m): m is Message => m !== undefined)
        this.#error(new Error(`ChangeMessageVisibilityBatch failed for ${Failed.length} entries`), queueUrl, failed)
      }
    } catch (error) {
      this.#error(
        asError(error),
        queueUrl,
        entries.map((e) => e.message),
      )
    }
  }

  #context(queueUrl: string, message: Message, opened: OpenedMessage, signal: AbortSignal): MessageContext {
    return {
      messageId: message.MessageId ?? '',
      queueUrl,
      receiveCount: receiveCountOf(message),
      messageAttributes: message.MessageAttributes ?? {},
      attributes: message.Attributes ?? {},
      contentType: opened.contentType,
      kmsKeyArn: opened.kmsKeyArn,
      encryptionContext: opened.encryptionContext,
      signal,
    }
  }

  async #handle(
    queueUrl: string,
    opened: ReadonlyArray<Extract<Opened, { kind: 'opened' }>>,
    detach: (message: Message) => void,
  ): Promise<Array<{ message: Message; result: HandlerResult; seconds: number | undefined }>> {
    if (opened.length === 0) return []
    const batchHandler = this.#handleMessageBatch
    if (batchHandler) {
      const { signal, done } = this.#handlerSignal()
      const jobs: ReceivedJob<T>[] = opened.map(({ message, opened: o }) => ({
        ...this.#context(queueUrl, message, o, signal),
        job: o.value as T,
      }))
      const ids = jobs.map((j) => j.messageId)
      const outcome = await this.#run(() => batchHandler(jobs, { queueUrl, signal }), signal, done)
      if (outcome.result !== 'ok') {
        this.#handlerFailed(
          outcome,
          queueUrl,
          opened.map((o) => o.message),
        )
        return opened.map(({ message }) => ({
          message,
          result: outcome.result,
          seconds: this.#failureSeconds(outcome.result, message),
        }))
      }
      const acked = acknowledgedIds(ids, outcome.value)
      const failed = opened.filter(({ message }) => !acked.has(message.MessageId ?? ''))
      if (failed.length > 0) {
        this.#handlerFailed(
          { result: 'failed', error: new Error('handleMessageBatch reported batchItemFailures') },
          queueUrl,
          failed.map((o) => o.message),
        )
      }
      return opened.map(({ message }) =>
        acked.has(message.MessageId ?? '')
          ? { message, result: 'ok' as const, seconds: undefined }
          : { message, result: 'failed' as const, seconds: this.#failureSeconds('failed', message) },
      )
    }
    const handler = this.#handleMessage as MessageHandler<T>
    const handleOne = async ({ message, opened: o }: Extract<Opened, { kind: 'opened' }>) => {
      const { signal, done } = this.#handlerSignal()
      const outcome = await this.#run(
        () => handler(o.value as T, this.#context(queueUrl, message, o, signal)),
        signal,
        done,
      )
      if (outcome.result !== 'ok') this.#handlerFailed(outcome, queueUrl, [message])
      return { message, result: outcome.result, seconds: this.#failureSeconds(outcome.result, message) }
    }
    if (!queueUrl.endsWith('.fifo')) {
      return this.#handleWithHold(
        queueUrl,
        opened.map((item) => ({ message: item.message, run: handleOne(item) })),
        detach,
      )
    }
    // FIFO: groups run concurrently, the messages of one group in order; after a failure the rest of the group is held.
    const groups = new Map<string, Array<Extract<Opened, { kind: 'opened' }>>>()
    for (const item of opened) {
      const group = item.message.Attributes?.MessageGroupId ?? ''
      const list = groups.get(group)
      if (list) list.push(item)
      else groups.set(group, [item])
    }
    const perGroup = await Promise.all(
      [...groups.values()].map(async (items) => {
        const results: Array<{ message: Message; result: HandlerResult; seconds: number | undefined }> = []
        for (const item of items) {
          const previous = results[results.length - 1]
          results.push(
            previous && previous.result !== 'ok'
              ? { message: item.message, result: 'held', seconds: previous.seconds }
              : await handleOne(item),
          )
        }
        return results
      }),
    )
    return perGroup.flat()
  }

  /**
   * Waits for a batch's handlers up to `stragglerAfterMs`; then, while fewer than `pollers × batchSize`
   * jobs run detached, the unfinished ones run on detached and the poller is let go (its finished jobs are
   * deleted and it polls again), so that a slow job does not hold the next poll. A detached job is
   * deleted, or given its failure visibility, when it settles; heartbeats renew it meanwhile.
   */
  async #handleWithHold(
    queueUrl: string,
    runs: ReadonlyArray<{ readonly message: Message; readonly run: Promise<HandledJob> }>,
    detach: (message: Message) => void,
  ): Promise<HandledJob[]> {
    const all = Promise.all(runs.map((r) => r.run))
    let timer: NodeJS.Timeout | undefined
    const held = await Promise.race([
      all,
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), this.#options.stragglerAfterMs)
      }),
    ])
    clearTimeout(timer)
    if (held !== undefined) return held
    const done = new Set<Message>()
    for (const r of runs) void r.run.then(() => done.add(r.message))
    // Let the runs that have settled mark themselves (their reactions run before this one).
    await Promise.resolve()
    const pending = runs.filter((r) => !done.has(r.message))
    const capacity = this.#options.pollers * this.#options.batchSize
    if (pending.length === 0 || this.#detached + pending.length > capacity) return all
    for (const r of pending) {
      detach(r.message)
      this.#detach(queueUrl, r.message, r.run)
    }
    return Promise.all(runs.filter((r) => done.has(r.message)).map((r) => r.run))
  }

  #detach(queueUrl: string, message: Message, run: Promise<HandledJob>): void {
    this.#detached++
    const { heartbeatInterval, visibilityTimeout } = this.#options
    const heartbeat =
      heartbeatInterval === undefined || visibilityTimeout === undefined
        ? undefined
        : setInterval(
            () => void this.#changeVisibility(queueUrl, [{ message, seconds: visibilityTimeout }]),
            heartbeatInterval * 1000,
          )
    const chore = (async () => {
      const outcome = await run
      clearInterval(heartbeat)
      if (outcome.result === 'ok') await this.#deleteDetached(queueUrl, message)
      else if (outcome.seconds !== undefined)
        await this.#changeVisibility(queueUrl, [{ message, seconds: outcome.seconds }])
    })()
    void chore.finally(() => {
      this.#detached--
      this.#finished(1)
    })
  }

  async #deleteDetached(queueUrl: string, message: Message): Promise<void> {
    try {
      await this.#sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }))
    } catch (error) {
      this.#error(asError(error), queueUrl, [message])
      return
    }
    const ref = this.#ref(message, queueUrl)
    this.#counts.processed++
    publish({ event: 'processed', queueUrl, count: 1 })
    this.emit('message_processed', ref)
  }

  /** The visibility to set after a handler did not succeed; undefined leaves it as it is. */
  #failureSeconds(result: HandlerResult, message: Message): number | undefined {
    if (result === 'ok') return undefined
    if (result === 'aborted') return 0
    const policy = this.#options.handlerErrorBackoff
    return policy === false ? undefined : backoffSeconds(policy, receiveCountOf(message))
  }

  /** The signal a handler gets: aborted on handler timeout or when stop() gives up. */
  #handlerSignal(): { signal: AbortSignal; done: () => void } {
    const timeoutMs = this.#options.handlerTimeoutMs
    if (timeoutMs === undefined) return { signal: this.#handlerController.signal, done: noop }
    const timeout = new AbortController()
    const timer = setTimeout(
      () =>
        timeout.abort(
          new SqsEnvelopeError('HANDLER_TIMEOUT', `the handler ran past handlerTimeoutMs (${timeoutMs} ms)`),
        ),
      timeoutMs,
    )
    return {
      signal: AbortSignal.any([this.#handlerController.signal, timeout.signal]),
      done: () => clearTimeout(timer),
    }
  }

  /** Runs a handler until it settles or its signal aborts, whichever comes first. */
  async #run(
    fn: () => unknown,
    signal: AbortSignal,
    done: () => void,
  ): Promise<{ result: HandlerResult; value?: unknown; error?: unknown }> {
    let onAbort: (() => void) | undefined
    const aborted = new Promise<{ result: HandlerResult; error: unknown }>((resolve) => {
      onAbort = () => {
        const reason: unknown = signal.reason
        const timedOut = isSqsEnvelopeError(reason) && reason.code === 'HANDLER_TIMEOUT'
        resolve({ result: timedOut ? 'failed' : 'aborted', error: reason })
      }
      if (signal.aborted) onAbort()
      else signal.addEventListener('abort', onAbort, { once: true })
    })
    try {
      return await Promise.race([
        (async () => {
          try {
            return { result: 'ok' as const, value: await fn() }
          } catch (error) {
            return { result: 'failed' as const, error }
          }
        })(),
        aborted,
      ])
    } finally {
      done()
      if (onAbort) signal.removeEventListener('abort', onAbort)
    }
  }

  #handlerFailed(outcome: { result: HandlerResult; error?: unknown }, queueUrl: string, messages: readonly Message[]) {
    this.#counts.failed += messages.length
    publish({ event: 'failed', queueUrl, count: messages.length })
    const error = outcome.error
    for (const message of messages) {
      const ref = this.#ref(message, queueUrl)
      if (isSqsEnvelopeError(error) && error.code === 'HANDLER_TIMEOUT') this.emit('timeout_error', error, ref)
      else if (outcome.result === 'failed') this.emit('processing_error', asError(error), ref)
    }
  }

  /**
   * Moves each message intact to the quarantine destination, then deletes from the source (in one
   * DeleteMessageBatch, at once rather than with the batch's handled jobs) the ones whose send succeeded.
   */
  async #quarantineAll(queue: QueueRuntime, poison: ReadonlyArray<Extract<Opened, { kind: 'poison' }>>) {
    if (poison.length === 0) return
    const moved = (await Promise.all(poison.map((p) => this.#sendToQuarantine(queue, p.message, p.error)))).filter(
      (m): m is { message: Message; event: QuarantineEvent } => m !== undefined,
    )
    if (moved.length === 0) return
    let deleted: ReadonlySet<string>
    try {
      const { Successful = [], Failed = [] } = await this.#sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queue.queueUrl,
          Entries: moved.map(({ message }, i) => ({ Id: String(i), ReceiptHandle: message.ReceiptHandle })),
        }),
      )
      deleted = new Set(Successful.map((entry) => entry.Id ?? ''))
      if (Failed.length > 0) {
        this.#error(
          new Error(
            `DeleteMessageBatch failed for ${Failed.length} quarantined messages: they will be quarantined again`,
          ),
          queue.queueUrl,
          Failed.map((f) => moved[Number(f.Id)]?.message).filter((m): m is Message => m !== undefined),
        )
      }
    } catch (error) {
      this.#error(
        asError(error),
        queue.queueUrl,
        moved.map((m) => m.message),
      )
      return
    }
    for (const [i, { event }] of moved.entries()) {
      if (!deleted.has(String(i))) continue
      this.#logger?.warn('sqs-envelope consumer: message quarantined', {
        code: event.code,
        messageId: event.messageId,
        queueUrl: event.queueUrl,
        quarantineQueueUrl: event.quarantineQueueUrl,
      })
      this.#counts.quarantined++
      publish({ event: 'quarantined', queueUrl: event.queueUrl, count: 1, code: event.code })
      this.emit('message_quarantined', event)
    }
  }

  async #sendToQuarantine(
    queue: QueueRuntime,
    message: Message,
    error: SqsEnvelopeError,
  ): Promise<{ message: Message; event: QuarantineEvent } | undefined> {
    const ref = this.#ref(message, queue.queueUrl)
    let destination: string | undefined
    try {
      queue.destination ??= this.#options.quarantineQueueUrl
        ? Promise.resolve(this.#options.quarantineQueueUrl)
        : deadLetterQueueUrl(this.#sqs, queue.queueUrl)
      destination = await queue.destination
    } catch (lookup) {
      queue.destination = undefined
      this.#quarantineFailed(queue.queueUrl, message, 'the DLQ of the queue could not be looked up', lookup)
      return undefined
    }
    if (destination === undefined) {
      // Nowhere to move it: leave it in place (redrive, if any is added later, still applies) and report it.
      this.emit('message_quarantined', { ...ref, code: error.code, quarantineQueueUrl: undefined, moved: false })
      return undefined
    }
    try {
      await this.#sqs.send(new SendMessageCommand(quarantineInput(message, error.code, queue.queueUrl, destination)))
    } catch (send) {
      this.#quarantineFailed(queue.queueUrl, message, 'sending it to quarantine failed', send)
      return undefined
    }
    // Only now that the copy is safe may the original be deleted.
    return { message, event: { ...ref, code: error.code, quarantineQueueUrl: destination, moved: true } }
  }

  #quarantineFailed(queueUrl: string, message: Message, what: string, cause: unknown): void {
    this.#error(
      new SqsEnvelopeError('QUARANTINE_FAILED', `message ${message.MessageId} stays in its queue: ${what}`, { cause }),
      queueUrl,
      [message],
    )
  }
}
