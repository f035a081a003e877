// Smoke check of the local stack: LocalStack is healthy, the demo resources
// from localstack/init/ready.d exist, and one job makes the whole trip:
// sealed with a KMS data key, sent through SQS, received, opened.
import { randomUUID } from 'node:crypto'
import { DescribeKeyCommand, KMSClient } from '@aws-sdk/client-kms'
import {
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs'
import { EnvelopeOpener, EnvelopeSealer } from '@sqs-envelope/core'
import { waitReady } from '@sqs-envelope/testing/readiness'

const endpoint = process.env.LOCALSTACK_ENDPOINT ?? 'http://127.0.0.1:4566'
const region = process.env.AWS_REGION ?? 'us-east-1'
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' }
const QUEUE = 'sqs-envelope-demo'
const ALIAS = 'alias/sqs-envelope-demo'

const sqs = new SQSClient({ endpoint, region, credentials })
const kms = new KMSClient({ endpoint, region, credentials })

function verified(what: string): void {
  console.log(`  ✓ ${what}`)
}

async function main(): Promise<void> {
  console.log(`smoke check against ${endpoint}`)
  // The same readiness probe the launcher and the testkit use: healthy, and the init hooks that
  // create the demo queue and key have completed.
  const ready = await waitReady(endpoint, { timeoutMs: 30_000, requireInit: true })
  if (!ready.ok) throw new Error(`LocalStack is not ready: ${ready.reason}`)
  if (ready.kind !== 'localstack') throw new Error(`${endpoint} is not LocalStack (the demo needs its init hooks)`)
  const { version, services } = ready.health
  verified(`LocalStack ${version} is healthy (sqs: ${services?.sqs}, kms: ${services?.kms}), init hooks completed`)

  const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: QUEUE }))
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['RedrivePolicy'] }))
  const redrive = JSON.parse(Attributes?.RedrivePolicy ?? '{}') as {
    deadLetterTargetArn?: string
    maxReceiveCount?: number
  }
  if (!redrive.deadLetterTargetArn?.endsWith(':sqs-envelope-demo-dlq')) throw new Error(`${QUEUE} has no DLQ redrive`)
  verified(
    `queue ${QUEUE} exists at ${QueueUrl}, redriving to sqs-envelope-demo-dlq after ${redrive.maxReceiveCount} receives`,
  )

  const { KeyMetadata } = await kms.send(new DescribeKeyCommand({ KeyId: ALIAS }))
  if (!KeyMetadata?.Arn || KeyMetadata.KeyState !== 'Enabled') throw new Error(`${ALIAS} is not an enabled key`)
  verified(`KMS key ${ALIAS} → ${KeyMetadata.Arn} is enabled`)

  const job = { jobId: randomUUID(), kind: 'smoke-check', at: new Date().toISOString() }
  const sealer = new EnvelopeSealer({ kms, kmsKeyId: ALIAS, contentType: 'json' })
  const sealed = await sealer.seal(job)
  if (sealed.body.includes(job.jobId)) throw new Error('the sealed body contains the plaintext')
  await sqs.send(
    new SendMessageCommand({ QueueUrl, MessageBody: sealed.body, MessageAttributes: sealed.messageAttributes }),
  )
  verified(`sealed job ${job.jobId} (${sealed.body.length} bytes, no plaintext in the body) and sent it`)

  const opener = new EnvelopeOpener({ kms, allowedKmsKeyArns: [KeyMetadata.Arn] })
  for (let attempt = 0; attempt < 10; attempt++) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 2,
        MessageAttributeNames: ['All'],
      }),
    )
    for (const message of Messages) {
      const opened = await opener.open<typeof job>(message).catch(() => undefined)
      if (opened?.value.jobId !== job.jobId) continue
      if (JSON.stringify(opened.value) !== JSON.stringify(job))
        throw new Error('the opened job differs from the sent one')
      await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: message.ReceiptHandle }))
      verified(`received, verified and opened it under ${opened.kmsKeyArn}; the job matches; deleted it`)
      const s = sealer.metrics()
      const o = opener.metrics()
      verified(`KMS calls: ${s.generateDataKeyCalls} GenerateDataKey, ${o.decryptCalls} Decrypt`)
      sealer.close()
      opener.close()
      console.log('smoke check passed')
      return
    }
  }
  throw new Error(`job ${job.jobId} did not come back from ${QUEUE}`)
}

try {
  await main()
} catch (error) {
  console.error(`smoke check failed: ${error instanceof Error ? error.message : String(error)}`)
  process.exitCode = 1
} finally {
  sqs.destroy()
  kms.destroy()
}
