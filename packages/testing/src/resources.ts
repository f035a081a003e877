import { randomBytes } from 'node:crypto'
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DisableKeyCommand,
  KMSClient,
  ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms'
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  type QueueAttributeName,
  SQSClient,
} from '@aws-sdk/client-sqs'

/** Where a LocalStack answers; a started LocalStack fits. */
export interface LocalStackTarget {
  readonly endpoint: string
  readonly region: string
  readonly credentials: {
    readonly accessKeyId: string
    readonly secretAccessKey: string
    readonly sessionToken?: string
  }
}

/** An SQS client for this LocalStack. */
export function createSqsClient(target: LocalStackTarget): SQSClient {
  // a copy: the SDK annotates the credentials object it is given, which may be frozen
  return new SQSClient({ endpoint: target.endpoint, region: target.region, credentials: { ...target.credentials } })
}

/** A KMS client for this LocalStack. */
export function createKmsClient(target: LocalStackTarget): KMSClient {
  return new KMSClient({ endpoint: target.endpoint, region: target.region, credentials: { ...target.credentials } })
}

/** A name no other test has: `<prefix>-<time>-<random>`, within SQS's 80 characters. */
export function uniqueName(prefix = 'sqs-envelope-test'): string {
  const name = `${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`
  return name.slice(0, 75)
}

export interface TestQueueOptions {
  /** Name prefix; a unique suffix is added. @defaultValue `'sqs-envelope-test'` */
  readonly prefix?: string
  /** A FIFO queue (name ends in `.fifo`). @defaultValue false */
  readonly fifo?: boolean
  /** Add a dead-letter queue with this redrive `maxReceiveCount`; `true` means 5. @defaultValue no DLQ */
  readonly deadLetterQueue?: boolean | { readonly maxReceiveCount: number }
  /** @defaultValue 30 */
  readonly visibilityTimeoutSeconds?: number
  /** More queue attributes, as SQS names them. */
  readonly attributes?: Partial<Record<QueueAttributeName, string>>
}

export interface TestQueue {
  readonly queueUrl: string
  readonly queueArn: string
  readonly deadLetterQueue?: { readonly queueUrl: string; readonly queueArn: string }
  /** Deletes the queue and its DLQ. */
  delete(): Promise<void>
}

async function createQueue(sqs: SQSClient, name: string, attributes: Record<string, string>) {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }))
  if (!QueueUrl) throw new Error(`CreateQueue ${name} returned no QueueUrl`)
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }))
  const queueArn = Attributes?.QueueArn
  if (!queueArn) throw new Error(`queue ${name} has no QueueArn`)
  return { queueUrl: QueueUrl, queueArn }
}

/** Creates a uniquely named queue (and DLQ), so test files can run in parallel without sharing state. */
export async function createTestQueue(sqs: SQSClient, options: TestQueueOptions = {}): Promise<TestQueue> {
  const base = uniqueName(options.prefix)
  const suffix = options.fifo ? '.fifo' : ''
  const fifoAttributes: Record<string, string> = options.fifo ? { FifoQueue: 'true' } : {}
  let deadLetterQueue: TestQueue['deadLetterQueue']
  const attributes: Record<string, string> = {
    ...fifoAttributes,
    VisibilityTimeout: String(options.visibilityTimeoutSeconds ?? 30),
    ...options.attributes,
  }
  if (options.deadLetterQueue) {
    const maxReceiveCount = options.deadLetterQueue === true ? 5 : options.deadLetterQueue.maxReceiveCount
    deadLetterQueue = await createQueue(sqs, `${base}-dlq${suffix}`, fifoAttributes)
    attributes.RedrivePolicy = JSON.stringify({ deadLetterTargetArn: deadLetterQueue.queueArn, maxReceiveCount })
  }
  const queue = await createQueue(sqs, `${base}${suffix}`, attributes)
  return {
    ...queue,
    ...(deadLetterQueue ? { deadLetterQueue } : {}),
    async delete() {
      await sqs.send(new DeleteQueueCommand({ QueueUrl: queue.queueUrl }))
      if (deadLetterQueue) await sqs.send(new DeleteQueueCommand({ QueueUrl: deadLetterQueue.queueUrl }))
    },
  }
}

export interface TestKeyOptions {
  /** Also create `alias/<alias>-<unique>`. @defaultValue no alias */
  readonly aliasPrefix?: string
  /** @defaultValue `'sqs-envelope test key'` */
  readonly description?: string
}

export interface TestKey {
  readonly keyId: string
  readonly keyArn: string
  /** `alias/…`, when asked for. */
  readonly alias?: string
  /** Disables the key: later GenerateDataKey/Decrypt fail with DisabledException. */
  disable(): Promise<void>
  /** Schedules deletion (7 days, LocalStack's minimum too). */
  delete(): Promise<void>
}

/** Creates a fresh symmetric KMS key (SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT). */
export async function createTestKey(kms: KMSClient, options: TestKeyOptions = {}): Promise<TestKey> {
  const { KeyMetadata } = await kms.send(
    new CreateKeyCommand({
      Description: options.description ?? 'sqs-envelope test key',
      KeySpec: 'SYMMETRIC_DEFAULT',
      KeyUsage: 'ENCRYPT_DECRYPT',
    }),
  )
  if (!KeyMetadata?.KeyId || !KeyMetadata.Arn) throw new Error('CreateKey returned no key')
  const keyId = KeyMetadata.KeyId
  let alias: string | undefined
  if (options.aliasPrefix) {
    alias = `alias/${uniqueName(options.aliasPrefix)}`
    await kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: keyId }))
  }
  return {
    keyId,
    keyArn: KeyMetadata.Arn,
    ...(alias ? { alias } : {}),
    async disable() {
      await kms.send(new DisableKeyCommand({ KeyId: keyId }))
    },
    async delete() {
      await kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }))
    },
  }
}
