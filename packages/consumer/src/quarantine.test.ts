import { describe, expect, it } from 'vitest'
import {
  ATTRIBUTE_QUARANTINE,
  ATTRIBUTE_QUARANTINE_CODE,
  ATTRIBUTE_QUARANTINE_SOURCE,
  ATTRIBUTE_QUARANTINE_TIME,
  quarantineInput,
} from './quarantine.ts'

const now = new Date('2026-01-02T03:04:05.000Z')
const source = 'http://127.0.0.1:4566/000000000000/source'
const target = 'http://127.0.0.1:4566/000000000000/dlq'

describe('quarantineInput', () => {
  it('keeps the body and every attribute as they are (binary values not copied), adding code, source and time', () => {
    const binary = new Uint8Array([0, 255, 7])
    const input = quarantineInput(
      {
        MessageId: 'm1',
        Body: '{"not": "ours"}',
        MessageAttributes: {
          a: { DataType: 'String', StringValue: 'x', StringListValues: [] },
          b: { DataType: 'Binary.custom', BinaryValue: binary },
        },
      },
      'TOKEN_MAC',
      source,
      target,
      now,
    )
    expect(input.QueueUrl).toBe(target)
    expect(input.MessageBody).toBe('{"not": "ours"}')
    expect(input.MessageAttributes).toEqual({
      a: { DataType: 'String', StringValue: 'x' },
      b: { DataType: 'Binary.custom', BinaryValue: binary },
      [ATTRIBUTE_QUARANTINE_CODE]: { DataType: 'String', StringValue: 'TOKEN_MAC' },
      [ATTRIBUTE_QUARANTINE_SOURCE]: { DataType: 'String', StringValue: source },
      [ATTRIBUTE_QUARANTINE_TIME]: { DataType: 'String', StringValue: '2026-01-02T03:04:05.000Z' },
    })
    expect(input.MessageAttributes?.b?.BinaryValue).toBe(binary)
    expect(input.MessageGroupId).toBeUndefined()
  })

  it('with more than 7 attributes already, adds one JSON attribute so the message stays within SQS’s 10', () => {
    const attributes = Object.fromEntries(
      Array.from({ length: 8 }, (_, i) => [`k${i}`, { DataType: 'String', StringValue: String(i) }]),
    )
    const input = quarantineInput(
      { MessageId: 'm', Body: 'b', MessageAttributes: attributes },
      'BODY_NOT_JSON',
      source,
      target,
      now,
    )
    expect(Object.keys(input.MessageAttributes ?? {})).toHaveLength(9)
    expect(JSON.parse(input.MessageAttributes?.[ATTRIBUTE_QUARANTINE]?.StringValue ?? '')).toEqual({
      code: 'BODY_NOT_JSON',
      sourceQueueUrl: source,
      time: '2026-01-02T03:04:05.000Z',
    })
  })

  it('with 10 attributes already, adds none: an 11th would make SQS refuse the move every time', () => {
    const attributes = Object.fromEntries(
      Array.from({ length: 10 }, (_, i) => [`k${i}`, { DataType: 'String', StringValue: String(i) }]),
    )
    const input = quarantineInput(
      { MessageId: 'm', Body: 'b', MessageAttributes: attributes },
      'BODY_NOT_JSON',
      source,
      target,
      now,
    )
    expect(input.MessageAttributes).toEqual(attributes)
    expect(input.MessageBody).toBe('b')
  })

  it('to a FIFO quarantine queue: the group of the source message, deduplicated by message id', () => {
    const input = quarantineInput(
      { MessageId: 'm9', Body: 'b', Attributes: { MessageGroupId: 'g1' } },
      'BODY_SHAPE',
      `${source}.fifo`,
      `${target}.fifo`,
      now,
    )
    expect(input).toMatchObject({ MessageGroupId: 'g1', MessageDeduplicationId: 'm9' })
  })
})
