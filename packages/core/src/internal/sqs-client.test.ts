import { Readable } from 'node:stream'
import { SendMessageCommand, SQSClient, type SQSClientConfig } from '@aws-sdk/client-sqs'
import { AwsJson1_0Protocol, JsonCodec } from '@aws-sdk/core/protocols'
import { describe, expect, it } from 'vitest'
import { createAwsClient } from './aws-client.ts'

const QUEUE_URL = 'http://127.0.0.1:9/000000000000/sqs-client-test'

/** A transport that records the request body and answers SendMessage with an MD5 that matches nothing. */
function answeringWithWrongMd5(seen: { body?: string }): SQSClientConfig['requestHandler'] {
  return {
    handle: async (request: { body: string | Uint8Array }) => {
      seen.body = Buffer.from(request.body).toString('utf8')
      const answer = JSON.stringify({ MessageId: 'm-1', MD5OfMessageBody: '0'.repeat(32) })
      return {
        response: {
          statusCode: 200,
          headers: { 'content-type': 'application/x-amz-json-1.0' },
          body: Readable.from([Buffer.from(answer)]),
        },
      }
    },
  } as unknown as SQSClientConfig['requestHandler']
}

function withTransport(client: SQSClient, seen: { body?: string }): SQSClient {
  client.config.requestHandler = answeringWithWrongMd5(seen) as typeof client.config.requestHandler
  client.config.credentials = async () => ({ accessKeyId: 'test', secretAccessKey: 'test' })
  return client
}

const options = { region: 'us-east-1', endpoint: 'http://127.0.0.1:9', requestTimeoutMs: 1000, maxAttempts: 1 }

describe('createAwsClient with sqs: true', () => {
  it('turns the MD5 checks off and uses the JSON codec that stringifies, with the client’s own protocol settings', () => {
    const sqs = createAwsClient(SQSClient, { ...options, sqs: true })
    expect(sqs.config.md5).toBe(false)
    expect(sqs.config.protocol).toBeInstanceOf(AwsJson1_0Protocol)
    // Private fields of the SDK's protocol, read here only to see which codec and settings it got.
    const protocol = sqs.config.protocol as unknown as { codec: unknown; serviceTarget: string }
    expect(protocol.codec).toBeInstanceOf(JsonCodec)
    expect(protocol.serviceTarget).toBe('AmazonSQS')
    sqs.destroy()
  })

  it('sends the same bytes as the default client, and does not check the MD5 of the answer', async () => {
    const ours = { body: undefined as string | undefined }
    const theirs = { body: undefined as string | undefined }
    const sqs = withTransport(createAwsClient(SQSClient, { ...options, sqs: true }), ours)
    const byDefault = withTransport(createAwsClient(SQSClient, options), theirs)
    const input = {
      QueueUrl: QUEUE_URL,
      MessageBody: 'gAAAA-body',
      MessageAttributes: { a: { DataType: 'String', StringValue: 'v' } },
    }
    expect((await sqs.send(new SendMessageCommand(input))).MessageId).toBe('m-1')
    // The default client keeps the check: the same answer fails it.
    await expect(byDefault.send(new SendMessageCommand(input))).rejects.toThrow(/InvalidChecksum/)
    expect(ours.body).toBeDefined()
    expect(ours.body).toBe(theirs.body)
    sqs.destroy()
    byDefault.destroy()
  })

  it('leaves the SDK’s defaults when sqs is absent', () => {
    const sqs = createAwsClient(SQSClient, options)
    expect(sqs.config.md5).not.toBe(false)
    expect((sqs.config.protocol as unknown as { codec: unknown }).codec).not.toBeInstanceOf(JsonCodec)
    sqs.destroy()
  })
})
