import { EventEmitter } from 'node:events'
import { type Message, type MessageSystemAttributeName, SQSClient } from '@aws-sdk/client-sqs'
import { EnvelopeOpener, SqsEnvelopeError } from '@sqs-envelope/core'
import {
  AWS_TRACE_HEADER,
  backoffMs,
  channelMetrics,
  clientFor,
  delay,
  messagingTracer,
  SUSPECT_CODES,
  timerOption,
  USER_AGENT,
} from '@sqs-envelope/core/internal'
import { Acknowledger, type DeleteSlot, type VisibilityChange } from './acknowledging.ts'
import { BreakerGate, type ProbeSlot } from './breaker-gate.ts'
import type { ConsumerEvents, ConsumerMetrics, MessageRef } from './events.ts'
import type { BatchHandler, MessageHandler } from './handler.ts'
import { type HandledJob, HandlerRunner } from './handling.ts'
import { type MessageOpener, MessageOpening, type SortedBatch, sortBatch } from './opening.ts'
import { type ConsumerOptions, type ResolvedConsumerOptions, resolveConsumerOptions } from './options.ts'
import { defaultPollerFactory, type Poller, type PollerFactory, type PollerHooks } from './poller.ts'
import { Quarantiner, type QuarantineTarget } from './quarantining.ts'
import { ConsumerReporter } from './reporting.ts'
import { RunSignals, STOP_GRACE_MS } from './signals.ts'
import { ConsumerTracing } from './tracing.ts'

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
  /** How long in-flight work may run before handler signals and pending requests are aborted, in ms. @defaultValue `drainTimeoutMs` */
  readonly timeoutMs?: number
}

/** Pause after failed receives, in ms: the first one's ceiling and the cap. */
const RECEIVE_BACKOFF = { baseMs: 500, maxMs: 30_000 } as const

/** One poller's state: its batch in progress, its receive failures, its probe, its pipelined delete. */
class PollerRun implements ProbeSlot, DeleteSlot {
  readonly queue: QuarantineTarget
  readonly fifo: boolean
  readonly poller: Poller
  /** Messages of the batch in progress that the poller still owns (not detached, not pipelined). */
  batch: Message[] = []
  /** When the batch in progress was received (`Date.now()`): heartbeats count from it. */
  receivedAt = 0
  /** With tracing on: when its latest receive started (`Date.now()`), for the receive span. */
  receiveStartedAt = 0
  receiveFailures = 0
  probing = false
  deleting: Promise<void> | undefined = undefined
  /** The batch lets go of a job that runs on detached. */
  readonly detach = (message: Message): void => {
    this.batch = this.batch.filter((m) => m !== message)
  }

  constructor(queue: QuarantineTarget, build: (run: PollerRun) => Poller) {
    this.queue = queue
    this.fifo = queue.queueUrl.endsWith('.fifo')
    this.poller = build(this)
  }
}

/**
 * Consumes sealed jobs: several pollers per queue share one {@link EnvelopeOpener} (one key cache,
 * one KMS limiter); each message is opened before the handler sees it; poison is moved intact to
 * quarantine; transient failures get a visibility backoff; `stop()` is fast and bounded.
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
  readonly #sqs: SQSClient
  readonly #ownsSqs: boolean
  readonly #opener: MessageOpener
  readonly #ownsOpener: boolean
  readonly #pollerFactory: PollerFactory
  readonly #reporter: ConsumerReporter
  readonly #signals: RunSignals
  readonly #gate: BreakerGate
  readonly #opening: MessageOpening
  readonly #acknowledger: Acknowledger
  readonly #quarantiner: Quarantiner
  readonly #runner: HandlerRunner<T>
  readonly #queues: QuarantineTarget[]
  /** Undefined when tracing is off: one check per batch and per message. */
  readonly #tracing: ConsumerTracing | undefined
  readonly #releaseMetrics: (() => void) | undefined
  /** FIFO jobs handled and awaiting sqs-consumer's delete: `message_processed` once it deleted them. */
  readonly #outcomes = new Map<Message, MessageRef>()
  readonly #chores = new Set<Promise<unknown>>()
  #pollers: PollerRun[] = []
  #state: ConsumerState = 'stopped'
  #stopping: Promise<void> | undefined
  /** Set by close(): what this consumer built is released, so it cannot start again. */
  #closed = false
  #released = false

  constructor(options: ConsumerOptions<T>) {
    super()
    const o = resolveConsumerOptions(options as ConsumerOptions<unknown>)
    this.#options = o
    // SDK standard retries (3 attempts); a long poll passes its own longer timeout (see the poller).
    const { region } = options
    const sqs = clientFor(SQSClient, options.sqs, {
      region,
      endpoint: o.sqsEndpoint,
      requestTimeoutMs: o.requestTimeoutMs,
      maxAttempts: 3,
      sqs: true,
    })
    this.#sqs = sqs.client
    this.#ownsSqs = sqs.owned
    this.#ownsOpener = options.opener === undefined
    this.#opener = options.opener ?? new EnvelopeOpener({ ...options, requestTimeoutMs: o.requestTimeoutMs })
    this.#pollerFactory = options.pollerFactory ?? defaultPollerFactory
    this.#reporter = new ConsumerReporter(this, options.logger)
    this.#signals = new RunSignals(o.requestTimeoutMs, o.waitTimeSeconds)
    this.#gate = new BreakerGate(o, this.#reporter)
    this.#opening = new MessageOpening(this.#opener, this.#gate)
    const track = (chore: Promise<unknown>) => this.#track(chore)
    this.#acknowledger = new Acknowledger(this.#sqs, this.#signals, this.#reporter, track)
    this.#quarantiner = new Quarantiner(
      this.#sqs,
      this.#signals,
      this.#reporter,
      this.#acknowledger,
      o.quarantineQueueUrl,
    )
    const handlers = {
      handleMessage: options.handleMessage as MessageHandler<T> | undefined,
      handleMessageBatch: options.handleMessageBatch as BatchHandler<T> | undefined,
    }
    const tracer = messagingTracer('@sqs-envelope/consumer', USER_AGENT[1] ?? '0.0.0', options)
    this.#tracing = tracer === undefined ? undefined : new ConsumerTracing(tracer)
    this.#runner = new HandlerRunner<T>(
      { ...o, ...handlers },
      this.#signals,
      this.#reporter,
      this.#acknowledger,
      this.#tracing,
    )
    this.#queues = o.queueUrls.map((queueUrl) => ({ queueUrl }))
    this.#releaseMetrics = channelMetrics(options)
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
      breaker: this.#gate.state,
    }
  }

  /** Starts the pollers. Does nothing while running; after `stop()` resolved, starts again; after `close()`, throws CLOSED. */
  start(): void {
    if (this.#closed) throw new SqsEnvelopeError('CLOSED', 'start() was called after the consumer was closed')
    if (this.#state === 'running') return
    if (this.#state === 'stopping') {
      throw new SqsEnvelopeError('CLOSED', 'start() was called while stop() is still in progress; await stop() first')
    }
    this.#state = 'running'
    this.#stopping = undefined
    this.#signals.restart()
    this.#pollers = []
    for (const queue of this.#queues) {
      for (let i = 0; i < this.#options.pollers; i++) {
        this.#pollers.push(
          new PollerRun(queue, (run) => this.#pollerFactory(this.#pollerOptions(queue), this.#hooks(run))),
        )
      }
    }
    this.emit('started')
    for (const p of this.#pollers) p.poller.start()
  }

  /**
   * Stops at once: pending long polls are aborted, no new message reaches a handler. A poll that
   * SQS had already answered when it was aborted took messages this consumer never sees: they stay
   * in the queue and come back after the visibility timeout (nothing is lost). In-flight jobs finish
   * (deletes, visibility changes and quarantine sends included) for up to `timeoutMs`; then handler
   * signals and every pending SQS and KMS request of this consumer are aborted, aborted jobs are
   * released, and stop() resolves shortly after (bounded even if a service never answers). Idempotent.
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
    this.#signals.stopReceiving(new SqsEnvelopeError('ABORTED', 'the consumer is stopping'))
    this.#stopping = this.#drain(timeoutMs)
    return this.#stopping
  }

  async #drain(timeoutMs: number): Promise<void> {
    if (!(await this.#settledWithin(timeoutMs))) {
      this.#signals.abortWork(new SqsEnvelopeError('ABORTED', 'stop() timed out waiting for in-flight work'))
      // What was pending is aborted; the releases it starts have STOP_GRACE_MS each.
      await this.#settledWithin(2 * STOP_GRACE_MS)
    }
    this.#state = 'stopped'
    this.emit('stopped')
  }

  /** True once nothing is in flight and no chore runs, false if `ms` pass first. */
  async #settledWithin(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined
    const expired = new Promise<false>((resolve) => {
      timer = setTimeout(resolve, ms, false)
    })
    const settled = await Promise.race([this.#settled().then(() => true as const), expired])
    clearTimeout(timer)
    return settled
  }

  async #settled(): Promise<void> {
    while (this.#reporter.counts.inFlight > 0 || this.#chores.size > 0) {
      await this.#reporter.onIdle()
      if (this.#chores.size > 0) await Promise.allSettled([...this.#chores])
    }
  }

  /** Resolves when no message is in flight (at once when none is). */
  onIdle(): Promise<void> {
    return this.#reporter.onIdle()
  }

  /** Counters since creation, the shared opener's KMS traffic included. */
  metrics(): ConsumerMetrics {
    const kms = this.#opener.metrics()
    const opens = kms.cacheHits + kms.cacheMisses
    return {
      ...this.#reporter.counts,
      kmsDecryptCalls: kms.decryptCalls,
      cacheHitRatio: opens === 0 ? 0 : kms.cacheHits / opens,
      breaker: this.#gate.state,
    }
  }

  /**
   * Stops (as `stop()`), then releases what this consumer built: the opener (zero-filling its keys)
   * and the SQS client; injected ones are left alone. Idempotent; `start()` afterwards throws CLOSED.
   */
  async close(): Promise<void> {
    this.#closed = true
    await this.stop()
    if (this.#released) return
    this.#released = true
    if (this.#ownsOpener) await this.#opener.close()
    if (this.#ownsSqs) this.#sqs.destroy()
    this.#releaseMetrics?.()
  }

  /** Same as `close()`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }

  toJSON(): { queueUrls: readonly string[]; state: ConsumerState } {
    return { queueUrls: this.#options.queueUrls, state: this.#state }
  }

  #pollerOptions(queue: QuarantineTarget) {
    const o = this.#options
    return {
      queueUrl: queue.queueUrl,
      sqs: this.#sqs,
      batchSize: o.batchSize,
      waitTimeSeconds: o.waitTimeSeconds,
      visibilityTimeout: o.visibilityTimeout,
      heartbeatInterval: o.heartbeatInterval,
      messageSystemAttributeNames: this.#systemAttributeNames(),
      requestTimeoutMs: o.requestTimeoutMs,
      signals: this.#signals,
      stopping: () => this.#state !== 'running',
      track: (chore: Promise<unknown>) => this.#track(chore),
    }
  }

  /** The user's system attributes, plus AWSTraceHeader when tracing and SentTimestamp (latency) with metrics on. */
  #systemAttributeNames(): readonly MessageSystemAttributeName[] {
    const asked = this.#options.messageSystemAttributeNames
    const extra: MessageSystemAttributeName[] = []
    if (this.#tracing !== undefined && !asked.includes(AWS_TRACE_HEADER))
      extra.push(AWS_TRACE_HEADER as MessageSystemAttributeName)
    if (this.#releaseMetrics !== undefined && !asked.includes('SentTimestamp') && !asked.includes('All')) {
      extra.push('SentTimestamp')
    }
    return extra.length === 0 ? asked : [...asked, ...extra]
  }

  #hooks(run: PollerRun): PollerHooks {
    const queueUrl = run.queue.queueUrl
    return {
      beforeReceive: (signal) => this.#beforeReceive(run, signal),
      processBatch: (messages) => this.#processBatch(run, messages),
      deleted: (message) => this.#deleted(message),
      batchDone: () => this.#batchDone(run),
      empty: () => this.emit('empty', { queueUrl }),
      received: (error, count) => {
        run.receiveFailures = error === undefined ? 0 : run.receiveFailures + 1
        this.#gate.received(run, count)
      },
      error: (error, messages) => this.#reporter.error(error, queueUrl, messages),
    }
  }

  async #beforeReceive(run: PollerRun, signal: AbortSignal): Promise<void> {
    if (run.receiveFailures > 0) await delay(backoffMs(run.receiveFailures, RECEIVE_BACKOFF), signal)
    await this.#gate.beforeReceive(run, signal)
    if (this.#tracing !== undefined) run.receiveStartedAt = Date.now()
  }

  #track(chore: Promise<unknown>): void {
    this.#chores.add(chore)
    void chore.finally(() => this.#chores.delete(chore))
  }

  #deleted(message: Message): void {
    const ref = this.#outcomes.get(message)
    if (!ref) return
    this.#outcomes.delete(message)
    this.#reporter.processed(ref, message)
  }

  #batchDone(run: PollerRun): void {
    for (const message of run.batch) this.#outcomes.delete(message)
    this.#reporter.finished(run.batch.length, run.queue.queueUrl)
    run.batch = []
  }

  /** One received batch: open, sort, handle / quarantine / back off, then acknowledge. */
  async #processBatch(run: PollerRun, messages: Message[]): Promise<Message[]> {
    const tracing = this.#tracing
    if (tracing === undefined) return this.#processReceived(run, messages, run.detach)
    const running = new Set<Message>()
    tracing.received(run.queue.queueUrl, messages, run.receiveStartedAt || Date.now())
    try {
      return await this.#processReceived(run, messages, (message) => {
        running.add(message)
        run.detach(message)
      })
    } finally {
      tracing.finished(messages, running)
    }
  }

  async #processReceived(run: PollerRun, messages: Message[], detach: (message: Message) => void): Promise<Message[]> {
    const queueUrl = run.queue.queueUrl
    run.batch = messages
    run.receivedAt = Date.now()
    this.#reporter.received(queueUrl, messages)
    const signal = this.#signals.work
    const results = await Promise.all(messages.map((message) => this.#opening.open(message, queueUrl, signal)))
    const sorted = sortBatch(results, run.fifo, this.#options.transientBackoff)
    if (run.probing) this.#gate.probed(run, queueUrl, suspectCount(sorted), sorted.opened.length)
    const early = this.#earlyVisibility(queueUrl, sorted)
    if (this.#tracing !== undefined) traceSorted(this.#tracing, sorted)
    const [handled] = await Promise.all([
      this.#runner.handle(queueUrl, sorted.opened, run.receivedAt, detach),
      this.#quarantiner.quarantineAll(run.queue, sorted.poison),
      early.length > 0 ? this.#acknowledger.changeVisibility(queueUrl, early) : undefined,
    ])
    const acknowledged = await this.#settle(run, handled, early)
    // FIFO queues keep sqs-consumer's delete: a group stays locked until its message is deleted.
    if (run.fifo || acknowledged.length === 0) return acknowledged
    const pending = new Set(acknowledged)
    run.batch = run.batch.filter((m) => !pending.has(m))
    await this.#acknowledger.pipelineDelete(run, queueUrl, acknowledged)
    return []
  }

  /** Transient failures (and FIFO messages held behind them) get their backoff now, not after the batch's handlers. */
  #earlyVisibility(queueUrl: string, sorted: SortedBatch): VisibilityChange[] {
    const early: VisibilityChange[] = [...sorted.held]
    for (const { job, seconds } of sorted.retry) {
      early.push({ message: job.message, seconds })
      this.#reporter.transient(job.error, job.message, queueUrl, seconds)
    }
    return early
  }

  /** Sets the failure visibilities of handled jobs; resolves with the ones to delete. */
  async #settle(run: PollerRun, handled: readonly HandledJob[], early: readonly VisibilityChange[]) {
    const queueUrl = run.queue.queueUrl
    const acknowledged: Message[] = []
    // sqs-consumer's heartbeat renews the whole batch while it runs: set the early backoffs again after it.
    const visibility: VisibilityChange[] = this.#options.heartbeatInterval === undefined ? [] : [...early]
    for (const { message, result, seconds, error } of handled) {
      this.#tracing?.settled(
        message,
        result === 'ok' ? 'delete' : seconds === undefined ? undefined : 'visibility',
        error,
      )
      if (result === 'ok') {
        acknowledged.push(message)
        if (run.fifo) this.#outcomes.set(message, this.#reporter.ref(message, queueUrl))
      } else if (seconds !== undefined) {
        visibility.push({ message, seconds })
      }
    }
    if (visibility.length > 0) await this.#acknowledger.changeVisibility(queueUrl, visibility)
    return acknowledged
  }
}

/** Records on their process spans what becomes of the jobs that reach no handler. */
function traceSorted(tracing: ConsumerTracing, sorted: SortedBatch): void {
  for (const { message, error } of sorted.poison) tracing.settled(message, 'quarantine', error)
  for (const { job } of sorted.retry) tracing.settled(job.message, 'visibility', job.error)
  for (const { message } of sorted.held) tracing.settled(message, 'visibility')
}

/** Suspect failures among a probe batch's retries. */
function suspectCount(sorted: SortedBatch): number {
  let count = 0
  for (const { job } of sorted.retry) if (SUSPECT_CODES.has(job.error.code)) count++
  return count
}
