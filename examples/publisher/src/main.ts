// A service that publishes encrypted orders. Each order is sealed with a KMS data key (one data key
// seals many orders) and sent in SendMessageBatch requests; the result of every order is checked.
//
//   QUEUE_URL=… KMS_KEY_ID=alias/orders [FIFO_QUEUE_URL=…] [ORDERS=10] node src/main.ts
//
// AWS settings come from the SDK's usual environment (AWS_REGION, AWS_ENDPOINT_URL for LocalStack,
// credentials). Prints one JSON line per order sent: {"queue","orderId","messageId"}.
import { Producer } from '@sqs-envelope/producer'

interface Order {
  readonly orderId: string
  readonly customer: string
  readonly sku: string
  readonly quantity: number
}

function required(name: string): string {
  const value = process.env[name]
  if (!value) throw new Error(`set ${name}`)
  return value
}

const kmsKeyId = required('KMS_KEY_ID')
const count = Number(process.env.ORDERS ?? 10)
const orders: Order[] = Array.from({ length: count }, (_, i) => ({
  orderId: `order-${i + 1}`,
  customer: `customer-${(i % 3) + 1}`,
  sku: `sku-${(i * 7) % 13}`,
  quantity: 1 + (i % 4),
}))

/** Sends the orders; returns how many failed. */
async function publish(
  queue: 'standard' | 'fifo',
  producer: Producer<'json'>,
  jobs: Parameters<Producer<'json'>['send']>[0],
) {
  let failed = 0
  for (const result of await producer.send(jobs)) {
    const order = orders[result.index] as Order
    if (result.ok) console.log(JSON.stringify({ queue, orderId: order.orderId, messageId: result.messageId }))
    else {
      failed++
      // The code says what went wrong; `retryable` whether sending again may help.
      console.error(`${order.orderId} not sent: ${result.error.code} (retryable: ${result.error.retryable})`)
    }
  }
  return failed
}

let failed = 0
{
  // A standard queue. The encryption context is bound to the data key: KMS checks it on Decrypt.
  await using producer = Producer.create<'json'>({
    queueUrl: required('QUEUE_URL'),
    kmsKeyId,
    contentType: 'json',
    encryptionContext: { app: 'orders-example' },
  })
  failed += await publish('standard', producer, orders)
}

const fifoQueueUrl = process.env.FIFO_QUEUE_URL
if (fifoQueueUrl) {
  // A FIFO queue: orders of one customer in order (one message group each), deduplicated by order id.
  await using producer = Producer.create<'json'>({ queueUrl: fifoQueueUrl, kmsKeyId, contentType: 'json' })
  failed += await publish(
    'fifo',
    producer,
    orders.map((order) => ({ body: order, groupId: order.customer, deduplicationId: order.orderId })),
  )
}
process.exitCode = failed === 0 ? 0 : 1
