import { spawnSync } from 'node:child_process'
import { trace } from '@opentelemetry/api'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { afterEach, describe, expect, it } from 'vitest'
import { SqsEnvelopeError } from '../errors.ts'
import { carriedContext, errorType, messagingTracer } from './tracing.ts'

function provider() {
  const exporter = new InMemorySpanExporter()
  return { exporter, provider: new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }) }
}

describe('messagingTracer', () => {
  afterEach(() => trace.disable())

  it('off (undefined) by default while no global tracer provider is registered, or with tracing: false', () => {
    expect(messagingTracer('t', '1', {})).toBeUndefined()
    expect(messagingTracer('t', '1', { tracing: false, tracerProvider: provider().provider })).toBeUndefined()
  })

  it('on with a tracerProvider, or with the global one once an SDK registered it', () => {
    expect(messagingTracer('t', '1', { tracerProvider: provider().provider })).toBeDefined()
    expect(messagingTracer('t', '1', { tracing: true })).toBeDefined()
    trace.setGlobalTracerProvider(provider().provider)
    expect(messagingTracer('t', '1', {})).toBeDefined()
  })

  it('refuses a tracerProvider without getTracer and a tracing that is not a boolean, naming the option', () => {
    expect(() => messagingTracer('t', '1', { tracerProvider: {} as never })).toThrow(/tracerProvider/)
    expect(() => messagingTracer('t', '1', { tracing: 'yes' as never })).toThrow(/tracing/)
  })

  it('a process span is a child of the carried context, linked to its receive; the error status holds the code only', () => {
    const { exporter, provider: p } = provider()
    const tracer = messagingTracer('t', '1', { tracerProvider: p })
    if (!tracer) throw new Error('tracer expected')
    const queue = tracer.destination('http://sqs.eu-west-1.localhost:4566/000000000000/orders')
    const receive = tracer.received(queue, 1, Date.now() - 5)
    const producer = carriedContext(
      'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1',
      undefined,
    )
    const span = tracer.process(queue, 'm-1', producer, receive)
    tracer.settled(span, 'visibility')
    tracer.failed(span, new SqsEnvelopeError('TOKEN_MAC', 'secret-looking message text'))
    span.end()
    const [recv, proc] = exporter.getFinishedSpans()
    expect(recv?.name).toBe('receive orders')
    expect(proc?.name).toBe('process orders')
    expect(proc?.spanContext().traceId).toBe('5759e988bd862e3fe1be46a994272793')
    expect(proc?.parentSpanContext?.spanId).toBe('53995c3f42cd8ad8')
    expect(proc?.links[0]?.context.spanId).toBe(recv?.spanContext().spanId)
    expect(proc?.attributes).toMatchObject({
      'messaging.system': 'aws_sqs',
      'messaging.operation.type': 'process',
      'messaging.destination.name': 'orders',
      'messaging.message.id': 'm-1',
      'error.type': 'TOKEN_MAC',
    })
    expect(proc?.status).toEqual({ code: 2, message: 'TOKEN_MAC' })
    expect(proc?.events.map((e) => e.attributes?.['sqs_envelope.settlement'])).toEqual(['visibility'])
    expect(JSON.stringify(proc?.attributes)).not.toContain('secret-looking')
  })

  it('traceparent wins over AWSTraceHeader when a job carries both; errorType of foreign errors is their name', () => {
    const w3c = carriedContext(
      'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1',
      '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    )
    expect(w3c?.traceId).toBe('0af7651916cd43dd8448eb211c80319c')
    expect(errorType(new TypeError('x'))).toBe('TypeError')
    expect(errorType('a string')).toBe('Error')
  })
})

describe('without @opentelemetry/api installed', () => {
  it('loads, traces nothing, and refuses tracing: true naming the option (a child process whose resolver hides the API)', () => {
    const script = `
      import { registerHooks } from 'node:module'
      registerHooks({
        resolve(specifier, context, next) {
          if (specifier.startsWith('@opentelemetry/api')) throw Object.assign(new Error('not found'), { code: 'MODULE_NOT_FOUND' })
          return next(specifier, context)
        },
      })
      const { messagingTracer, loadOtelApi } = await import(${JSON.stringify(new URL('./tracing.ts', import.meta.url).href)})
      const { channelMetrics } = await import(${JSON.stringify(new URL('./channel-metrics.ts', import.meta.url).href)})
      const out = { api: loadOtelApi(), off: messagingTracer('t', '1', {}), metrics: channelMetrics({}) }
      try { messagingTracer('t', '1', { tracing: true }) } catch (e) { out.error = e.code + ': ' + e.message }
      console.log(JSON.stringify(out))
    `
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 20_000,
    })
    expect(child.stderr).toBe('')
    expect(JSON.parse(child.stdout)).toEqual({
      api: null,
      error: 'OPTION_INVALID: tracing must be absent unless @opentelemetry/api is installed (it is not); received true',
    })
  })
})
