// Jobs the original Python recipe (boto3 + cryptography.fernet) sends, opened by the Lambda handler:
// no attributes (plain v1 text), one data key per message.
import { createSqsHandler } from '@sqs-envelope/lambda'
import { toLambdaSqsEvent } from '@sqs-envelope/testing'
import { describe, expect, it } from 'vitest'
import { receiveAll } from './consumer-support.ts'
import { recipePython, runRecipe } from './interop/python.ts'
import { localstackFixture } from './support.ts'

// The first run builds the recipe's virtualenv (boto3 + cryptography from PyPI).
const fixture = localstackFixture({ keys: 1, prepare: recipePython })
const { target, sqs, kms } = fixture

describe('createSqsHandler and the original Python recipe', () => {
  it('jobs the Python recipe sends are handled as text, each once, with one Decrypt per data key', async () => {
    const queue = await fixture.newQueue({ prefix: 'lambda-python' })
    const payloads = ['from python 1', 'from python ✓ 2']
    for (const p of payloads) {
      const args = ['send', '--endpoint', target.endpoint, '--region', target.region, '--queue-url', queue.queueUrl]
      await runRecipe([...args, '--key-id', fixture.key.keyId], Buffer.from(p))
    }
    const messages = await receiveAll(sqs, queue.queueUrl, payloads.length)
    const handled: Array<[string, string]> = []
    const handler = createSqsHandler<string>({
      sqs,
      kms,
      allowedKmsKeyArns: [fixture.key.keyArn],
      handleMessage: (job, ctx) => {
        handled.push([job, ctx.contentType])
      },
    })
    const event = toLambdaSqsEvent(messages, queue.queueArn)
    const response = await handler(event, { getRemainingTimeInMillis: () => 30_000 })
    expect(response.batchItemFailures).toEqual([])
    expect(handled.sort()).toEqual(payloads.map((p) => [p, 'text']).sort())
    expect(handler.metrics()).toMatchObject({ processed: 2, kmsDecryptCalls: 2 })
    await handler.close()
  })
})
