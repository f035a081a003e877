// One trace from a producer to a consumer's handler, exported over OTLP/HTTP: the producer's
// create and send spans, the consumer's receive and process spans, and the handler's own span,
// joined across the queue by the AWSTraceHeader system attribute (no message attribute spent).
//
//   QUEUE_URL=… KMS_KEY_ID=alias/… [OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://localhost:4318/v1/traces] node src/main.ts
//
// Run a collector or Jaeger (`docker run -p 16686:16686 -p 4318:4318 jaegertracing/jaeger`) to see the
// trace. AWS settings come from the SDK's usual environment (AWS_REGION, AWS_ENDPOINT_URL for LocalStack).
import { context, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http'
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { EnvelopeConsumer } from '@sqs-envelope/consumer'
import { Producer } from '@sqs-envelope/producer'

const queueUrl = process.env.QUEUE_URL
const kmsKeyId = process.env.KMS_KEY_ID
if (!queueUrl || !kmsKeyId) throw new Error('set QUEUE_URL and KMS_KEY_ID')

// Register the SDK before building the producer and the consumer: they take the global tracer
// provider when they are built (or pass `tracerProvider` to each). The context manager lets the
// active span follow awaits, so the handler's spans are children of its process span.
const provider = new BasicTracerProvider({
  spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
})
trace.setGlobalTracerProvider(provider)
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
const tracer = trace.getTracer('example-otel-tracing')

const producer = new Producer({ queueUrl, kmsKeyId, contentType: 'json' })
let handled = 0
const consumer = new EnvelopeConsumer<{ orderId: string }>({
  queueUrl,
  waitTimeSeconds: 1,
  handleMessage: (order) =>
    tracer.startActiveSpan('ship order', (span) => {
      span.setAttribute('order.id', order.orderId)
      handled++
      span.end()
    }),
})

await tracer.startActiveSpan('place orders', async (span) => {
  const results = await producer.send([{ orderId: 'o-1' }, { orderId: 'o-2' }, { orderId: 'o-3' }])
  console.log(`sent ${results.filter((r) => r.ok).length} orders in trace ${span.spanContext().traceId}`)
  span.end()
})
consumer.start()
while (handled < 3) await new Promise((resolve) => setTimeout(resolve, 100))
await consumer.close()
await producer.close()
await provider.shutdown() // flushes the batch of spans to the exporter
console.log('handled 3 orders; the trace is in your collector')
