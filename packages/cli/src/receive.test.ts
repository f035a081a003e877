import type { Message } from '@aws-sdk/client-sqs'
import type { OpenedMessage } from '@sqs-envelope/core'
import { ATTRIBUTE_VERSION } from '@sqs-envelope/core/wire'
import { describe, expect, it } from 'vitest'
import { outputLine, userAttributes } from './receive.ts'

const opened = (contentType: OpenedMessage['contentType'], value: unknown, plaintext = Buffer.alloc(0)) =>
  ({ contentType, value, plaintext, kmsKeyArn: 'arn', encryptionContext: undefined }) as OpenedMessage

/** MessageAttributes as the SDK returns them for a message with an attribute named __proto__: an own key, no value. */
function withProtoAttribute(): Message['MessageAttributes'] {
  const attributes: NonNullable<Message['MessageAttributes']> = Object.create(null)
  Object.defineProperty(attributes, '__proto__', { value: undefined, enumerable: true, writable: true })
  attributes.tenant = { DataType: 'String', StringValue: 't1' }
  attributes.blob = { DataType: 'Binary', BinaryValue: Buffer.from([1, 2, 3]) }
  attributes[ATTRIBUTE_VERSION] = { DataType: 'String', StringValue: '1' }
  return attributes
}

describe('userAttributes', () => {
  it('has no prototype, keeps __proto__ as an entry (null: the SDK gave no value), leaves out the envelope attributes', () => {
    const attributes = userAttributes({ MessageId: 'm', MessageAttributes: withProtoAttribute() })
    expect(Object.getPrototypeOf(attributes)).toBeNull()
    expect(Object.keys(attributes)).toEqual(['__proto__', 'tenant', 'blob'])
    expect(Object.getOwnPropertyDescriptor(attributes, '__proto__')?.value).toBeNull()
    expect(attributes.blob).toBe('AQID')
    expect(JSON.stringify(attributes)).toBe('{"__proto__":null,"tenant":"t1","blob":"AQID"}')
  })
})

describe('outputLine', () => {
  const message: Message = { MessageId: 'id-1', MessageAttributes: withProtoAttribute() }

  it('plain mode: text escaped to one line, JSON as one line of JSON with C1 escaped, bytes in base64', () => {
    expect(outputLine(message, opened('text', 'a\nb\u001b[0m'), false)).toBe('a\\nb\\u001b[0m')
    expect(outputLine(message, opened('json', { s: 'x\u009by\n' }), false)).toBe('{"s":"x\\u009by\\n"}')
    expect(outputLine(message, opened('bytes', undefined, Buffer.from('\n\u001b')), false)).toBe('Chs=')
  })

  it('JSON mode is JSON as before: the exact payload, the user attributes', () => {
    const line = outputLine(message, opened('text', 'a\nb\u009b'), true)
    expect(JSON.parse(line)).toEqual({ messageId: 'id-1', body: 'a\nb\u009b', attributes: expect.any(Object) })
    expect(line).toBe(
      '{"messageId":"id-1","body":"a\\nb\u009b","attributes":{"__proto__":null,"tenant":"t1","blob":"AQID"}}',
    )
  })
})
