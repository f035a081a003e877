// Invokes the function locally the way its event source mapping would: receives up to 10 records
// from QUEUE_URL (every attribute; until a receive comes back empty), builds the SQS event Lambda
// would pass, calls the handler with a context of FUNCTION_TIMEOUT_MS (default 30000), then deletes
// the records its response does not name, as Lambda does. Prints {"batchItemFailures":[…],"deleted":n} as the last line.
//
//   QUEUE_URL=… QUEUE_ARN=… KMS_KEY_ARN=… node --conditions=@sqs-envelope/source src/invoke-local.ts
//
// AWS settings come from the SDK's environment (AWS_REGION, AWS_ENDPOINT_URL for LocalStack).
import { DeleteMessageBatchCommand, type Message, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs'
import { toLambdaSqsEvent } from '@sqs-envelope/testing'
import { handler } from './handler.ts'

const queueUrl = process.env.QUEUE_URL
const queueArn = process.env.QUEUE_ARN
if (!queueUrl || !queueArn) throw new Error('set QUEUE_URL and QUEUE_ARN')
const timeoutMs = Number(process.env.FUNCTION_TIMEOUT_MS ?? 30_000)

const sqs = new SQSClient({})
// As the event source mapping batches: receive until 10 records or a receive comes back empty.
const Messages: Message[] = []
while (Messages.length < 10) {
  const received = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: 10 - Messages.length,
      WaitTimeSeconds: 1,
      MessageAttributeNames: ['All'],
      MessageSystemAttributeNames: ['All'],
    }),
  )
  if (!received.Messages?.length) break
  Messages.push(...received.Messages)
}
const end = Date.now() + timeoutMs
const response = await handler(toLambdaSqsEvent(Messages, queueArn), {
  getRemainingTimeInMillis: () => end - Date.now(),
  awsRequestId: 'local',
})
const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier))
const done = Messages.filter((m) => !failed.has(m.MessageId as string))
if (done.length > 0) {
  await sqs.send(
    new DeleteMessageBatchCommand({
      QueueUrl: queueUrl,
      Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle as string })),
    }),
  )
}
console.log(JSON.stringify({ batchItemFailures: response.batchItemFailures, deleted: done.length }))
await handler.close()
sqs.destroy()
