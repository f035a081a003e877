// The Lambda function: encrypted orders from an SQS event source mapping (with
// FunctionResponseTypes: ReportBatchItemFailures, see template.yaml). Each record's job is opened
// before handleMessage sees it; the function answers with the records to deliver again.
//
// Environment: KMS_KEY_ARN (the only key whose data keys are accepted), optionally REQUIRED_APP
// (the `app` every job's encryption context must carry, as the example publisher sends it).
import { createSqsHandler } from '@sqs-envelope/lambda'

interface Order {
  readonly orderId: string
  readonly customer: string
  readonly sku: string
  readonly quantity: number
}

const kmsKeyArn = process.env.KMS_KEY_ARN
if (!kmsKeyArn) throw new Error('set KMS_KEY_ARN')
const requiredApp = process.env.REQUIRED_APP

// Module scope: built once per execution environment. Its opener (the unwrap cache: one KMS
// Decrypt per data key, not per message), its clients and its breaker serve every invocation.
export const handler = createSqsHandler<Order | string>({
  allowedKmsKeyArns: [kmsKeyArn],
  ...(requiredApp ? { requiredEncryptionContext: { app: requiredApp } } : {}),
  // Handlers get an aborted signal 2 s before the function's timeout; what has not finished then
  // is reported for redelivery instead of being lost with a timed-out invocation.
  timeoutMarginMs: 2000,
  handleMessage: async (job, { messageId, receiveCount, signal }) => {
    // The Python recipe sends no attributes: its jobs arrive as text.
    const order = typeof job === 'string' ? (JSON.parse(job) as Order) : job
    if (order.quantity <= 0) throw new Error(`order ${order.orderId} has no quantity`) // redelivered, then the DLQ
    await new Promise((resolve) => setTimeout(resolve, 5)) // the work: ship the order
    signal.throwIfAborted()
    console.log(JSON.stringify({ orderId: order.orderId, messageId, receiveCount }))
  },
  // Failures are logged with ids and codes only: never a payload.
  logger: console,
})
