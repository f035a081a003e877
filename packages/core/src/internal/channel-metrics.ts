import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import type * as Otel from '@opentelemetry/api'
import { booleanOption, invalidOption } from './option-checks.ts'
import { loadOtelApi } from './tracing.ts'

/** What the producer, the consumer and the Lambda handler take to record metrics (structural: no type dependency on OTel). */
export interface MetricsOptions {
  /**
   * Counters and histograms through the OpenTelemetry meter, from this library's diagnostics
   * channels (so nothing is counted twice). `true` uses the global meter provider.
   * @defaultValue on when `meterProvider` is given; else off
   */
  readonly metrics?: boolean
  /** The meter provider to use. @defaultValue the global one (`metrics.getMeterProvider()`) with `metrics: true` */
  readonly meterProvider?: { getMeter(name: string, version?: string): unknown }
}

/** What one channel message carries (see each package's channel docs): counts and codes only. */
interface ChannelMessage {
  readonly queueUrl?: string
  readonly count?: number
  readonly code?: string
  // The producer's batch event.
  readonly succeeded?: number
  readonly failed?: number
  readonly sqsCode?: string
  readonly durationMs?: number
}

type Record = (message: ChannelMessage) => void

/** One subscription per meter provider, shared by every object that uses it: an event is counted once. */
const shared = new Map<object, { refs: number; stop: () => void }>()

const RUNNER_EVENTS: ReadonlyArray<readonly [event: string, instrument: string]> = [
  ['message_received', 'messages.received'],
  ['message_processed', 'messages.processed'],
  ['processing_error', 'messages.failed'],
  ['timeout_error', 'messages.failed'],
  ['message_quarantined', 'messages.quarantined'],
  ['transient_error', 'messages.transient'],
  ['breaker_opened', 'breaker.opened'],
]

/**
 * Subscribes `options`' meter to the diagnostics channels (process-wide, once per meter provider,
 * counted by reference); returns the release to call on close, or undefined when metrics are off.
 */
export function channelMetrics(options: MetricsOptions): (() => void) | undefined {
  const provider = options.meterProvider
  if (provider !== undefined && typeof (provider as { getMeter?: unknown }).getMeter !== 'function') {
    throw invalidOption('meterProvider', 'an OpenTelemetry MeterProvider (with getMeter)', provider)
  }
  const on = booleanOption('metrics', options.metrics, provider !== undefined)
  if (!on) return undefined
  const api = loadOtelApi()
  if (api === null) {
    throw invalidOption(
      'metrics',
      'off unless @opentelemetry/api is installed (it is not)',
      options.metrics ?? provider,
    )
  }
  const key = (provider ?? api.metrics.getMeterProvider()) as Otel.MeterProvider
  let entry = shared.get(key)
  if (entry === undefined) {
    entry = { refs: 0, stop: subscribeAll(key.getMeter('@sqs-envelope')) }
    shared.set(key, entry)
  }
  entry.refs++
  let released = false
  return () => {
    if (released) return
    released = true
    const current = shared.get(key)
    if (current === undefined || --current.refs > 0) return
    shared.delete(key)
    current.stop()
  }
}

function subscribeAll(meter: Otel.Meter): () => void {
  const subscriptions: Array<[string, (message: unknown) => void]> = []
  const on = (name: string, record: Record) => {
    const listener = (message: unknown) => record(message as ChannelMessage)
    subscribe(name, listener)
    subscriptions.push([name, listener])
  }
  on('sqs-envelope:producer:batch', producerBatch(meter))
  for (const area of ['consumer', 'lambda'] as const) {
    for (const [event, instrument] of RUNNER_EVENTS) {
      const counter = meter.createCounter(`sqs_envelope.${area}.${instrument}`, { unit: '{message}' })
      const fallbackCode = event === 'timeout_error' ? 'HANDLER_TIMEOUT' : undefined
      // breaker_opened carries its streak as its count: one opening is one.
      const once = event === 'breaker_opened'
      on(`sqs-envelope:${area}:${event}`, (m) =>
        counter.add(once ? 1 : (m.count ?? 1), attributes(m.queueUrl, m.code ?? fallbackCode)),
      )
    }
  }
  const batches = meter.createCounter('sqs_envelope.lambda.batches.received', { unit: '{batch}' })
  on('sqs-envelope:lambda:batch_received', (m) => batches.add(1, attributes(m.queueUrl, undefined)))
  return () => {
    for (const [name, listener] of subscriptions) unsubscribe(name, listener)
  }
}

function producerBatch(meter: Otel.Meter): Record {
  const sent = meter.createCounter('sqs_envelope.producer.messages.sent', { unit: '{message}' })
  const failed = meter.createCounter('sqs_envelope.producer.entries.failed', {
    unit: '{message}',
    description: 'Entries of a SendMessageBatch attempt that failed (a retried entry counts once per failed attempt)',
  })
  const duration = meter.createHistogram('sqs_envelope.producer.batch.duration', { unit: 'ms' })
  return (m) => {
    const queue = attributes(m.queueUrl, undefined)
    if (m.succeeded) sent.add(m.succeeded, queue)
    if (m.failed) failed.add(m.failed, attributes(m.queueUrl, m.sqsCode))
    if (typeof m.durationMs === 'number') duration.record(m.durationMs, queue)
  }
}

function attributes(queueUrl: string | undefined, code: string | undefined): Otel.Attributes {
  const name = queueUrl === undefined ? undefined : queueUrl.slice(queueUrl.lastIndexOf('/') + 1)
  return {
    'messaging.system': 'aws_sqs',
    ...(name === undefined ? {} : { 'messaging.destination.name': name }),
    ...(code === undefined ? {} : { 'error.type': code }),
  }
}
