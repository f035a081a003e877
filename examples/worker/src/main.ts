// A worker that consumes encrypted orders. Each job is verified and decrypted before the handler sees
// it; a handler that throws leaves its job for redelivery; SIGTERM (or Ctrl-C) stops receiving at
// once and lets the jobs in flight finish before the process exits.
//
//   QUEUE_URL=… [FIFO_QUEUE_URL=…] [KMS_KEY_ARN=arn:aws:kms:…] node src/main.ts
//
// AWS settings come from the SDK's usual environment (AWS_REGION, AWS_ENDPOINT_URL for LocalStack,
// credentials). Prints one JSON line per order handled: {"queue","orderId","messageId","receiveCount"}.
import { EnvelopeConsumer } from '@sqs-envelope/consumer'

interface Order {
  readonly orderId: string
  readonly customer: string
  readonly sku: string
  readonly quantity: number
}

const queueUrl = process.env.QUEUE_URL
if (!queueUrl) throw new Error('set QUEUE_URL')
const fifoQueueUrl = process.env.FIFO_QUEUE_URL
const allowedKey = process.env.KMS_KEY_ARN

// Jobs from the TypeScript producer arrive parsed (content type json); the original Python recipe
// sends no attributes, so its jobs arrive as text.
const consumer = new EnvelopeConsumer<Order | string>({
  queueUrl: fifoQueueUrl ? [queueUrl, fifoQueueUrl] : queueUrl,
  // Only data keys of this KMS key are accepted (recommended: pin the key you expect).
  ...(allowedKey ? { allowedKmsKeyArns: [allowedKey] } : {}),
  pollers: 2,
  handlerTimeoutMs: 10_000,
  drainTimeoutMs: 10_000,
  handleMessage: async (job, { messageId, queueUrl: from, receiveCount }) => {
    const order = typeof job === 'string' ? (JSON.parse(job) as Order) : job
    await new Promise((resolve) => setTimeout(resolve, 10)) // the work: ship the order
    console.log(
      JSON.stringify({
        queue: from === fifoQueueUrl ? 'fifo' : 'standard',
        orderId: order.orderId,
        messageId,
        receiveCount,
      }),
    )
  },
})
consumer.on('message_quarantined', (e) => console.error(`poison message ${e.messageId} quarantined: ${e.code}`))
consumer.on('processing_error', (error, e) =>
  console.error(`order ${e.messageId} failed, will be retried: ${error.message}`),
)
consumer.on('error', (error) => console.error(`worker error: ${error.message}`))

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, async () => {
    console.error(`${signal}: stopping`)
    await consumer.stop() // the long poll is aborted; jobs in flight finish (up to drainTimeoutMs)
    console.error('stopped')
  })
}
consumer.start()
console.error(`worker started on ${fifoQueueUrl ? `${queueUrl} and ${fifoQueueUrl}` : queueUrl}`)
