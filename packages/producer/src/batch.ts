import { channel } from 'node:diagnostics_channel'
import { performance } from 'node:perf_hooks'
import type { SendMessageBatchCommandOutput, SendMessageBatchRequestEntry } from '@aws-sdk/client-sqs'
import type { TraceSpan, TraceSpanContext } from '@sqs-envelope/core/internal'
import { ABORTED, classifyEntryFailure, type SendFailureInfo } from './classify.ts'
import type { ResolvedProducerOptions } from './options.ts'
import { entryIdFor } from './plan.ts'
import type { Counts, SealedJob, SendRun } from './run.ts'
import type { ProducerTracing } from './sealing.ts'
import type { QueueRequests, RequestOutcome } from './sqs.ts'

/**
 * `node:diagnostics_channel` name on which every SendMessageBatch request is reported as a
 * {@link ProducerBatchEvent}; costs nothing while nobody subscribes. (`batch` is the event's name:
 * the producer is not an event emitter, so there is no emitter event to match.)
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

/**
 * `node:diagnostics_channel` name on which each window of jobs sealed (ready to send) is reported as
 * `{ queueUrl, count }`; jobs refused or failed before sending are not counted. Costs nothing while
 * nobody subscribes.
 */
export const PRODUCER_SEALED_CHANNEL = 'sqs-envelope:producer:sealed'

const sealedChannel = channel(PRODUCER_SEALED_CHANNEL)

/** Reports `count` jobs sealed for `queueUrl`, when someone listens. */
export function publishSealed(queueUrl: string, count: number): void {
  if (count > 0 && sealedChannel.hasSubscribers) sealedChannel.publish({ queueUrl, count })
}

/** One batch being sent: what is left to send and what an earlier attempt may have delivered. */
interface Batch {
  readonly run: SendRun
  readonly maybeSent: Set<number>
  /** Attempts allowed for a whole request that failed (see QueueRequests.requestAttempts). */
  readonly requestAttempts: number
  attempt: number
  pending: readonly SealedJob[]
}

/** Sends batches until each entry succeeded or failed for good; only retryable failures are sent again. */
export class BatchSending {
  readonly #requests: QueueRequests
  readonly #queueUrl: string
  readonly #maxAttempts: number
  readonly #counts: Counts
  readonly #tracing: ProducerTracing | undefined

  constructor(
    requests: QueueRequests,
    options: Pick<ResolvedProducerOptions, 'queueUrl' | 'sqsMaxAttempts'>,
    counts: Counts,
    tracing?: ProducerTracing,
  ) {
    this.#requests = requests
    this.#queueUrl = options.queueUrl
    this.#maxAttempts = options.sqsMaxAttempts
    this.#counts = counts
    this.#tracing = tracing
  }

  /** Sends one batch, retrying what failed for a passing cause, and reports each entry to `run`. */
  async send(entries: readonly SealedJob[], run: SendRun): Promise<void> {
    const requestAttempts = await this.#requests.requestAttempts()
    const batch: Batch = { run, maybeSent: new Set(), requestAttempts, attempt: 0, pending: entries }
    while (batch.pending.length > 0) {
      if (batch.attempt > 0 && !(await this.#backoff(batch))) return this.#abort(batch)
      if (run.signal?.aborted) return this.#abort(batch)
      batch.attempt++
      batch.pending = await this.#attempt(batch)
    }
  }

  async #backoff(batch: Batch): Promise<boolean> {
    this.#counts.retries += batch.pending.length
    return this.#requests.backoff(batch.attempt, batch.run.signal)
  }

  #abort(batch: Batch): void {
    batch.run.failSending(batch.pending, 'ABORTED', ABORTED, batch.attempt, batch.maybeSent)
  }

  /** One request of the pending entries; returns the entries to send again. */
  async #attempt(batch: Batch): Promise<readonly SealedJob[]> {
    this.#counts.batches++
    const startedAt = batchChannel.hasSubscribers ? performance.now() : 0
    const span = this.#tracing === undefined ? undefined : sendSpan(this.#tracing, batch.pending)
    const outcome = await this.#requests.sendBatch(batch.pending.map(toEntry), batch.run.signal)
    if (span !== undefined) endSendSpan(this.#tracing as ProducerTracing, span, outcome)
    const retry = outcome.ok ? this.#settle(batch, outcome.output) : this.#requestFailed(batch, outcome)
    if (batchChannel.hasSubscribers) publish(this.#queueUrl, batch, outcome, performance.now() - startedAt)
    return retry
  }

  /** The whole request failed: every pending entry is retried or failed alike. */
  #requestFailed(batch: Batch, outcome: Extract<RequestOutcome<unknown>, { ok: false }>): readonly SealedJob[] {
    const { run, pending, attempt, maybeSent } = batch
    const { info, error } = outcome
    if (outcome.aborted) {
      run.failSending(
        pending,
        'ABORTED',
        { ...info, retryable: true, mayHaveBeenSent: true },
        attempt,
        maybeSent,
        error,
      )
      return []
    }
    if (info.mayHaveBeenSent) for (const s of pending) maybeSent.add(s.job.index)
    if (info.retryable && attempt < batch.requestAttempts) return pending
    run.failSending(pending, failureCode(info), info, attempt, maybeSent, error)
    return []
  }

  /** SQS answered: successes are results, failed entries retried or failed one by one, missing ones failed. */
  #settle(batch: Batch, response: SendMessageBatchCommandOutput): SealedJob[] {
    const { run, attempt, maybeSent } = batch
    const byId = new Map(batch.pending.map((s) => [entryIdFor(s.job.index), s]))
    for (const entry of response.Successful ?? []) {
      const s = entry.Id === undefined ? undefined : byId.get(entry.Id)
      if (!s || entry.MessageId === undefined) continue
      byId.delete(entry.Id as string)
      run.succeed(s, entry.MessageId, entry.SequenceNumber)
    }
    const retry: SealedJob[] = []
    for (const entry of response.Failed ?? []) {
      const s = entry.Id === undefined ? undefined : byId.get(entry.Id)
      if (!s) continue
      byId.delete(entry.Id as string)
      const info = classifyEntryFailure(entry)
      if (info.retryable && attempt < this.#maxAttempts) retry.push(s)
      else run.failSending([s], failureCode(info), info, attempt, maybeSent)
    }
    // An entry SQS did not answer for: it may or may not be in the queue.
    if (byId.size > 0) run.failSending([...byId.values()], 'SQS_UNAVAILABLE', MISSING, attempt, maybeSent)
    return retry
  }
}

const MISSING: SendFailureInfo = Object.freeze({
  sqsCode: 'MissingEntryResult',
  retryable: true,
  mayHaveBeenSent: true,
})

function failureCode(info: SendFailureInfo): 'SQS_UNAVAILABLE' | 'SQS_REJECTED' {
  return info.retryable ? 'SQS_UNAVAILABLE' : 'SQS_REJECTED'
}

function publish(queueUrl: string, batch: Batch, outcome: RequestOutcome<SendMessageBatchCommandOutput>, ms: number) {
  const entries = batch.pending.length
  const event: ProducerBatchEvent = outcome.ok
    ? {
        queueUrl,
        attempt: batch.attempt,
        entries,
        succeeded: outcome.output.Successful?.length ?? 0,
        failed: outcome.output.Failed?.length ?? 0,
        durationMs: ms,
      }
    : {
        queueUrl,
        attempt: batch.attempt,
        entries,
        succeeded: 0,
        failed: entries,
        sqsCode: outcome.info.sqsCode,
        durationMs: ms,
      }
  batchChannel.publish(event)
}

/** A send span for one SendMessageBatch request, linked to its jobs' create spans. */
function sendSpan(tracing: ProducerTracing, pending: readonly SealedJob[]): TraceSpan {
  const jobs: TraceSpanContext[] = []
  for (const s of pending) if (s.trace !== undefined) jobs.push(s.trace.context)
  return tracing.tracer.send(tracing.destination, jobs)
}

/** A failed request, or failed entries, set an error status with the code the entries get. */
function endSendSpan(
  tracing: ProducerTracing,
  span: TraceSpan,
  outcome: RequestOutcome<SendMessageBatchCommandOutput>,
) {
  if (!outcome.ok) tracing.tracer.failedWith(span, outcome.aborted ? 'ABORTED' : failureCode(outcome.info))
  else {
    const failed = outcome.output.Failed?.[0]
    if (failed !== undefined) tracing.tracer.failedWith(span, failureCode(classifyEntryFailure(failed)))
  }
  span.end()
}

function toEntry({ job, body, attributes, deduplicationId, trace }: SealedJob): SendMessageBatchRequestEntry {
  const entry: SendMessageBatchRequestEntry = {
    Id: entryIdFor(job.index),
    MessageBody: body,
    MessageAttributes: attributes,
    ...(job.groupId === undefined ? {} : { MessageGroupId: job.groupId }),
    ...(deduplicationId === undefined ? {} : { MessageDeduplicationId: deduplicationId }),
    ...(job.delaySeconds === undefined ? {} : { DelaySeconds: job.delaySeconds }),
  }
  // A system attribute: it takes none of the 10 message attribute slots. Set only when tracing is on.
  if (trace?.header !== undefined) {
    entry.MessageSystemAttributes = { AWSTraceHeader: { DataType: 'String', StringValue: trace.header } }
  }
  return entry
}
