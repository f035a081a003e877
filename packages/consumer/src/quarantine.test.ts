import type { Message } from '@aws-sdk/client-sqs'
import type { SqsEnvelopeErrorCode } from '@sqs-envelope/core'
import { describe, expect, it } from 'vitest'
import {
  ATTRIBUTE_QUARANTINE,
  ATTRIBUTE_QUARANTINE_CODE,
  ATTRIBUTE_QUARANTINE_SOURCE,
  ATTRIBUTE_QUARANTINE_TIME,
  quarantineInput,
  SQS_MAX_MESSAGE_BYTES,
} from './quarantine.ts'

const now = new Date('2026-01-02T03:04:05.000Z')
const source = 'http://127.0.0.1:4566/000000000000/source'
const target = 'http://127.0.0.1:4566/000000000000/dlq'

/** quarantineInput from `source` to `target` at `now`. */
function moved(message: Message, code: SqsEnvelopeErrorCode = 'BODY_NOT_JSON') {
  return quarantineInput(message, code, source, target, now)
}

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
    const input = moved({ MessageId: 'm', Body: 'b', MessageAttributes: attributes })
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
    const input = moved({ MessageId: 'm', Body: 'b', MessageAttributes: attributes })
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

describe('quarantineInput at SQS’s limits', () => {
  const added = (input: { MessageAttributes?: Record<string, unknown> }) =>
    Object.keys(input.MessageAttributes ?? {}).filter((name) => name.startsWith('SqsEnvelope.'))

  it('a body of ~1 MiB: the copy keeps the body and its attributes and adds nothing that would pass 1,048,576 bytes', () => {
    const attributes = { a: { DataType: 'String', StringValue: 'x'.repeat(100) } }
    // Exactly SQS's limit with the attribute (name 1 + type 6 + value 100 bytes); one multibyte character in the body.
    const body = `é${'b'.repeat(SQS_MAX_MESSAGE_BYTES - 107 - 2)}`
    const input = moved({ MessageId: 'm', Body: body, MessageAttributes: attributes }, 'TOKEN_MAC')
    expect(input.MessageBody).toBe(body)
    expect(input.MessageAttributes).toEqual(attributes)
    expect(added(input)).toEqual([])
  })

  it('room for the one JSON attribute but not the three: the JSON one is added, and the copy is within the limit', () => {
    const three = moved({ MessageId: 'm', Body: '' }, 'TOKEN_MAC').MessageAttributes
    const one = quarantineInput(
      {
        MessageId: 'm',
        Body: '',
        MessageAttributes: Object.fromEntries(
          Array.from({ length: 8 }, (_, i) => [`k${i}`, { DataType: 'String', StringValue: '' }]),
        ),
      },
      'TOKEN_MAC',
      source,
      target,
      now,
    ).MessageAttributes
    const bytes = (map: Record<string, { DataType?: string; StringValue?: string }> | undefined) =>
      Object.entries(map ?? {})
        .filter(([name]) => name.startsWith('SqsEnvelope.'))
        .reduce(
          (sum, [name, v]) =>
            sum +
            Buffer.byteLength(name) +
            Buffer.byteLength(v.DataType ?? '') +
            Buffer.byteLength(v.StringValue ?? ''),
          0,
        )
    const threeBytes = bytes(three)
    const oneBytes = bytes(one)
    expect(oneBytes).toBeLessThan(threeBytes)
    const body = 'b'.repeat(SQS_MAX_MESSAGE_BYTES - oneBytes)
    const input = moved({ MessageId: 'm', Body: body }, 'TOKEN_MAC')
    expect(added(input)).toEqual([ATTRIBUTE_QUARANTINE])
    expect(input.MessageBody).toBe(body)
    const fits = moved({ MessageId: 'm', Body: 'b'.repeat(SQS_MAX_MESSAGE_BYTES - threeBytes) }, 'TOKEN_MAC')
    expect(added(fits)).toHaveLength(3)
    const none = moved({ MessageId: 'm', Body: 'b'.repeat(SQS_MAX_MESSAGE_BYTES - oneBytes + 1) }, 'TOKEN_MAC')
    expect(added(none)).toEqual([])
  })

  it('attributes near the limit count by name, data type and value (binary by its bytes)', () => {
    const input = (binaryBytes: number) => {
      const binary = new Uint8Array(binaryBytes)
      const attributes = {
        bin: { DataType: 'Binary', BinaryValue: binary },
        s: { DataType: 'String', StringValue: '€'.repeat(40) },
      }
      const result = moved({ MessageId: 'm', Body: 'poison', MessageAttributes: attributes })
      // The same binary value, not a copy (a 1 MiB toEqual would compare it byte by byte).
      expect(result.MessageAttributes?.bin?.BinaryValue).toBe(binary)
      expect(result.MessageAttributes?.s).toEqual(attributes.s)
      return added(result)
    }
    // body 6 + "bin" 3 + "Binary" 6 + the value, "s" 1 + "String" 6 + 120 (40 × 3 bytes): 58 bytes left,
    // fewer than either addition; 258 left: room for the three (176 bytes here).
    expect(input(SQS_MAX_MESSAGE_BYTES - 200)).toEqual([])
    expect(input(SQS_MAX_MESSAGE_BYTES - 400)).toHaveLength(3)
  })
})

describe('quarantineInput and the attribute named __proto__', () => {
  it('a JSON.parse’d map with __proto__ (a value): carried as an own attribute, the prototype untouched', () => {
    const attributes = JSON.parse(
      '{"__proto__":{"DataType":"String","StringValue":"p"},"a":{"DataType":"Number","StringValue":"1"}}',
    ) as Record<string, { DataType: string; StringValue: string }>
    const input = moved({ MessageId: 'm', Body: 'poison', MessageAttributes: attributes })
    const copy = input.MessageAttributes ?? {}
    expect(Object.getPrototypeOf(copy)).toBeNull()
    expect(Object.hasOwn(copy, '__proto__')).toBe(true)
    expect(Object.getOwnPropertyDescriptor(copy, '__proto__')?.value).toEqual({ DataType: 'String', StringValue: 'p' })
    expect(copy.a).toEqual({ DataType: 'Number', StringValue: '1' })
    expect(Object.keys(copy)).toEqual([
      '__proto__',
      'a',
      ATTRIBUTE_QUARANTINE_CODE,
      ATTRIBUTE_QUARANTINE_SOURCE,
      ATTRIBUTE_QUARANTINE_TIME,
    ])
    // What the SDK serialises: JSON.stringify writes the own key.
    expect(JSON.stringify(copy)).toContain('"__proto__":{"DataType":"String","StringValue":"p"}')
    expect(({} as Record<string, unknown>).StringValue).toBeUndefined()
  })

  it('__proto__ as the SDK returns it (an own key, value null or undefined): left out, the rest copied', () => {
    for (const missing of [null, undefined]) {
      // JSON.parse makes __proto__ an own key (as the SDK does), which a plain assignment would not.
      const attributes = JSON.parse('{"__proto__":null,"a":{"DataType":"String","StringValue":"x"}}')
      Object.defineProperty(attributes, '__proto__', { value: missing })
      expect(Object.keys(attributes)).toEqual(['__proto__', 'a'])
      const input = moved({ MessageId: 'm', Body: 'poison', MessageAttributes: attributes })
      const copy = input.MessageAttributes ?? {}
      expect(Object.hasOwn(copy, '__proto__')).toBe(false)
      expect(copy.a).toEqual({ DataType: 'String', StringValue: 'x' })
      expect(Object.keys(copy)).toHaveLength(4)
      expect(input.MessageBody).toBe('poison')
    }
  })
})
