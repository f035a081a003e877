import type { Message } from '@aws-sdk/client-sqs'
import type { EnvelopeOpener, OpenedMessage, SqsEnvelopeError } from '@sqs-envelope/core'
import { backoffSeconds, openFailure } from '@sqs-envelope/core/internal'
import type { ResolvedBackoff } from './backoff.ts'
import type { BreakerGate } from './breaker-gate.ts'
import { receiveCountOf } from './reporting.ts'

/** What the consumer needs of an opener: {@link EnvelopeOpener} or anything shaped like it. */
export type MessageOpener = Pick<EnvelopeOpener, 'open' | 'metrics'> & { close(): void | Promise<void> }

export interface OpenedJob {
  readonly kind: 'opened'
  readonly message: Message
  readonly opened: OpenedMessage
}
export interface PoisonJob {
  readonly kind: 'poison'
  readonly message: Message
  readonly error: SqsEnvelopeError
}
export interface RetryJob {
  readonly kind: 'retry'
  readonly message: Message
  readonly error: SqsEnvelopeError
}
/** A message after its open: handle it, quarantine it, or retry it later. */
export type Opened = OpenedJob | PoisonJob | RetryJob

const DATA_KEY_FIELD = /"encrypted_data_key"\s*:\s*"([^"]{1,8192})"/

/**
 * The `encrypted_data_key` text of a v1 body, or undefined. A slice of the body (no copy): a
 * caller that keeps it must copy it.
 */
export function dataKeyOf(body: string | undefined): string | undefined {
  return body === undefined ? undefined : DATA_KEY_FIELD.exec(body)?.[1]
}

/**
 * Opens messages and classifies what failed: the one open → verdict policy (core's
 * `openFailure`), with suspect failures ("this worker cannot open what the queue holds") decided
 * by the breaker. Shared by the consumer's pollers, and by tools that receive messages themselves.
 */
export class MessageOpening {
  readonly #opener: MessageOpener
  readonly #breaker: BreakerGate

  constructor(opener: MessageOpener, breaker: BreakerGate) {
    this.#opener = opener
    this.#breaker = breaker
  }

  /** Opens one message; never rejects. `queueUrl` names where a breaker opening happened. */
  async open(message: Message, queueUrl: string, signal: AbortSignal): Promise<Opened> {
    try {
      const opened = await this.#opener.open(message, { signal })
      // Finding the data key scans the body: only when the breaker remembers a failing key.
      this.#breaker.success(this.#breaker.rule.wantsDataKey === false ? undefined : dataKeyOf(message.Body))
      return { kind: 'opened', message, opened }
    } catch (caught) {
      const { verdict, error } = openFailure(caught)
      if (verdict === 'poison') return { kind: 'poison', message, error }
      if (verdict === 'retry') return { kind: 'retry', message, error }
      return this.#breaker.suspect(dataKeyOf(message.Body), queueUrl) === 'quarantine'
        ? { kind: 'poison', message, error }
        : { kind: 'retry', message, error }
    }
  }
}

/** A message whose open must be retried, with the visibility (seconds) that makes it come back later. */
export interface Retry {
  readonly job: RetryJob
  readonly seconds: number
}

/** A message that opened but waits behind an earlier one of its FIFO group (same visibility). */
export interface Held {
  readonly message: Message
  readonly seconds: number
}

/** A batch's opens, sorted by what happens next. */
export interface SortedBatch {
  readonly opened: OpenedJob[]
  readonly poison: PoisonJob[]
  readonly retry: Retry[]
  readonly held: Held[]
}

/**
 * Sorts a batch's opens. FIFO (`fifo`): after a message of a group that must be retried, the later
 * ones of that group wait for it: they are not handled and get the same visibility, so that SQS
 * delivers them again in order.
 */
export function sortBatch(results: readonly Opened[], fifo: boolean, backoff: ResolvedBackoff): SortedBatch {
  const sorted: SortedBatch = { opened: [], poison: [], retry: [], held: [] }
  const blockedGroups = fifo ? new Map<string, number>() : undefined
  for (const r of results) {
    const group = blockedGroups === undefined ? undefined : r.message.Attributes?.MessageGroupId
    const blocker = group === undefined ? undefined : blockedGroups?.get(group)
    if (r.kind === 'opened' && blocker !== undefined) sorted.held.push({ message: r.message, seconds: blocker })
    else if (r.kind === 'opened') sorted.opened.push(r)
    else if (r.kind === 'poison') sorted.poison.push(r)
    else {
      const seconds = r.error.code === 'ABORTED' ? 0 : backoffSeconds(receiveCountOf(r.message), backoff)
      sorted.retry.push({ job: r, seconds })
      if (group !== undefined && !blockedGroups?.has(group)) blockedGroups?.set(group, seconds)
    }
  }
  return sorted
}
