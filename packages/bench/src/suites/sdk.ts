import { ok } from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import {
  errorTypeRegistries,
  type MessageAttributeValue,
  SendMessageBatchCommand,
  type SendMessageBatchCommandInput,
  SQSClient,
  type SQSClientConfig,
} from '@aws-sdk/client-sqs'
import { AwsJson1_0Protocol, JsonCodec } from '@aws-sdk/core/protocols'
import { EnvelopeSealer } from '@sqs-envelope/core'
import { fixedKeyKms } from '../fixed-key-kms.ts'
import type { BenchCase } from '../harness.ts'
import type { Suite } from '../suite.ts'
import { textOfSize } from './crypto-peers.ts'

/**
 * The SQS client's AWS JSON 1.0 protocol with the SDK's other public JSON codec (`JsonCodec`, which
 * builds the request object and calls JSON.stringify) instead of its default single-pass byte writer
 * (`JsonCodec2`). Settings as the generated client's defaults; only `jsonCodec` differs.
 */
export function stringifyProtocol(): AwsJson1_0Protocol {
  return new AwsJson1_0Protocol({
    defaultNamespace: 'com.amazonaws.sqs',
    errorTypeRegistries,
    serviceTarget: 'AmazonSQS',
    awsQueryCompatible: true,
    jsonCodec: new JsonCodec({ timestampFormat: { useTrait: true, default: 7 }, jsonName: false }),
  })
}

/**
 * An SQS client whose transport answers every SendMessageBatch at once with success (and the right
 * MD5s), so only the SDK's own work is measured: serialising, signing, the MD5 check of the response.
 */
function offlineClient(config: Partial<SQSClientConfig>, seen: { body?: Buffer }): SQSClient {
  return new SQSClient({
    region: 'us-east-1',
    endpoint: 'http://127.0.0.1:9',
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
    ...config,
    requestHandler: {
      handle: async (request: { body: string | Uint8Array }) => {
        // The default codec hands over bytes, JsonCodec a string: compared as bytes.
        const body = typeof request.body === 'string' ? Buffer.from(request.body) : Buffer.from(request.body)
        seen.body = body
        const input = JSON.parse(body.toString('utf8')) as SendMessageBatchCommandInput
        const response = JSON.stringify({
          Successful: (input.Entries ?? []).map((e) => ({
            Id: e.Id,
            MessageId: `m-${e.Id}`,
            MD5OfMessageBody: createHash('md5')
              .update(e.MessageBody ?? '')
              .digest('hex'),
          })),
          Failed: [],
        })
        return {
          response: {
            statusCode: 200,
            headers: { 'content-type': 'application/x-amz-json-1.0' },
            body: Readable.from([Buffer.from(response)]),
          },
        }
      },
    } as unknown as SQSClientConfig['requestHandler'],
  })
}

// No target in the issue: these rows ask whether the public alternative is cheaper; 0.9 = not measurably slower.
const NOT_SLOWER = 0.9

export const sdkSuite: Suite = {
  name: 'sdk',
  description:
    'The AWS SDK’s own client-side work for one SendMessageBatch of 10 sealed jobs (a transport that answers at ' +
    'once, no network): serialising the JSON body, SigV4 (SHA-256 of the body) and the MD5 check of the response. ' +
    'ours = the SQS client with `protocol: new AwsJson1_0Protocol({ …, jsonCodec: new JsonCodec(…) })` (public API ' +
    'of @aws-sdk/client-sqs and @aws-sdk/core: JSON.stringify instead of the default byte-by-byte JsonCodec2); ' +
    'baseline = the default client. A second row also turns off the MD5 check (`md5: false`), which the Fernet ' +
    'HMAC makes redundant for sealed bodies. The body sent is checked to be byte-identical.',
  async setup() {
    const kms = fixedKeyKms()
    const sealer = new EnvelopeSealer({ kmsKeyId: 'alias/bench', kms: kms.client })
    const clients: SQSClient[] = []
    const cases: BenchCase[] = []
    for (const bytes of [1024, 65_536]) {
      const sealed = await sealer.seal(textOfSize(bytes))
      const input: SendMessageBatchCommandInput = {
        QueueUrl: 'http://127.0.0.1:4566/000000000000/bench',
        Entries: Array.from({ length: 10 }, (_, i) => ({
          Id: String(i),
          MessageBody: sealed.body,
          MessageAttributes: sealed.messageAttributes as Record<string, MessageAttributeValue>,
        })),
      }
      const seenDefault: { body?: Buffer } = {}
      const seenOurs: { body?: Buffer } = {}
      const seenNoMd5: { body?: Buffer } = {}
      const byDefault = offlineClient({}, seenDefault)
      const stringify = offlineClient({ protocol: stringifyProtocol() }, seenOurs)
      const stringifyNoMd5 = offlineClient({ protocol: stringifyProtocol(), md5: false }, seenNoMd5)
      clients.push(byDefault, stringify, stringifyNoMd5)
      const check = async () => {
        await byDefault.send(new SendMessageBatchCommand(input))
        await stringify.send(new SendMessageBatchCommand(input))
        await stringifyNoMd5.send(new SendMessageBatchCommand(input))
        ok(seenDefault.body && seenOurs.body?.equals(seenDefault.body), 'JsonCodec must send the same bytes')
        ok(seenNoMd5.body?.equals(seenDefault.body), 'JsonCodec must send the same bytes')
      }
      cases.push(
        {
          group: 'SendMessageBatch ×10, SDK work',
          bytes,
          baselineName: 'default SQS client (JsonCodec2)',
          target: NOT_SLOWER,
          ours: () => stringify.send(new SendMessageBatchCommand(input)),
          baseline: () => byDefault.send(new SendMessageBatchCommand(input)),
          check,
        },
        {
          group: 'SendMessageBatch ×10, SDK work, md5: false',
          bytes,
          baselineName: 'default SQS client (JsonCodec2)',
          target: NOT_SLOWER,
          ours: () => stringifyNoMd5.send(new SendMessageBatchCommand(input)),
          baseline: () => byDefault.send(new SendMessageBatchCommand(input)),
          check,
        },
      )
    }
    return {
      cases,
      teardown: () => {
        sealer.close()
        for (const client of clients) client.destroy()
      },
    }
  },
}
