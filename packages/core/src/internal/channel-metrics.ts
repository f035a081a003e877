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

/** What one channel message carries (see each package's channel docs): counts, codes and timings only. */
interface ChannelMessage {
  readonly queueUrl?: string
  readonly count?: number
  readonly code?: string
  // The producer's batch event.
  readonly succeeded?: number
  readonly failed?: number
  readonly sqsCode?: string
  readonly durationMs?: number
  // message_processed: the SQS SentTimestamp (epoch ms).
  readonly sentTimestamp?: number
  // handler_finished and the KMS request event.
  readonly outcome?: string
  readonly operation?: string
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
  const sealed = meter.createCounter('sqs_envelope.producer.jobs.sealed', { unit: '{message}' })
  on('sqs-envelope:producer:sealed', (m) => sealed.add(m.count ?? 1, attributes(m.queueUrl, undefined)))
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
    runnerTimings(meter, area, on)
  }
  const batches = meter.createCounter('sqs_envelope.lambda.batches.received', { unit: '{batch}' })
  on('sqs-envelope:lambda:batch_received', (m) => batches.add(1, attributes(m.queueUrl, undefined)))
  // In flight: up on receive, down when settled (handled and acknowledged, released or moved).
  const inFlight = meter.createUpDownCounter('sqs_envelope.consumer.messages.in_flight', { unit: '{message}' })
  on('sqs-envelope:consumer:message_received', (m) => inFlight.add(m.count ?? 1, attributes(m.queueUrl, undefined)))
  on('sqs-envelope:consumer:message_settled', (m) => inFlight.add(-(m.count ?? 1), attributes(m.queueUrl, undefined)))
  kmsInstruments(meter, on)
  return () => {
    for (const [name, listener] of subscriptions) unsubscribe(name, listener)
  }
}

/** Handler duration and end-to-end latency (SentTimestamp to processed) of the consumer or the Lambda handler. */
function runnerTimings(meter: Otel.Meter, area: 'consumer' | 'lambda', on: (name: string, record: Record) => void) {
  const handler = meter.createHistogram(`sqs_envelope.${area}.handler.duration`, {
    unit: 'ms',
    description: 'One handler call (one job, or one batch for handleMessageBatch)',
  })
  on(`sqs-envelope:${area}:handler_finished`, (m) => {
    if (typeof m.durationMs !== 'number') return
    handler.record(m.durationMs, { ...attributes(m.queueUrl, undefined), 'sqs_envelope.handler.outcome': m.outcome })
  })
  const latency = meter.createHistogram(`sqs_envelope.${area}.message.latency`, {
    unit: 'ms',
    description: 'From SQS SentTimestamp to the job processed (handled and, for the consumer, deleted)',
  })
  on(`sqs-envelope:${area}:message_processed`, (m) => {
    // Clocks differ between SQS and this host: a negative difference is recorded as 0.
    if (typeof m.sentTimestamp === 'number') {
      latency.record(Math.max(0, Date.now() - m.sentTimestamp), attributes(m.queueUrl, undefined))
    }
  })
}

/** KMS requests by operation and outcome, their duration, and the opener's unwrap-cache hits and misses. */
function kmsInstruments(meter: Otel.Meter, on: (name: string, record: Record) => void) {
  const requests = meter.createCounter('sqs_envelope.kms.requests', { unit: '{request}' })
  const duration = meter.createHistogram('sqs_envelope.kms.request.duration', { unit: 'ms' })
  on('sqs-envelope:kms:request', (m) => {
    const base = { 'rpc.system': 'aws-api', 'rpc.service': 'KMS', 'rpc.method': m.operation }
    requests.add(1, {
      ...base,
      'sqs_envelope.kms.outcome': m.outcome,
      ...(m.code === undefined ? {} : { 'error.type': m.code }),
    })
    if (typeof m.durationMs === 'number') duration.record(m.durationMs, base)
  })
  const cache = { 'sqs_envelope.cache': 'unwrap' }
  const hits = meter.createCounter('sqs_envelope.kms.unwrap_cache.hits', { unit: '{open}' })
  const misses = meter.createCounter('sqs_envelope.kms.unwrap_cache.misses', { unit: '{open}' })
  on('sqs-envelope:kms:cache_hit', () => hits.add(1, cache))
  on('sqs-envelope:kms:cache_miss', () => misses.add(1, cache))
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
