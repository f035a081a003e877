// `receive` against hostile payloads and attributes (issue 23 items 4 and 12), through the real bin.
import type { MessageAttributeValue } from '@aws-sdk/client-sqs'
import { EnvelopeSealer } from '@sqs-envelope/core'
import { describe, expect, it } from 'vitest'
import { runCli } from './cli-support.ts'
import { queueDepth, receiveAll, sendRaw } from './consumer-support.ts'
import { localstackFixture } from './support.ts'

const { target, sqs, kms, newKey, newQueue } = localstackFixture()
/** An attribute name that an object literal or a plain assignment would take as the prototype. */
const PROTO = '__proto__'

/** Seals `payload` and sends it with the envelope's attributes plus `extra`. */
async function sendSealed(
  queueUrl: string,
  keyId: string,
  payload: unknown,
  contentType: 'text' | 'json',
  extra: Record<string, MessageAttributeValue> = {},
) {
  const sealer = new EnvelopeSealer({ kms, kmsKeyId: keyId, contentType })
  try {
    const sealed = await sealer.seal(payload as never)
    // No prototype: `__proto__` is then an attribute like any other, as a sender in another language sends it.
    const attributes: Record<string, MessageAttributeValue> = Object.assign(
      Object.create(null),
      sealed.messageAttributes,
    )
    for (const name of Object.keys(extra)) attributes[name] = extra[name] as MessageAttributeValue
    await sendRaw(sqs, queueUrl, [{ body: sealed.body, messageAttributes: attributes }])
  } finally {
    sealer.close()
  }
}

describe('sqs-envelope receive: hostile input', () => {
  it('an attribute named __proto__ (SQS stores it; the SDK gives it without a value) neither fails receive --json nor leaves the message stuck', async () => {
    const key = await newKey()
    const queue = await newQueue({ prefix: 'cli-proto-attr' })
    const extra: Record<string, MessageAttributeValue> = Object.create(null)
    extra[PROTO] = { DataType: 'String', StringValue: 'polluted' }
    extra.tenant = { DataType: 'String', StringValue: 't1' }
    await sendSealed(queue.queueUrl, key.keyId, 'job with odd attributes', 'text', extra)

    const received = await runCli(target, ['receive', '--queue-url', queue.queueUrl, '--json', '--wait-seconds', '1'])
    expect(received.stderr).toBe('')
    expect(received.code).toBe(0)
    const record = JSON.parse(received.stdout) as { body: string; attributes: Record<string, unknown> }
    expect(record.body).toBe('job with odd attributes')
    expect(Object.getOwnPropertyNames(record.attributes).sort()).toEqual(['__proto__', 'tenant'])
    expect(record.attributes.tenant).toBe('t1')
    // Printed, so deleted: it does not come back to fail every later receive.
    expect(await queueDepth(sqs, queue.queueUrl)).toBe(0)
  }, 60_000)

  it('a poison message with an attribute named __proto__ is still moved intact to the DLQ, not left stuck; exit 3', async () => {
    const queue = await newQueue({ prefix: 'cli-proto-poison', deadLetterQueue: true })
    const attributes: Record<string, MessageAttributeValue> = Object.create(null)
    attributes[PROTO] = { DataType: 'String', StringValue: 'polluted' }
    attributes.origin = { DataType: 'String', StringValue: 'legacy' }
    await sendRaw(sqs, queue.queueUrl, [{ body: 'not an envelope', messageAttributes: attributes }])

    const received = await runCli(target, ['receive', '--queue-url', queue.queueUrl, '--json', '--wait-seconds', '1'])
    expect(received.code).toBe(3)
    expect(received.stdout).toBe('')
    expect(received.stderr).toMatch(/^message [0-9a-f-]{36}: BODY_NOT_JSON: moved intact to .*-dlq\n$/)
    const [moved] = await receiveAll(sqs, queue.deadLetterQueue?.queueUrl as string, 1)
    expect(moved?.Body).toBe('not an envelope')
    expect(moved?.MessageAttributes?.origin?.StringValue).toBe('legacy')
    expect(await queueDepth(sqs, queue.queueUrl)).toBe(0)
  }, 60_000)

  it('plain mode escapes newline, CR, tab, ESC, DEL, C1 and backslash in text payloads: one line per message, nothing for the terminal', async () => {
    const key = await newKey()
    const queue = await newQueue({ prefix: 'cli-escape' })
    const text = 'line one\nforged line\r\u001b[31mred\u001b[0m\ttab\u007f\u009b2J back\\slash é'
    await sendSealed(queue.queueUrl, key.keyId, text, 'text')

    const plain = await runCli(target, ['receive', '--queue-url', queue.queueUrl, '--keep', '--wait-seconds', '1'])
    expect(plain.code).toBe(0)
    expect(plain.stdout).toBe(
      'line one\\nforged line\\r\\u001b[31mred\\u001b[0m\\ttab\\u007f\\u009b2J back\\\\slash é\n',
    )
    // JSON mode is unchanged: the exact payload, escaped by JSON itself.
    const json = await runCli(target, ['receive', '--queue-url', queue.queueUrl, '--json', '--wait-seconds', '1'])
    expect(json.code).toBe(0)
    expect((JSON.parse(json.stdout) as { body: string }).body).toBe(text)
  }, 60_000)

  it('plain mode prints a JSON payload as one line of valid JSON with DEL and C1 escaped, the same value', async () => {
    const key = await newKey()
    const queue = await newQueue({ prefix: 'cli-escape-json' })
    const value = { note: 'a\nb\u001b[2J\u009bc', n: 1 }
    await sendSealed(queue.queueUrl, key.keyId, value, 'json')

    const plain = await runCli(target, ['receive', '--queue-url', queue.queueUrl, '--wait-seconds', '1'])
    expect(plain.code).toBe(0)
    expect(plain.stdout).toBe('{"note":"a\\nb\\u001b[2J\\u009bc","n":1}\n')
    expect(JSON.parse(plain.stdout)).toEqual(value)
  }, 60_000)

  it('--keep --visibility-timeout 0 --max 5 prints each message once, and leaves them all in the queue', async () => {
    const key = await newKey()
    const queue = await newQueue({ prefix: 'cli-dedupe-keep' })
    await sendSealed(queue.queueUrl, key.keyId, 'only one', 'text')
    await sendSealed(queue.queueUrl, key.keyId, 'and two', 'text')

    const received = await runCli(target, [
      'receive',
      '--queue-url',
      queue.queueUrl,
      '--keep',
      '--visibility-timeout',
      '0',
      '--max',
      '5',
      '--wait-seconds',
      '1',
    ])
    expect(received.stderr).toBe('')
    expect(received.code).toBe(0)
    expect(received.stdout.split('\n').filter(Boolean).sort()).toEqual(['and two', 'only one'])
    expect(await receiveAll(sqs, queue.queueUrl, 2)).toHaveLength(2)
  }, 60_000)

  it('--visibility-timeout 0 --max 5 without --keep prints each message once and deletes it', async () => {
    const key = await newKey()
    const queue = await newQueue({ prefix: 'cli-dedupe-delete' })
    await sendSealed(queue.queueUrl, key.keyId, 'once', 'text')

    const received = await runCli(target, [
      'receive',
      '--queue-url',
      queue.queueUrl,
      '--visibility-timeout',
      '0',
      '--max',
      '5',
      '--wait-seconds',
      '1',
    ])
    expect(received.stderr).toBe('')
    expect(received.code).toBe(0)
    expect(received.stdout).toBe('once\n')
    expect(await queueDepth(sqs, queue.queueUrl)).toBe(0)
  }, 60_000)

  it('--context __proto__=x is a usage error (exit 2) that names the key; nothing is received', async () => {
    const queue = await newQueue({ prefix: 'cli-proto-context' })
    const received = await runCli(target, ['receive', '--queue-url', queue.queueUrl, '--context', '__proto__=x'])
    expect(received.code).toBe(2)
    expect(received.stderr).toMatch(/OPTION_INVALID: .*"__proto__"/)
  }, 60_000)
})
