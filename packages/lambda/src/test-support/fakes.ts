// Small fakes for the unit tests of logic: an SQS client answering by command, a KMS client that
// makes and unwraps data keys, a stub opener reading a record's fate from its body, and records
// shaped as Lambda delivers them. Integration tests use LocalStack instead.
import { randomBytes } from 'node:crypto'
import { DecryptCommand, GenerateDataKeyCommand, type KMSClient } from '@aws-sdk/client-kms'
import {
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  SendMessageCommand,
  type SendMessageCommandInput,
  type SQSClient,
} from '@aws-sdk/client-sqs'
import {
  type EnvelopeMessage,
  type EnvelopeOpener,
  SqsEnvelopeError,
  type SqsEnvelopeErrorCode,
} from '@sqs-envelope/core'
import type { SQSMessageAttribute, SQSRecord } from '../lambda-types.ts'

export const KEY_ARN = 'arn:aws:kms:us-east-1:000000000000:key/11111111-2222-3333-4444-555555555555'
export const QUEUE_ARN = 'arn:aws:sqs:us-east-1:000000000000:jobs'
export const QUEUE_URL = 'http://127.0.0.1:4566/000000000000/jobs'
export const DLQ_URL = 'http://127.0.0.1:4566/000000000000/jobs-dlq'

export interface FakeSqs {
  readonly client: SQSClient
  readonly sent: SendMessageCommandInput[]
  readonly calls: Record<string, number>
  /** Errors thrown by the next calls of an operation, in order. */
  readonly failures: Record<string, unknown[]>
  /** The RedrivePolicy GetQueueAttributes answers; undefined: none. */
  redrivePolicy: string | undefined
}

export function fakeSqs(): FakeSqs {
  const fake: FakeSqs = {
    sent: [],
    calls: {},
    failures: {},
    redrivePolicy: JSON.stringify({ deadLetterTargetArn: `${QUEUE_ARN}-dlq`, maxReceiveCount: 3 }),
    client: {
      send: async (command: { constructor: { name: string }; input: unknown }) => {
        const name = command.constructor.name.replace(/Command$/, '')
        fake.calls[name] = (fake.calls[name] ?? 0) + 1
        await new Promise((resolve) => setTimeout(resolve, 1))
        const failure = fake.failures[name]?.shift()
        if (failure) throw failure
        if (command instanceof GetQueueUrlCommand) {
          return { QueueUrl: `http://127.0.0.1:4566/000000000000/${command.input.QueueName}` }
        }
        if (command instanceof GetQueueAttributesCommand) {
          return { Attributes: fake.redrivePolicy === undefined ? {} : { RedrivePolicy: fake.redrivePolicy } }
        }
        if (command instanceof SendMessageCommand) {
          fake.sent.push(command.input)
          return { MessageId: `copy-${fake.sent.length}` }
        }
        throw new Error(`fake SQS: unexpected ${name}`)
      },
      destroy() {},
    } as unknown as SQSClient,
  }
  return fake
}

/** A KMS that makes data keys and unwraps the ones it made, after `delayMs`. */
export function fakeKms(delayMs = 5): { client: KMSClient; calls: { decrypt: number } } {
  const keys = new Map<string, Buffer>()
  const calls = { decrypt: 0 }
  const client = {
    config: { maxAttempts: async () => 1 },
    send: async (command: unknown) => {
      await new Promise((resolve) => setTimeout(resolve, delayMs))
      if (command instanceof GenerateDataKeyCommand) {
        const plaintext = randomBytes(32)
        const blob = randomBytes(48)
        keys.set(blob.toString('hex'), Buffer.from(plaintext))
        return { Plaintext: plaintext, CiphertextBlob: blob, KeyId: KEY_ARN }
      }
      if (command instanceof DecryptCommand) {
        calls.decrypt++
        const plaintext = keys.get(Buffer.from(command.input.CiphertextBlob as Uint8Array).toString('hex'))
        if (!plaintext) throw Object.assign(new Error('fake KMS: unknown blob'), { name: 'InvalidCiphertextException' })
        return { Plaintext: Buffer.from(plaintext), KeyId: KEY_ARN }
      }
      throw new Error('fake KMS: unexpected command')
    },
    destroy() {},
  }
  return { client: client as unknown as KMSClient, calls }
}

/**
 * An opener whose result a record's body decides: `ok:<value>` opens to `<value>`, `code:<CODE>`
 * fails with that SqsEnvelopeError code, `wait:<ms>:<value>` opens after ms (or ABORTED); anything
 * after a space is ignored (a data key field for the breaker: {@link withDataKey}).
 */
export function stubOpener(): EnvelopeOpener & { opened: string[] } {
  const opened: string[] = []
  const stub = {
    opened,
    open(message: EnvelopeMessage, options?: { signal?: AbortSignal }) {
      // Read now, as the real opener does: the view is pointed elsewhere after open() returns.
      const body = String(message.Body)
      // What follows a space is the rest of a body (e.g. its "encrypted_data_key"), for the breaker.
      const [kind = '', a = '', b = ''] = (body.split(' ')[0] as string).split(':')
      if (kind === 'code') return Promise.reject(new SqsEnvelopeError(a as SqsEnvelopeErrorCode, `stub ${a}`))
      const result = {
        value: kind === 'wait' ? b : a,
        contentType: 'text',
        kmsKeyArn: KEY_ARN,
        encryptionContext: undefined,
      }
      if (kind !== 'wait') {
        opened.push(body)
        return Promise.resolve(result)
      }
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          opened.push(body)
          resolve(result)
        }, Number(a))
        options?.signal?.addEventListener('abort', () => {
          clearTimeout(timer)
          reject(new SqsEnvelopeError('ABORTED', 'aborted while waiting'))
        })
      })
    },
    metrics: () => ({ decryptCalls: 0, cacheHits: 0, cacheMisses: 0 }),
    close() {},
  }
  return stub as unknown as EnvelopeOpener & { opened: string[] }
}

/** `body` with the `encrypted_data_key` field the breaker tells data keys apart by. */
export function withDataKey(body: string, dataKey: string): string {
  return `${body} {"encrypted_data_key": "${dataKey}"}`
}

/** A record as Lambda delivers it. */
export function record(
  id: string,
  body: string,
  options: {
    readonly arn?: string
    readonly group?: string
    readonly receiveCount?: number
    readonly messageAttributes?: Record<string, SQSMessageAttribute>
  } = {},
): SQSRecord {
  return {
    messageId: id,
    receiptHandle: `rh-${id}`,
    body,
    attributes: {
      ApproximateReceiveCount: String(options.receiveCount ?? 1),
      SentTimestamp: '1767225600000',
      ...(options.group === undefined ? {} : { MessageGroupId: options.group }),
    },
    messageAttributes: options.messageAttributes ?? {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: options.arn ?? QUEUE_ARN,
    awsRegion: 'us-east-1',
  }
}

/** A Lambda context with `remainingMs` left from now. */
export function lambdaContext(remainingMs = 60_000): { getRemainingTimeInMillis(): number } {
  const end = Date.now() + remainingMs
  return { getRemainingTimeInMillis: () => end - Date.now() }
}
