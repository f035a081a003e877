import { GenerateDataKeyCommand, type KMSClient } from '@aws-sdk/client-kms'
import { EnvelopeSealer, Fernet } from '@sqs-envelope/core'
import { ATTRIBUTE_CONTEXT, ATTRIBUTE_VERSION, encodeBody, parseBody } from '@sqs-envelope/core/wire'
import type { RawMessage } from '../consumer-support.ts'

/** A hostile message and the codes it may be quarantined under (more than one where AWS and LocalStack differ). */
export interface HostileMessage {
  readonly name: string
  readonly raw: RawMessage
  readonly codes: readonly string[]
}

export interface CorpusKeys {
  readonly kms: KMSClient
  /** The key the consumer accepts. */
  readonly keyId: string
  /** A key the consumer does not accept. */
  readonly otherKeyId: string
  /** A key the consumer accepts, disabled after sealing with it. */
  readonly disabledKeyId: string
  /** The encryption context the consumer requires. */
  readonly context: Record<string, string>
}

const swapChar = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1)

/**
 * Bodies an attacker or a broken sender could put on the queue and that SQS carries. Each must be
 * quarantined with its code, intact, and never reach the handler. Call before disabling `disabledKeyId`.
 */
export async function hostileCorpus(keys: CorpusKeys): Promise<HostileMessage[]> {
  const { kms, context } = keys
  const sealer = new EnvelopeSealer({ kms, kmsKeyId: keys.keyId, encryptionContext: context, reuse: false })
  const good = await sealer.seal('corpus')
  const attrs = good.messageAttributes
  const { encryptedDataKey, token } = parseBody(good.body)
  const edk = Buffer.from(encryptedDataKey)
  const another = parseBody((await sealer.seal('another')).body)
  const foreign = await new EnvelopeSealer({ kms, kmsKeyId: keys.otherKeyId, encryptionContext: context }).seal('x')
  const disabled = await new EnvelopeSealer({ kms, kmsKeyId: keys.disabledKeyId, encryptionContext: context }).seal('x')
  const otherContext = await new EnvelopeSealer({
    kms,
    kmsKeyId: keys.keyId,
    encryptionContext: Object.fromEntries(Object.keys(context).map((k) => [k, 'someone-else'])),
  }).seal('x')
  // A data key generated under no context, presented with the required context: KMS refuses the pair.
  const noContext = await kms.send(new GenerateDataKeyCommand({ KeyId: keys.keyId, KeySpec: 'AES_256' }))
  const noContextToken = new Fernet(noContext.Plaintext as Uint8Array).encrypt('x')
  ;(noContext.Plaintext as Uint8Array).fill(0)
  const json = (value: unknown) => JSON.stringify(value)
  const withContext = (value: string) => ({ ...attrs, [ATTRIBUTE_CONTEXT]: { DataType: 'String', StringValue: value } })
  const edkText = edk.toString('base64url') + '='.repeat((4 - (edk.toString('base64url').length % 4)) % 4)
  return [
    { name: 'a single space', raw: { body: ' ' }, codes: ['BODY_NOT_JSON'] },
    { name: '200 KiB of junk', raw: { body: 'junk!'.repeat(40_960) }, codes: ['BODY_NOT_JSON'] },
    {
      name: 'replacement characters (invalid UTF-8 as SQS carries it)',
      raw: { body: '\ufffd\ufffd{"encrypted_data_key"' },
      codes: ['BODY_NOT_JSON'],
    },
    { name: 'JSON array', raw: { body: '[1,2]' }, codes: ['BODY_SHAPE'] },
    { name: 'JSON string', raw: { body: '"x"' }, codes: ['BODY_SHAPE'] },
    {
      name: 'extra key',
      raw: {
        body: json({ encrypted_data_key: edkText, encrypted_message: token, extra: 1 }),
        messageAttributes: attrs,
      },
      codes: ['BODY_SHAPE'],
    },
    {
      name: 'missing key',
      raw: { body: json({ encrypted_message: token }), messageAttributes: attrs },
      codes: ['BODY_SHAPE'],
    },
    {
      name: 'wrongly typed key (number)',
      raw: { body: json({ encrypted_data_key: 5, encrypted_message: token }), messageAttributes: attrs },
      codes: ['BODY_SHAPE'],
    },
    {
      name: 'wrongly typed key (object)',
      raw: { body: json({ encrypted_data_key: edkText, encrypted_message: { token } }), messageAttributes: attrs },
      codes: ['BODY_SHAPE'],
    },
    {
      name: 'deeply nested JSON (50,000 levels)',
      raw: { body: `${'['.repeat(50_000)}${']'.repeat(50_000)}` },
      codes: ['BODY_NOT_JSON', 'BODY_SHAPE'],
    },
    {
      name: 'token in the standard base64 alphabet',
      raw: {
        body: json({ encrypted_data_key: edkText, encrypted_message: `+/${token.slice(2)}` }),
        messageAttributes: attrs,
      },
      codes: ['TOKEN_ENCODING'],
    },
    {
      name: 'token without its padding',
      raw: {
        body: json({ encrypted_data_key: edkText, encrypted_message: token.replace(/=+$/, '') }),
        messageAttributes: attrs,
      },
      codes: ['TOKEN_ENCODING'],
    },
    {
      name: 'token with a stray character (length not a multiple of 4)',
      raw: { body: json({ encrypted_data_key: edkText, encrypted_message: `${token}A` }), messageAttributes: attrs },
      codes: ['TOKEN_ENCODING'],
    },
    {
      name: 'data key with wrong padding',
      raw: { body: json({ encrypted_data_key: `${edkText}==`, encrypted_message: token }), messageAttributes: attrs },
      codes: ['DATA_KEY_ENCODING'],
    },
    {
      name: 'whitespace inside the token',
      raw: { body: json({ encrypted_data_key: edkText, encrypted_message: `${token}\n` }), messageAttributes: attrs },
      codes: ['TOKEN_ENCODING'],
    },
    {
      name: 'token bit flipped',
      raw: { body: encodeBody(edk, swapChar(token, 60)), messageAttributes: attrs },
      codes: ['TOKEN_MAC'],
    },
    {
      name: 'valid token under another message’s data key',
      raw: { body: encodeBody(another.encryptedDataKey, token), messageAttributes: attrs },
      codes: ['TOKEN_MAC'],
    },
    { name: 'data key from another KMS key', raw: foreign, codes: ['KMS_KEY_NOT_ALLOWED', 'KMS_INCORRECT_KEY'] },
    { name: 'data key from a disabled KMS key', raw: disabled, codes: ['KMS_KEY_DISABLED'] },
    { name: 'context other than the required one', raw: otherContext, codes: ['CONTEXT_MISMATCH'] },
    {
      name: 'context attribute claiming the required context for a data key made without it',
      raw: { body: encodeBody(noContext.CiphertextBlob as Uint8Array, noContextToken), messageAttributes: attrs },
      codes: ['KMS_INVALID_CIPHERTEXT', 'KMS_INCORRECT_KEY'],
    },
    {
      name: 'context attribute __proto__',
      raw: { body: good.body, messageAttributes: withContext('{"__proto__":{"a":"b"}}') },
      codes: ['ATTRIBUTE_INVALID', 'CONTEXT_MISMATCH'],
    },
    {
      name: 'context attribute not JSON',
      raw: { body: good.body, messageAttributes: withContext('{queue') },
      codes: ['ATTRIBUTE_INVALID'],
    },
    {
      name: 'context attribute array',
      raw: { body: good.body, messageAttributes: withContext('["a"]') },
      codes: ['ATTRIBUTE_INVALID'],
    },
    {
      name: 'context attribute with non-string values',
      raw: { body: good.body, messageAttributes: withContext(json({ ...context, n: 1 })) },
      codes: ['ATTRIBUTE_INVALID'],
    },
    {
      name: 'context attribute of 200 KiB',
      raw: { body: good.body, messageAttributes: withContext(json({ ...context, pad: 'p'.repeat(200_000) })) },
      codes: ['ATTRIBUTE_INVALID'],
    },
    {
      name: 'version attribute 2',
      raw: {
        body: good.body,
        messageAttributes: { ...attrs, [ATTRIBUTE_VERSION]: { DataType: 'String', StringValue: '2' } },
      },
      codes: ['ATTRIBUTE_INVALID'],
    },
  ]
}

/** Bodies SQS itself cannot carry (empty, over its size limit, lone surrogates): checked against the opener directly. */
export const UNSENDABLE_BODIES: ReadonlyArray<{ name: string; body: string; codes: readonly string[] }> = [
  { name: 'empty', body: '', codes: ['BODY_NOT_JSON'] },
  { name: '1 MiB + 1 of junk', body: 'x'.repeat(1_048_577), codes: ['BODY_SIZE'] },
  {
    name: 'lone surrogates (invalid UTF-16/UTF-8)',
    body: '{"encrypted_data_key":"\ud800","encrypted_message":"\udfff"}',
    codes: ['DATA_KEY_ENCODING'],
  },
  { name: 'NUL bytes', body: '\u0000\u0000', codes: ['BODY_NOT_JSON'] },
]

/** Poison kinds cheap enough to mix into load and fault runs (none needs a KMS call to be refused). */
export function cheapPoison(good: RawMessage, i: number): RawMessage {
  const { encryptedDataKey, token } = parseBody(good.body)
  const attributes = good.messageAttributes ? { messageAttributes: good.messageAttributes } : {}
  switch (i % 4) {
    case 0:
      return { body: `not json ${i}` }
    case 1:
      return { body: JSON.stringify({ encrypted_data_key: i, encrypted_message: token }) }
    case 2:
      return {
        body: encodeBody(encryptedDataKey, swapChar(token, 40 + (i % 20))),
        ...attributes,
      }
    default: {
      // encodeBody refuses a malformed token, so this one is written by hand, as a broken sender would.
      const { encrypted_data_key } = JSON.parse(good.body) as { encrypted_data_key: string }
      return {
        body: JSON.stringify({ encrypted_data_key, encrypted_message: `${token}${'A'.repeat(1 + (i % 3))}` }),
        ...attributes,
      }
    }
  }
}

/** The quarantine codes {@link cheapPoison} may give. */
export const CHEAP_POISON_CODES = ['BODY_NOT_JSON', 'BODY_SHAPE', 'TOKEN_MAC', 'TOKEN_ENCODING']
