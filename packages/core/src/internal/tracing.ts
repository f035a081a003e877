import { createRequire } from 'node:module'
import type * as Otel from '@opentelemetry/api'
import { isSqsEnvelopeError } from '../errors.ts'
import { booleanOption, invalidOption } from './option-checks.ts'
import { fromTraceparent, fromXrayHeader, type TraceIds, toTraceparent, toXrayHeader } from './trace-header.ts'

/** What the producer, the consumer and the Lambda handler take to trace (structural: no type dependency on OTel). */
export interface TracingOptions {
  /**
   * Spans by the OpenTelemetry messaging conventions, through `@opentelemetry/api` (an optional
   * peer dependency). `false` turns them off; `true` requires the API to be installed.
   * @defaultValue on when `tracerProvider` is given or a global tracer provider is registered when the object is built; else off
   */
  readonly tracing?: boolean
  /** The tracer provider to use. @defaultValue the global one (`trace.getTracerProvider()`) */
  readonly tracerProvider?: { getTracer(name: string, version?: string): unknown }
}

/** The system attribute an SQS message carries its X-Ray trace header in. */
export const AWS_TRACE_HEADER = 'AWSTraceHeader'
export const TRACEPARENT = 'traceparent'
export const TRACESTATE = 'tracestate'

type Api = typeof Otel

let loaded: Api | null | undefined

/** `@opentelemetry/api`, loaded once on first use; null when it is not installed. */
export function loadOtelApi(): Api | null {
  if (loaded === undefined) {
    try {
      loaded = createRequire(import.meta.url)('@opentelemetry/api') as Api
    } catch {
      loaded = null
    }
  }
  return loaded
}

/**
 * The tracer of `options`, or undefined when tracing is off: callers keep it in a field and test
 * it once per message, so that tracing off costs one check and no allocation.
 */
export function messagingTracer(
  instrumentation: string,
  version: string,
  options: TracingOptions,
): MessagingTracer | undefined {
  booleanOption('tracing', options.tracing, false)
  const provider = options.tracerProvider
  if (provider !== undefined && typeof (provider as { getTracer?: unknown }).getTracer !== 'function') {
    throw invalidOption('tracerProvider', 'an OpenTelemetry TracerProvider (with getTracer)', provider)
  }
  if (options.tracing === false) return undefined
  const api = loadOtelApi()
  if (api === null) {
    if (options.tracing === true || provider !== undefined) {
      const name = provider === undefined ? 'tracing' : 'tracerProvider'
      const value = provider === undefined ? options.tracing : provider
      throw invalidOption(name, 'absent unless @opentelemetry/api is installed (it is not)', value)
    }
    return undefined
  }
  if (provider === undefined && options.tracing === undefined && !globalProviderRegistered(api)) return undefined
  const tracer = ((provider as Otel.TracerProvider | undefined) ?? api.trace.getTracerProvider()).getTracer(
    instrumentation,
    version,
  )
  return new MessagingTracer(api, tracer)
}

/** Whether an SDK registered a global tracer provider (the API's proxy then delegates to something else than its no-op). */
function globalProviderRegistered(api: Api): boolean {
  const global = api.trace.getTracerProvider() as Partial<Otel.ProxyTracerProvider>
  if (typeof global.getDelegate !== 'function') return true
  return global.getDelegate() !== new api.ProxyTracerProvider().getDelegate()
}

/** One queue's span attributes, built once per queue. */
export interface Destination {
  readonly name: string
  readonly create: Otel.Attributes
  readonly send: Otel.Attributes
  readonly receive: Otel.Attributes
  readonly process: Otel.Attributes
}

/** How a job left the queue (or did not), recorded on its process span. */
export type Settlement = 'delete' | 'visibility' | 'quarantine' | 'batch_item_failure'

const SETTLE_EVENTS: Readonly<Record<Settlement, Otel.Attributes>> = {
  delete: settleEvent('delete'),
  visibility: settleEvent('visibility'),
  quarantine: settleEvent('quarantine'),
  batch_item_failure: settleEvent('batch_item_failure'),
}

function settleEvent(how: Settlement): Otel.Attributes {
  return Object.freeze({ 'messaging.operation.type': 'settle', 'sqs_envelope.settlement': how })
}

/** A span this package started (the OTel type, re-exported so siblings need no import of their own). */
export type TraceSpan = Otel.Span
export type TraceSpanContext = Otel.SpanContext

/**
 * Spans by the OpenTelemetry messaging semantic conventions for SQS (`messaging.system = aws_sqs`,
 * names `{operation} {queue}`). Attributes are names, URLs, ids and counts: never bodies,
 * plaintext, tokens or key bytes. Error statuses carry the stable code, not the error's message.
 */
export class MessagingTracer {
  readonly #api: Api
  readonly #tracer: Otel.Tracer
  readonly #destinations = new Map<string, Destination>()

  constructor(api: Api, tracer: Otel.Tracer) {
    this.#api = api
    this.#tracer = tracer
  }

  /** The attributes of one queue, by operation; built once per queue. */
  destination(queueUrl: string): Destination {
    let destination = this.#destinations.get(queueUrl)
    if (destination === undefined) {
      destination = this.#newDestination(queueUrl)
      this.#destinations.set(queueUrl, destination)
    }
    return destination
  }

  #newDestination(queueUrl: string): Destination {
    const name = queueUrl.slice(queueUrl.lastIndexOf('/') + 1)
    const base = {
      'messaging.system': 'aws_sqs',
      'messaging.destination.name': name,
      'aws.sqs.queue.url': queueUrl,
    }
    const op = (type: string, operation: string) =>
      Object.freeze({ ...base, 'messaging.operation.type': type, 'messaging.operation.name': operation })
    return {
      name,
      create: op('create', 'create'),
      send: op('send', 'SendMessageBatch'),
      receive: op('receive', 'ReceiveMessage'),
      process: op('process', 'process'),
    }
  }

  /** A create span (sealing one job), a child of the active context. */
  create(destination: Destination): TraceSpan {
    return this.#tracer.startSpan(`create ${destination.name}`, {
      kind: this.#api.SpanKind.PRODUCER,
      attributes: destination.create,
    })
  }

  /** Runs `fn` with `span` active, so that spans started within (KMS calls) are its children. */
  inSpan<R>(span: TraceSpan, fn: () => R): R {
    const api = this.#api
    return api.context.with(api.trace.setSpan(api.context.active(), span), fn)
  }

  /** One SendMessageBatch request, linked to the create spans of its jobs. */
  send(destination: Destination, jobs: readonly TraceSpanContext[]): TraceSpan {
    return this.#tracer
      .startSpan(`send ${destination.name}`, {
        kind: this.#api.SpanKind.CLIENT,
        attributes: destination.send,
        links: jobs.map(linkTo),
      })
      .setAttribute('messaging.batch.message_count', jobs.length)
  }

  /** A receive that returned `count` messages, started at `startTime` (epoch ms) and ended now; its context, to link. */
  received(destination: Destination, count: number, startTime: number): TraceSpanContext {
    const span = this.#tracer.startSpan(`receive ${destination.name}`, {
      kind: this.#api.SpanKind.CLIENT,
      attributes: destination.receive,
      startTime,
    })
    span.setAttribute('messaging.batch.message_count', count)
    span.end()
    return span.spanContext()
  }

  /**
   * A process span for one job: a child of the producer's context when the job carries one (the
   * conventions' choice for a job processed on its own), linked to the receive that delivered it.
   */
  process(
    destination: Destination,
    messageId: string | undefined,
    producer: TraceIds | undefined,
    receive: TraceSpanContext | undefined,
  ): TraceSpan {
    const api = this.#api
    const parent =
      producer === undefined ? api.ROOT_CONTEXT : api.trace.setSpanContext(api.ROOT_CONTEXT, remote(producer))
    const span = this.#tracer.startSpan(
      `process ${destination.name}`,
      {
        kind: api.SpanKind.CONSUMER,
        attributes: destination.process,
        ...(receive === undefined ? {} : { links: [linkTo(receive)] }),
      },
      parent,
    )
    if (messageId !== undefined) span.setAttribute('messaging.message.id', messageId)
    return span
  }

  /** Records how the job was settled (delete, visibility change, quarantine) on its process span. */
  settled(span: TraceSpan, how: Settlement): void {
    span.addEvent('settle', SETTLE_EVENTS[how])
  }

  /** Error status with the stable code (`error.type`); the error's message is not recorded (it may quote data). */
  failed(span: TraceSpan, error: unknown): void {
    this.failedWith(span, errorType(error))
  }

  /** Error status with this code. */
  failedWith(span: TraceSpan, code: string): void {
    span.setAttribute('error.type', code)
    span.setStatus({ code: this.#api.SpanStatusCode.ERROR, message: code })
  }

  /** The `AWSTraceHeader` value of a span (X-Ray format). */
  xrayHeader(span: TraceSpan): string | undefined {
    return toXrayHeader(idsOf(span.spanContext()))
  }

  /** The W3C `traceparent` and `tracestate` of a span. */
  w3c(span: TraceSpan): { traceparent: string | undefined; tracestate: string | undefined } {
    const context = span.spanContext()
    const state = context.traceState?.serialize()
    return { traceparent: toTraceparent(idsOf(context)), tracestate: state === '' ? undefined : state }
  }
}

/**
 * The producer's context a job carries: W3C `traceparent` when it has one (the user asked for it),
 * else the `AWSTraceHeader` system attribute.
 */
export function carriedContext(
  awsTraceHeader: string | undefined,
  traceparent: string | undefined,
): TraceIds | undefined {
  return fromTraceparent(traceparent) ?? fromXrayHeader(awsTraceHeader)
}

/** `error.type`: the stable code of our errors, the error's name otherwise. */
export function errorType(error: unknown): string {
  if (isSqsEnvelopeError(error)) return error.code
  const name = error instanceof Error ? error.name : undefined
  return typeof name === 'string' && name.length > 0 && name.length <= 64 ? name : 'Error'
}

function linkTo(context: TraceSpanContext): Otel.Link {
  return { context }
}

function idsOf(context: TraceSpanContext): TraceIds {
  return { traceId: context.traceId, spanId: context.spanId, sampled: (context.traceFlags & 1) === 1 }
}

function remote(ids: TraceIds): TraceSpanContext {
  return { traceId: ids.traceId, spanId: ids.spanId, traceFlags: ids.sampled ? 1 : 0, isRemote: true }
}
