import type { Message } from '@aws-sdk/client-sqs'
import { isSqsEnvelopeError, type OpenedMessage, SqsEnvelopeError } from '@sqs-envelope/core'
import { backoffSeconds } from '@sqs-envelope/core/internal'
import type { Acknowledger } from './acknowledging.ts'
import type { ResolvedBackoff } from './backoff.ts'
import { acknowledgedIds, type BatchHandler, type MessageContext, type MessageHandler } from './handler.ts'
import type { OpenedJob } from './opening.ts'
import { type ConsumerReporter, type HandlerOutcome, handlerObserved, receiveCountOf } from './reporting.ts'
import type { RunSignals } from './signals.ts'
import type { ConsumerTracing } from './tracing.ts'

/** held: not handled, because an earlier message of its FIFO group was not done. */
export type HandlerResult = 'ok' | 'failed' | 'aborted' | 'held'

export interface HandledJob {
  readonly message: Message
  readonly result: HandlerResult
  /** Visibility to set; undefined leaves it. */
  readonly seconds: number | undefined
  /** Why the handler did not succeed (for the process span's error status). */
  readonly error?: unknown
}

interface Outcome {
  readonly result: HandlerResult
  readonly value?: unknown
  readonly error?: unknown
}

interface Run {
  readonly message: Message
  readonly run: Promise<HandledJob>
}

export interface HandlingOptions<T> {
  readonly handleMessage: MessageHandler<T> | undefined
  readonly handleMessageBatch: BatchHandler<T> | undefined
  readonly handlerTimeoutMs: number | undefined
  readonly handlerErrorBackoff: ResolvedBackoff | false
  readonly stragglerAfterMs: number
  readonly pollers: number
  readonly batchSize: number
  readonly heartbeatInterval: number | undefined
  readonly visibilityTimeout: number | undefined
}

function noop(): void {}

function context(queueUrl: string, message: Message, opened: OpenedMessage, signal: AbortSignal): MessageContext {
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

/** Calls a handler: what it returned, or a rejected promise of what it threw (no closure per call). */
function call<A, B>(handler: (a: A, b: B) => unknown, a: A, b: B): unknown {
  try {
    return handler(a, b)
  } catch (error) {
    return Promise.reject(error)
  }
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  )
}

function succeeded(value: unknown): Outcome {
  return { result: 'ok', value }
}

function threw(error: unknown): Outcome {
  return { result: 'failed', error }
}

/** A handler call's outcome for the handler_finished channel. */
function outcomeOf(outcome: Outcome): HandlerOutcome {
  if (outcome.result === 'ok' || outcome.result === 'aborted') return outcome.result
  return timedOut(outcome.error) ? 'timeout' : 'failed'
}

function timedOut(error: unknown): boolean {
  return isSqsEnvelopeError(error) && error.code === 'HANDLER_TIMEOUT'
}

/**
 * Running handlers: each gets a signal (handler timeout, stop() giving up); a batch handler gets
 * the whole batch; FIFO groups run concurrently, each in order, the rest of a group held after a
 * failure; on standard queues, jobs slower than `stragglerAfterMs` run on detached, renewed by
 * heartbeats from their receipt, and are acknowledged when they settle.
 */
export class HandlerRunner<T> {
  readonly #options: HandlingOptions<T>
  readonly #signals: RunSignals
  readonly #reporter: ConsumerReporter
  readonly #acknowledger: Acknowledger
  readonly #tracing: ConsumerTracing | undefined
  /** Jobs whose batch let its poller go before they finished. */
  #detached = 0

  constructor(
    options: HandlingOptions<T>,
    signals: RunSignals,
    reporter: ConsumerReporter,
    acknowledger: Acknowledger,
    tracing?: ConsumerTracing,
  ) {
    this.#options = options
    this.#signals = signals
    this.#reporter = reporter
    this.#acknowledger = acknowledger
    this.#tracing = tracing
  }

  /**
   * Runs the handlers of a batch's opened jobs (received at `receivedAt`, `Date.now()` time).
   * `detach(message)` is called for each job left to run on detached; the rest are returned.
   */
  handle(
    queueUrl: string,
    opened: readonly OpenedJob[],
    receivedAt: number,
    detach: (message: Message) => void,
  ): Promise<HandledJob[]> {
    if (opened.length === 0) return Promise.resolve([])
    const batchHandler = this.#options.handleMessageBatch
    if (batchHandler) return this.#handleBatch(batchHandler, queueUrl, opened)
    const handler = this.#options.handleMessage as MessageHandler<T>
    if (queueUrl.endsWith('.fifo')) return this.#handleGroups(handler, queueUrl, opened)
    const runs = opened.map((item) => ({ message: item.message, run: this.#handleOne(handler, queueUrl, item) }))
    return this.#handleWithHold(queueUrl, runs, receivedAt, detach)
  }

  async #handleBatch(handler: BatchHandler<T>, queueUrl: string, opened: readonly OpenedJob[]): Promise<HandledJob[]> {
    const { signal, done } = this.#handlerSignal()
    const jobs = opened.map(({ message, opened: o }) => ({
      ...context(queueUrl, message, o, signal),
      job: o.value as T,
    }))
    const startedAt = handlerObserved() ? performance.now() : -1
    const outcome = await this.#run(call(handler, jobs, { queueUrl, signal }), signal, done)
    if (startedAt >= 0) this.#reporter.handlerFinished(queueUrl, jobs.length, startedAt, outcomeOf(outcome))
    if (outcome.result !== 'ok') {
      const messages = opened.map((o) => o.message)
      this.#failed(outcome, queueUrl, messages)
      return messages.map((message) => this.#handled(message, outcome.result))
    }
    const acked = acknowledgedIds(
      jobs.map((j) => j.messageId),
      outcome.value,
    )
    const failed = opened.filter(({ message }) => !acked.has(message.MessageId ?? '')).map((o) => o.message)
    if (failed.length > 0) {
      const error = new Error('handleMessageBatch reported batchItemFailures')
      this.#failed({ result: 'failed', error }, queueUrl, failed)
    }
    return opened.map(({ message }) => this.#handled(message, acked.has(message.MessageId ?? '') ? 'ok' : 'failed'))
  }

  async #handleOne(handler: MessageHandler<T>, queueUrl: string, item: OpenedJob): Promise<HandledJob> {
    const { message, opened } = item
    const { signal, done } = this.#handlerSignal()
    const tracing = this.#tracing
    const ctx = context(queueUrl, message, opened, signal)
    // The clock is read only while someone listens on sqs-envelope:consumer:handler_finished.
    const startedAt = handlerObserved() ? performance.now() : -1
    // Tracing off (the default): the handler is called with no closure.
    const returned =
      tracing === undefined
        ? call(handler, opened.value as T, ctx)
        : tracing.inSpanOf(message, () => call(handler, opened.value as T, ctx))
    const outcome = await this.#run(returned, signal, done)
    if (startedAt >= 0) this.#reporter.handlerFinished(queueUrl, 1, startedAt, outcomeOf(outcome))
    if (outcome.result !== 'ok') this.#failed(outcome, queueUrl, [message])
    return this.#handled(message, outcome.result, outcome.error)
  }

  /** FIFO: groups run concurrently, the messages of one group in order; after a failure the rest of the group is held. */
  async #handleGroups(handler: MessageHandler<T>, queueUrl: string, opened: readonly OpenedJob[]) {
    const groups = new Map<string, OpenedJob[]>()
    for (const item of opened) {
      const group = item.message.Attributes?.MessageGroupId ?? ''
      const list = groups.get(group)
      if (list) list.push(item)
      else groups.set(group, [item])
    }
    const perGroup = await Promise.all(
      [...groups.values()].map(async (items) => {
        const results: HandledJob[] = []
        for (const item of items) {
          const previous = results[results.length - 1]
          results.push(
            previous && previous.result !== 'ok'
              ? { message: item.message, result: 'held', seconds: previous.seconds }
              : await this.#handleOne(handler, queueUrl, item),
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
   * deleted and it polls again), so that a slow job does not hold the next poll.
   */
  async #handleWithHold(
    queueUrl: string,
    runs: readonly Run[],
    receivedAt: number,
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
      this.#detach(queueUrl, r, receivedAt)
    }
    return Promise.all(runs.filter((r) => done.has(r.message)).map((r) => r.run))
  }

  /** A detached job: deleted, or given its failure visibility, when it settles; heartbeats renew it meanwhile. */
  #detach(queueUrl: string, { message, run }: Run, receivedAt: number): void {
    this.#detached++
    const stopHeartbeat = this.#heartbeat(queueUrl, message, receivedAt)
    const chore = (async () => {
      const outcome = await run
      stopHeartbeat()
      this.#tracing?.settled(message, outcome.result === 'ok' ? 'delete' : 'visibility', outcome.error)
      if (outcome.result === 'ok') await this.#acknowledger.deleteOne(queueUrl, message)
      else if (outcome.seconds !== undefined)
        await this.#acknowledger.changeVisibility(queueUrl, [{ message, seconds: outcome.seconds }])
    })()
    void chore.finally(() => {
      this.#detached--
      this.#reporter.finished(1, queueUrl)
    })
  }

  /**
   * Renews a detached job's visibility every `heartbeatInterval` counted from its receipt, as the
   * batch's own heartbeat did before it was detached: the first renewal after detaching comes
   * within one interval of the last one, not one interval after detaching (by then the
   * visibility may have expired and the job been delivered again).
   */
  #heartbeat(queueUrl: string, message: Message, receivedAt: number): () => void {
    const { heartbeatInterval, visibilityTimeout } = this.#options
    if (heartbeatInterval === undefined || visibilityTimeout === undefined) return noop
    const intervalMs = heartbeatInterval * 1000
    const renew = () => void this.#acknowledger.changeVisibility(queueUrl, [{ message, seconds: visibilityTimeout }])
    let interval: NodeJS.Timeout | undefined
    const first = setTimeout(
      () => {
        renew()
        interval = setInterval(renew, intervalMs)
      },
      intervalMs - (Math.max(0, Date.now() - receivedAt) % intervalMs),
    )
    return () => {
      clearTimeout(first)
      clearInterval(interval)
    }
  }

  #handled(message: Message, result: HandlerResult, error?: unknown): HandledJob {
    const seconds = this.#failureSeconds(result, message)
    return error === undefined ? { message, result, seconds } : { message, result, seconds, error }
  }

  /** The visibility to set after a handler did not succeed; undefined leaves it as it is. */
  #failureSeconds(result: HandlerResult, message: Message): number | undefined {
    if (result === 'ok') return undefined
    if (result === 'aborted') return 0
    const policy = this.#options.handlerErrorBackoff
    return policy === false ? undefined : backoffSeconds(receiveCountOf(message), policy)
  }

  /** The signal a handler gets: aborted on handler timeout or when stop() gives up. */
  #handlerSignal(): { signal: AbortSignal; done: () => void } {
    const timeoutMs = this.#options.handlerTimeoutMs
    if (timeoutMs === undefined) return { signal: this.#signals.work, done: noop }
    const timeout = new AbortController()
    const timer = setTimeout(
      () =>
        timeout.abort(
          new SqsEnvelopeError('HANDLER_TIMEOUT', `the handler ran past handlerTimeoutMs (${timeoutMs} ms)`),
        ),
      timeoutMs,
    )
    return {
      signal: AbortSignal.any([this.#signals.work, timeout.signal]),
      done: () => clearTimeout(timer),
    }
  }

  /** Waits for what a handler returned until it settles or its signal aborts, whichever comes first. */
  async #run(returned: unknown, signal: AbortSignal, done: () => void): Promise<Outcome> {
    // A handler that returned a value (no promise), not aborted: settled, no abort listener to set up.
    if (!isPromiseLike(returned) && !signal.aborted) {
      done()
      return succeeded(returned)
    }
    let onAbort: (() => void) | undefined
    const aborted = new Promise<Outcome>((resolve) => {
      onAbort = () => {
        const reason: unknown = signal.reason
        resolve({ result: timedOut(reason) ? 'failed' : 'aborted', error: reason })
      }
      if (signal.aborted) onAbort()
      else signal.addEventListener('abort', onAbort, { once: true })
    })
    try {
      return await Promise.race([Promise.resolve(returned).then(succeeded, threw), aborted])
    } finally {
      done()
      if (onAbort) signal.removeEventListener('abort', onAbort)
    }
  }

  #failed(outcome: Outcome, queueUrl: string, messages: readonly Message[]): void {
    const kind = outcome.result === 'aborted' ? 'aborted' : timedOut(outcome.error) ? 'timeout' : 'failed'
    this.#reporter.handlerFailed(outcome.error, kind, queueUrl, messages)
  }
}
