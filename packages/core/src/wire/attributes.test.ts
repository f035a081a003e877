import type { Message, MessageAttributeValue } from '@aws-sdk/client-sqs'
import { describe, expect, it } from 'vitest'
import { expectFailure } from '../test-support/failure.ts'
import {
  ATTRIBUTE_CONTENT_TYPE,
  ATTRIBUTE_CONTEXT,
  ATTRIBUTE_VERSION,
  encodeAttributes,
  parseAttributes,
  type ReceivedAttributes,
} from './attributes.ts'
import type { ContentType } from './payload.ts'

describe('message attributes', () => {
  it('encodes version, content type and a sorted encryption context as String attributes', () => {
    expect(encodeAttributes({ contentType: 'json', encryptionContext: { queue: 'q', app: 'a' } })).toEqual({
      'SqsEnvelope.Version': { DataType: 'String', StringValue: '1' },
      'SqsEnvelope.ContentType': { DataType: 'String', StringValue: 'application/json' },
      'SqsEnvelope.Context': { DataType: 'String', StringValue: '{"app":"a","queue":"q"}' },
    })
    expect([ATTRIBUTE_VERSION, ATTRIBUTE_CONTENT_TYPE, ATTRIBUTE_CONTEXT]).toEqual([
      'SqsEnvelope.Version',
      'SqsEnvelope.ContentType',
      'SqsEnvelope.Context',
    ])
  })

  it('defaults to text and omits an absent or empty context', () => {
    const expected = {
      'SqsEnvelope.Version': { DataType: 'String', StringValue: '1' },
      'SqsEnvelope.ContentType': { DataType: 'String', StringValue: 'text/plain; charset=utf-8' },
    }
    expect(encodeAttributes({})).toEqual(expected)
    expect(encodeAttributes({ encryptionContext: {} })).toEqual(expected)
    expect(encodeAttributes({ contentType: 'bytes' })[ATTRIBUTE_CONTENT_TYPE]?.StringValue).toBe(
      'application/octet-stream',
    )
  })

  it('encodeAttributes refuses an unknown content type or a context of non-strings', () => {
    expectFailure(() => encodeAttributes({ contentType: 'xml' as ContentType }), 'OPTION_INVALID')
    const notStrings = { n: 1 } as unknown as Record<string, string>
    expectFailure(() => encodeAttributes({ encryptionContext: notStrings }), 'OPTION_INVALID')
    expectFailure(
      () => encodeAttributes({ encryptionContext: [] as unknown as Record<string, string> }),
      'OPTION_INVALID',
    )
  })

  it('round-trips every content type, with and without a context', () => {
    for (const contentType of ['text', 'json', 'bytes'] as const) {
      expect(parseAttributes(encodeAttributes({ contentType }))).toEqual({ version: 1, contentType })
      const encryptionContext = { 'aws:sqs:arn': 'arn:aws:sqs:us-east-1:000000000000:jobs', tenant: 'ü' }
      expect(parseAttributes(encodeAttributes({ contentType, encryptionContext }))).toEqual({
        version: 1,
        contentType,
        encryptionContext,
      })
    }
  })

  it('no attributes at all (a Python sender) means v1 text', () => {
    expect(parseAttributes(undefined)).toEqual({ version: 1, contentType: 'text' })
    expect(parseAttributes({})).toEqual({ version: 1, contentType: 'text' })
  })

  it('ignores attributes that are not ours, whatever they hold', () => {
    const attributes: ReceivedAttributes = {
      ...encodeAttributes({ contentType: 'json' }),
      Retry: { DataType: 'Number', StringValue: 'x' },
      'SqsEnvelope.Other': { DataType: 'Binary' },
      Empty: undefined,
    }
    expect(parseAttributes(attributes)).toEqual({ version: 1, contentType: 'json' })
    expect(parseAttributes({ Foo: { DataType: 'String', StringValue: '{' } })).toEqual({
      version: 1,
      contentType: 'text',
    })
  })

  it('each of ours is optional: a context alone means v1 text with that context', () => {
    const attributes = { [ATTRIBUTE_CONTEXT]: { DataType: 'String', StringValue: '{"a":"b"}' } }
    expect(parseAttributes(attributes)).toEqual({ version: 1, contentType: 'text', encryptionContext: { a: 'b' } })
  })

  const s = (StringValue: string) => ({ DataType: 'String', StringValue })
  it.each([
    ['version 2', { [ATTRIBUTE_VERSION]: s('2') }],
    ['version 1.0', { [ATTRIBUTE_VERSION]: s('1.0') }],
    ['version empty', { [ATTRIBUTE_VERSION]: s('') }],
    ['version as a Number attribute', { [ATTRIBUTE_VERSION]: { DataType: 'Number', StringValue: '1' } }],
    ['version without a StringValue', { [ATTRIBUTE_VERSION]: { DataType: 'String' } }],
    ['content type text/html', { [ATTRIBUTE_CONTENT_TYPE]: s('text/html') }],
    ['content type in API form', { [ATTRIBUTE_CONTENT_TYPE]: s('json') }],
    ['content type as Binary', { [ATTRIBUTE_CONTENT_TYPE]: { DataType: 'Binary' } }],
    ['context not JSON', { [ATTRIBUTE_CONTEXT]: s('a=b') }],
    ['context an array', { [ATTRIBUTE_CONTEXT]: s('["a"]') }],
    ['context null', { [ATTRIBUTE_CONTEXT]: s('null') }],
    ['context a string', { [ATTRIBUTE_CONTEXT]: s('"a"') }],
    ['context with a number value', { [ATTRIBUTE_CONTEXT]: s('{"a":1}') }],
    ['context with a nested object', { [ATTRIBUTE_CONTEXT]: s('{"a":{"b":"c"}}') }],
  ])('ATTRIBUTE_INVALID: %s', (_, attributes) => {
    expectFailure(() => parseAttributes(attributes), 'ATTRIBUTE_INVALID')
  })

  it('fits the SQS SDK shapes for sending and receiving', () => {
    const sent: Record<string, MessageAttributeValue> = encodeAttributes({ contentType: 'json' })
    const received: Message = { Body: '{}', MessageAttributes: sent }
    expect(parseAttributes(received.MessageAttributes).contentType).toBe('json')
  })
})
