import type { Message } from '@aws-sdk/client-sqs'
import {
  AWS_TRACE_HEADER,
  carriedContext,
  type MessagingTracer,
  type Settlement,
  TRACEPARENT,
  type TraceSpan,
} from '@sqs-envelope/core/internal'

/**
 * The consumer's spans: a receive span per receive that returned messages, a process span per
 * message (a child of the producer's context it carries, linked to its receive) from receipt until
 * it is settled: deleted, given a visibility, quarantined. Built only when tracing is on: the
 * runner holds it as `undefined` otherwise, and tests it once per message.
 */
export class ConsumerTracing {
  readonly #tracer: MessagingTracer
  readonly #spans = new Map<Message, TraceSpan>()

  constructor(tracer: MessagingTracer) {
    this.#tracer = tracer
  }

  /** Process spans for a batch received by a ReceiveMessage started at `startedAt` (epoch ms). */
  received(queueUrl: string, messages: readonly Message[], startedAt: number): void {
    const destination = this.#tracer.destination(queueUrl)
    const receive = this.#tracer.received(destination, messages.length, startedAt)
    for (const message of messages) {
      const producer = carriedContext(
        message.Attributes?.[AWS_TRACE_HEADER],
        message.MessageAttributes?.[TRACEPARENT]?.StringValue,
      )
      this.#spans.set(message, this.#tracer.process(destination, message.MessageId, producer, receive))
    }
  }

  /** Runs `fn` with the message's process span active (the handler's own spans are its children). */
  inSpanOf<R>(message: Message, fn: () => R): R {
    const span = this.#spans.get(message)
    return span === undefined ? fn() : this.#tracer.inSpan(span, fn)
  }

  /** The message was settled; `error` (if any) sets the span's error status with its code. Ends the span. */
  settled(message: Message, how: Settlement | undefined, error?: unknown): void {
    const span = this.#spans.get(message)
    if (span === undefined) return
    this.#spans.delete(message)
    if (how !== undefined) this.#tracer.settled(span, how)
    if (error !== undefined) this.#tracer.failed(span, error)
    span.end()
  }

  /** Ends the spans of a batch's messages not settled yet, but those still running (detached). */
  finished(messages: readonly Message[], running: ReadonlySet<Message>): void {
    for (const message of messages) if (!running.has(message)) this.settled(message, undefined)
  }
}
