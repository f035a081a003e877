import type { BatchHandler, MessageHandler } from '@sqs-envelope/consumer'
import { acknowledgedIds } from '@sqs-envelope/consumer/internal'
import type { EnvelopeOpener, OpenedMessage } from '@sqs-envelope/core'
import { openFailure } from '@sqs-envelope/core/internal'
import type { LambdaBreaker } from './breaker.ts'
import type { SQSRecord } from './lambda-types.ts'
import type { Quarantiner, Source } from './quarantining.ts'
import type { RecordReader } from './records.ts'
import { handlerObserved, type LambdaReporter } from './reporting.ts'
import {
  abortOutcome,
  type Deadline,
  type HandlerOutcome,
  handlerTimeout,
  RecordContext,
  RecordJob,
  runHandler,
} from './running.ts'
import { type Schedule, schedule } from './scheduling.ts'
import type { BatchSpans, LambdaTracing } from './tracing.ts'

/** What became of a record. Anything but DONE is reported in `batchItemFailures`. */
export const PENDING = 0 // not started (the deadline came, or an earlier FIFO record was not done)
export const DONE = 1 // handled, or sent to quarantine
export const FAILED = 2
const OPENED = 3 // opened, waiting for the batch handler

/** One queue's records of one invocation, and what became of each. */
export interface Batch extends Source {
  readonly records: readonly SQSRecord[]
  readonly fifo: boolean
  readonly deadline: Deadline
  readonly states: Uint8Array
}

/** What a processor is made of; long-lived, shared by every invocation of a warm environment. */
export interface ProcessorParts<T> {
  readonly opener: Pick<EnvelopeOpener, 'open'>
  readonly reader: RecordReader
  readonly breaker: LambdaBreaker
  readonly quarantiner: Quarantiner
  readonly reporter: LambdaReporter
  readonly handleMessage: MessageHandler<T> | undefined
  readonly handleMessageBatch: BatchHandler<T> | undefined
  readonly concurrency: number
  readonly skipGroupOnError: boolean
  readonly handlerTimeoutMs: number | undefined
  /** Undefined when tracing is off. */
  readonly tracing?: LambdaTracing | undefined
}

/**
 * Opens, classifies, quarantines and handles the records of a batch. Per record: opened and
 * handled → DONE; handler threw or timed out → FAILED; transient open failure → FAILED (never
 * quarantined); poison (or a suspect failure the breaker lets through) → DONE once its copy is
 * sent, else FAILED. FIFO queues: after the first record that is not done, every later one (of its
 * group, with `skipGroupOnError`) stays PENDING, which is reported as a failure too.
 */
export class RecordProcessor<T> {
  readonly #parts: ProcessorParts<T>
  /** With tracing on: each batch's process spans. */
  readonly #spans = new WeakMap<Batch, BatchSpans>()

  constructor(parts: ProcessorParts<T>) {
    this.#parts = parts
  }

  async process(batch: Batch): Promise<void> {
    const tracing = this.#parts.tracing
    if (tracing === undefined) return this.#process(batch)
    const spans = tracing.start(batch.queueUrl, batch.records)
    this.#spans.set(batch, spans)
    try {
      await this.#process(batch)
    } finally {
      tracing.end(spans, (i) => batch.states[i] === DONE)
    }
  }

  async #process(batch: Batch): Promise<void> {
    const batchHandler = this.#parts.handleMessageBatch
    const plan = this.#plan(batch)
    const signal = batch.deadline.signal
    if (batchHandler === undefined) {
      await schedule(batch.records, plan, (i) => this.#openAndHandle(batch, i), signal)
      return
    }
    const opened: Array<OpenedMessage | undefined> = new Array(batch.records.length)
    await schedule(batch.records, plan, (i) => this.#openOnly(batch, i, opened), signal)
    await this.#handleBatch(batch, opened, batchHandler)
  }

  #plan(batch: Batch): Schedule {
    if (!batch.fifo) return { kind: 'pool', concurrency: this.#parts.concurrency }
    return this.#parts.skipGroupOnError
      ? { kind: 'groups', concurrency: this.#parts.concurrency }
      : { kind: 'sequential' }
  }

  /** True when the record is done (FIFO goes on only then). */
  async #openAndHandle(batch: Batch, i: number): Promise<boolean> {
    const opened = await this.#open(batch, i)
    if (opened !== undefined) await this.#handleOne(batch, i, opened)
    return batch.states[i] === DONE
  }

  /** True unless the record failed (an opened one waits for the batch handler). */
  async #openOnly(batch: Batch, i: number, opened: Array<OpenedMessage | undefined>): Promise<boolean> {
    const result = await this.#open(batch, i)
    if (result !== undefined) {
      opened[i] = result
      batch.states[i] = OPENED
    }
    return batch.states[i] !== FAILED
  }

  /** Opens record `i`; on failure, classifies it and sets its state. */
  async #open(batch: Batch, i: number): Promise<OpenedMessage | undefined> {
    const record = batch.records[i] as SQSRecord
    const { opener, reader, breaker, reporter } = this.#parts
    reporter.received(record, batch.queueUrl)
    let opened: OpenedMessage
    try {
      // The view is read inside open(), before anything else can point it at another record.
      opened = await opener.open(reader.view(record), batch.deadline.openOptions)
    } catch (caught) {
      const quarantined = await this.#openFailed(batch, record, caught)
      batch.states[i] = quarantined ? DONE : FAILED
      if (this.#parts.tracing !== undefined) this.#traceOpenFailed(batch, i, caught, quarantined)
      return undefined
    }
    breaker.success(record.body)
    return opened
  }

  /** True when the record is done with (sent to quarantine). */
  async #openFailed(batch: Batch, record: SQSRecord, caught: unknown): Promise<boolean> {
    const { verdict, error } = openFailure(caught)
    const quarantine =
      verdict === 'poison' ||
      (verdict === 'suspect' && this.#parts.breaker.suspect(record.body, batch.queueUrl) === 'quarantine')
    if (!quarantine) {
      this.#parts.reporter.transient(error, record, batch.queueUrl)
      return false
    }
    return this.#parts.quarantiner.quarantine(record, error, batch, batch.deadline.signal)
  }

  async #handleOne(batch: Batch, i: number, opened: OpenedMessage): Promise<void> {
    const record = batch.records[i] as SQSRecord
    const handler = this.#parts.handleMessage as MessageHandler<T>
    const timeoutMs = this.#parts.handlerTimeoutMs
    // The clock is read only while someone listens on sqs-envelope:lambda:handler_finished.
    const startedAt = handlerObserved() ? performance.now() : -1
    let outcome: HandlerOutcome
    if (timeoutMs === undefined) {
      const context = new RecordContext(record, batch.queueUrl, opened, batch.deadline.signal)
      outcome = await this.#runHandler(batch, i, handler, opened.value as T, context, batch.deadline.aborted)
    } else {
      const timeout = new AbortController()
      const timer = setTimeout(() => timeout.abort(handlerTimeout(timeoutMs)), timeoutMs)
      const signal = AbortSignal.any([batch.deadline.signal, timeout.signal])
      const context = new RecordContext(record, batch.queueUrl, opened, signal)
      outcome = await this.#runHandler(batch, i, handler, opened.value as T, context, abortOutcome(signal))
      clearTimeout(timer)
    }
    if (startedAt >= 0) this.#parts.reporter.handlerFinished(batch.queueUrl, 1, startedAt, outcomeOf(outcome))
    this.#settle(batch, i, outcome)
  }

  #settle(batch: Batch, i: number, outcome: HandlerOutcome): void {
    const record = batch.records[i] as SQSRecord
    if (outcome.ok) {
      batch.states[i] = DONE
      this.#parts.reporter.processed(record, batch.queueUrl)
    } else {
      batch.states[i] = FAILED
      this.#parts.reporter.handlerFailed(outcome.error, outcome.timedOut, record, batch.queueUrl)
      const spans = this.#parts.tracing === undefined ? undefined : this.#spans.get(batch)
      if (spans !== undefined) this.#parts.tracing?.failed(spans, i, outcome.error)
    }
  }

  /** runHandler, with record `i`'s process span active when tracing is on (and no closure when it is off). */
  #runHandler(
    batch: Batch,
    i: number,
    handler: MessageHandler<T>,
    value: T,
    context: RecordContext,
    aborted: Promise<HandlerOutcome>,
  ): Promise<HandlerOutcome> {
    const tracing = this.#parts.tracing
    const spans = tracing === undefined ? undefined : this.#spans.get(batch)
    if (spans === undefined) return runHandler(handler, value, context, aborted)
    return (tracing as LambdaTracing).inSpan(spans, i, () => runHandler(handler, value, context, aborted))
  }

  #traceOpenFailed(batch: Batch, i: number, error: unknown, quarantined: boolean): void {
    const spans = this.#spans.get(batch)
    if (spans === undefined) return
    this.#parts.tracing?.failed(spans, i, error)
    if (quarantined) spans.quarantined[i] = 1
  }

  async #handleBatch(
    batch: Batch,
    opened: ReadonlyArray<OpenedMessage | undefined>,
    handler: BatchHandler<T>,
  ): Promise<void> {
    const jobs: RecordJob<T>[] = []
    const timeoutMs = this.#parts.handlerTimeoutMs
    const timeout = timeoutMs === undefined ? undefined : new AbortController()
    const signal = timeout ? AbortSignal.any([batch.deadline.signal, timeout.signal]) : batch.deadline.signal
    for (let i = 0; i < batch.records.length; i++) {
      if (batch.states[i] !== OPENED) continue
      jobs.push(new RecordJob<T>(batch.records[i] as SQSRecord, batch.queueUrl, opened[i] as OpenedMessage, signal))
    }
    if (jobs.length === 0) return
    const timer = timeoutMs && setTimeout(() => timeout?.abort(handlerTimeout(timeoutMs)), timeoutMs)
    const startedAt = handlerObserved() ? performance.now() : -1
    const outcome = await runHandler(
      handler,
      jobs,
      { queueUrl: batch.queueUrl, signal },
      timeout ? abortOutcome(signal) : batch.deadline.aborted,
    )
    clearTimeout(timer)
    if (startedAt >= 0) this.#parts.reporter.handlerFinished(batch.queueUrl, jobs.length, startedAt, outcomeOf(outcome))
    this.#settleBatch(batch, jobs, outcome)
  }

  /**
   * Settles each job by the batch handler's outcome. FIFO: after the first record that is not
   * done (of its group, with `skipGroupOnError`), the later ones stay PENDING, reported as
   * failures even when the handler reports them done, so that SQS delivers them again in order.
   */
  #settleBatch(batch: Batch, jobs: readonly RecordJob<T>[], outcome: HandlerOutcome): void {
    const doneIds = outcome.ok
      ? acknowledgedIds(
          jobs.map((job) => job.messageId),
          outcome.value,
        )
      : undefined
    const cut = batch.fifo ? new FifoCut(this.#parts.skipGroupOnError) : undefined
    let n = 0
    for (let i = 0; i < batch.records.length; i++) {
      const record = batch.records[i] as SQSRecord
      if (batch.states[i] !== OPENED) {
        if (batch.states[i] !== DONE) cut?.after(record)
        continue
      }
      const job = jobs[n++] as RecordJob<T>
      if (cut?.blocks(record)) {
        batch.states[i] = PENDING
        continue
      }
      this.#settle(batch, i, doneIds && !doneIds.has(job.messageId) ? reportedFailed() : outcome)
      if (batch.states[i] !== DONE) cut?.after(record)
    }
  }
}

/** A handler call's outcome for the handler_finished channel. */
function outcomeOf(outcome: HandlerOutcome): 'ok' | 'failed' | 'timeout' {
  if (outcome.ok) return 'ok'
  return outcome.timedOut ? 'timeout' : 'failed'
}

function reportedFailed(): HandlerOutcome {
  return { ok: false, error: new Error('handleMessageBatch reported this job in batchItemFailures'), timedOut: false }
}

/** FIFO's rule: which records come after one that is not done (in the batch, or in its group). */
class FifoCut {
  #all = false
  readonly #groups: Set<string | undefined> | undefined

  constructor(perGroup: boolean) {
    this.#groups = perGroup ? new Set() : undefined
  }

  blocks(record: SQSRecord): boolean {
    return this.#groups === undefined ? this.#all : this.#groups.has(record.attributes?.MessageGroupId)
  }

  after(record: SQSRecord): void {
    if (this.#groups === undefined) this.#all = true
    else this.#groups.add(record.attributes?.MessageGroupId)
  }
}
