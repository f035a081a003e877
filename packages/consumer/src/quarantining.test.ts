import { EventEmitter } from 'node:events'
import { type Message, ReceiveMessageCommand } from '@aws-sdk/client-sqs'
import { SqsEnvelopeError } from '@sqs-envelope/core'
import { describe, expect, it } from 'vitest'
import { Acknowledger } from './acknowledging.ts'
import type { ConsumerEvents } from './events.ts'
import type { PoisonJob } from './opening.ts'
import { Quarantiner } from './quarantining.ts'
import { ConsumerReporter } from './reporting.ts'
import { RunSignals } from './signals.ts'
import { fakeSqs } from './test-support/fake-sqs.ts'

const source = 'http://127.0.0.1:4566/000000000000/source'
const dlq = 'http://127.0.0.1:4566/000000000000/source-dlq'

async function setUp(quarantineQueueUrl?: string) {
  const sqs = fakeSqs()
  sqs.send(source, ['poison-1', 'poison-2'])
  const receive = new ReceiveMessageCommand({ QueueUrl: source, MaxNumberOfMessages: 10 })
  const { Messages = [] } = await sqs.client.send(receive)
  sqs.calls.length = 0
  const emitter = new EventEmitter<ConsumerEvents>()
  const quarantined: unknown[] = []
  const errors: Error[] = []
  emitter.on('message_quarantined', (event) => quarantined.push(event))
  emitter.on('error', (error) => errors.push(error))
  const reporter = new ConsumerReporter(emitter, undefined)
  const signals = new RunSignals(10_000, 1)
  const acknowledger = new Acknowledger(sqs.client, signals, reporter, () => {})
  const quarantiner = new Quarantiner(sqs.client, signals, reporter, acknowledger, quarantineQueueUrl)
  const poison = Messages.map(
    (message: Message): PoisonJob => ({ kind: 'poison', message, error: new SqsEnvelopeError('BODY_NOT_JSON', 'x') }),
  )
  return { sqs, quarantiner, poison, quarantined, errors, reporter }
}

describe('Quarantiner', () => {
  it('looks the DLQ up once per queue, copies each message there, then deletes the copied ones in one batch', async () => {
    const { sqs, quarantiner, poison, quarantined, reporter } = await setUp()
    sqs.deadLetterQueues.set(source, dlq)
    const target = { queueUrl: source }
    await quarantiner.quarantineAll(target, poison)
    expect(sqs.names()).toEqual([
      'GetQueueAttributesCommand',
      'GetQueueUrlCommand',
      'SendMessageCommand',
      'SendMessageCommand',
      'DeleteMessageBatchCommand',
    ])
    expect(sqs.sentTo(dlq)).toEqual(['poison-1', 'poison-2'])
    expect(quarantined).toEqual([
      expect.objectContaining({ messageId: 'm1', code: 'BODY_NOT_JSON', quarantineQueueUrl: dlq, moved: true }),
      expect.objectContaining({ messageId: 'm2', moved: true }),
    ])
    expect(reporter.counts.quarantined).toBe(2)
    expect(sqs.remaining(source)).toBe(0)
    await quarantiner.quarantineAll(target, [])
    expect(sqs.names().filter((n) => n === 'GetQueueAttributesCommand')).toHaveLength(1)
  })

  it('a failed copy is never deleted (QUARANTINE_FAILED); with nowhere to go, messages stay and are reported unmoved', async () => {
    const failing = await setUp('http://127.0.0.1:4566/000000000000/quarantine')
    failing.sqs.fail.set('SendMessageCommand', new Error('refused'))
    await failing.quarantiner.quarantineAll({ queueUrl: source }, failing.poison)
    expect(failing.sqs.names()).not.toContain('DeleteMessageBatchCommand')
    expect(failing.errors.map((e) => (e as SqsEnvelopeError).code)).toEqual(['QUARANTINE_FAILED', 'QUARANTINE_FAILED'])
    expect(failing.quarantined).toEqual([])

    const nowhere = await setUp()
    await nowhere.quarantiner.quarantineAll({ queueUrl: source }, nowhere.poison)
    expect(nowhere.sqs.names()).toEqual(['GetQueueAttributesCommand'])
    expect(nowhere.quarantined).toEqual([
      expect.objectContaining({ moved: false, quarantineQueueUrl: undefined }),
      expect.objectContaining({ moved: false }),
    ])
    expect(nowhere.sqs.remaining(source)).toBe(2)
  })
})
