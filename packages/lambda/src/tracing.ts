import { carriedContext, type MessagingTracer, TRACEPARENT, type TraceSpan } from '@sqs-envelope/core/internal'
import type { SQSRecord } from './lambda-types.ts'

/** One queue's records of one invocation: their process spans, and which were quarantined. */
export interface BatchSpans {
  readonly spans: readonly TraceSpan[]
  readonly quarantined: Uint8Array
}

/**
 * The Lambda handler's spans: a process span per record, a child of the producer's context it
 * carries (`record.attributes.AWSTraceHeader`, or a `traceparent` message attribute). The event
 * source mapping received the records: there is no receive span here. Built only when tracing is on.
 */
export class LambdaTracing {
  readonly #tracer: MessagingTracer

  constructor(tracer: MessagingTracer) {
    this.#tracer = tracer
  }

  start(queueUrl: string, records: readonly SQSRecord[]): BatchSpans {
    const destination = this.#tracer.destination(queueUrl)
    const spans = records.map((record) => {
      const producer = carriedContext(
        record.attributes?.AWSTraceHeader,
        record.messageAttributes?.[TRACEPARENT]?.stringValue,
      )
      return this.#tracer.process(destination, record.messageId, producer, undefined)
    })
    return { spans, quarantined: new Uint8Array(records.length) }
  }

  /** Runs `fn` with record `i`'s span active. */
  inSpan<R>(batch: BatchSpans, i: number, fn: () => R): R {
    const span = batch.spans[i]
    return span === undefined ? fn() : this.#tracer.inSpan(span, fn)
  }

  failed(batch: BatchSpans, i: number, error: unknown): void {
    const span = batch.spans[i]
    if (span !== undefined) this.#tracer.failed(span, error)
  }

  /** Ends every span: a done record is deleted by Lambda (or was quarantined), the others are batch item failures. */
  end(batch: BatchSpans, done: (i: number) => boolean): void {
    for (let i = 0; i < batch.spans.length; i++) {
      const span = batch.spans[i] as TraceSpan
      const how = !done(i) ? 'batch_item_failure' : batch.quarantined[i] === 1 ? 'quarantine' : 'delete'
      this.#tracer.settled(span, how)
      span.end()
    }
  }
}
