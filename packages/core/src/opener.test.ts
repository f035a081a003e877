import { inspect } from 'node:util'
import { describe, expect, it } from 'vitest'
import { encodeUrlsafeBase64 } from './base64.ts'
import { EnvelopeOpener } from './opener.ts'
import { EnvelopeSealer } from './sealer.ts'
import { failureOf } from './test-support/failure.ts'
import { fakeKms } from './test-support/fake-kms.ts'
import { encodeBody, parseBody } from './wire/body.ts'

/** A sealed message whose token bytes `edit` may change; the data key stays genuine. */
async function sealedWith(edit: (token: Buffer) => Buffer, options: { timestamp?: number } = {}) {
  const kms = fakeKms()
  const sealer = new EnvelopeSealer({ kmsKeyId: 'alias/k', kms: kms.client })
  const { body } = await sealer.seal('job')
  await sealer.close()
  const { encryptedDataKey, tokenBytes } = parseBody(body)
  if (options.timestamp !== undefined) tokenBytes.writeBigUInt64BE(BigInt(options.timestamp), 1)
  return { kms, body: encodeBody(encryptedDataKey, encodeUrlsafeBase64(edit(tokenBytes))) }
}

describe('cheap checks before KMS: what the token shows without the key costs no Decrypt', () => {
  it.each([
    ['TOKEN_VERSION', (t: Buffer) => Buffer.concat([Buffer.from([0x81]), t.subarray(1)])],
    ['TOKEN_LENGTH', (t: Buffer) => t.subarray(0, t.length - 1)],
    ['TOKEN_LENGTH', (t: Buffer) => t.subarray(0, 57)],
  ] as const)('%s is decided before any Decrypt', async (code, edit) => {
    const { kms, body } = await sealedWith(edit)
    const opener = new EnvelopeOpener({ kms: kms.client })
    expect(await failureOf(opener.open({ Body: body }))).toBe(code)
    expect(kms.calls.decrypt).toBe(0)
    await opener.close()
  })

  it('with tokenTtlSeconds, an expired token is TOKEN_EXPIRED before any Decrypt', async () => {
    const { kms, body } = await sealedWith((t) => t, { timestamp: 1000 })
    const opener = new EnvelopeOpener({ kms: kms.client, tokenTtlSeconds: 60 })
    expect(await failureOf(opener.open({ Body: body }))).toBe('TOKEN_EXPIRED')
    expect(kms.calls.decrypt).toBe(0)
    await opener.close()
  })

  it('without tokenTtlSeconds an old token opens (no time check at all)', async () => {
    const { kms, body } = await sealedWith((t) => t, { timestamp: 1000 })
    const opener = new EnvelopeOpener({ kms: kms.client })
    // The timestamp is under the HMAC: changing it is detected once the key is known.
    expect(await failureOf(opener.open({ Body: body }))).toBe('TOKEN_MAC')
    expect(kms.calls.decrypt).toBe(1)
    await opener.close()
  })
})

describe('open() fails by rejecting, never by throwing synchronously', () => {
  it('on a bad body, a missing message and after close()', async () => {
    const kms = fakeKms()
    const opener = new EnvelopeOpener({ kms: kms.client })
    let pending: Promise<unknown> | undefined
    expect(() => {
      pending = opener.open({ Body: 'not json' })
    }).not.toThrow()
    expect(await failureOf(pending as Promise<unknown>)).toBe('BODY_NOT_JSON')
    expect(await failureOf(opener.open(undefined as never))).toBe('BODY_SHAPE')
    const { body } = await sealedWith((t) => t)
    await opener.close()
    expect(await failureOf(opener.open({ Body: body }))).toBe('CLOSED')
  })
})

describe('OpenedMessage', () => {
  it('is an instance whose toJSON, inspect and String show metadata and never the payload', async () => {
    const kms = fakeKms()
    const sealer = new EnvelopeSealer({ kmsKeyId: 'alias/k', kms: kms.client, encryptionContext: { q: 'orders' } })
    const opener = new EnvelopeOpener({ kms: kms.client })
    const sealed = await sealer.seal({ card: '4111-secret' }, { contentType: 'json' })
    const opened = await opener.open<{ card: string }>({
      Body: sealed.body,
      MessageAttributes: sealed.messageAttributes,
    })
    expect(opened.value).toEqual({ card: '4111-secret' })
    expect(Object.keys(opened)).toEqual(['plaintext', 'value', 'contentType', 'kmsKeyArn', 'encryptionContext'])
    // The views live on the prototype: nothing is defined per open.
    expect(Object.getOwnPropertyNames(opened)).toEqual(Object.keys(opened))
    const views = [JSON.stringify(opened), inspect(opened, { depth: 5 }), String(opened), `${opened}`]
    for (const view of views) {
      expect(view).not.toContain('4111')
      expect(view).toContain('[redacted]')
      expect(view).toContain(opened.kmsKeyArn)
    }
    expect(JSON.parse(views[0] as string)).toEqual({
      plaintext: '[redacted]',
      value: '[redacted]',
      contentType: 'json',
      kmsKeyArn: opened.kmsKeyArn,
      encryptionContext: { q: 'orders' },
    })
    expect(views[1]).toBe(
      `OpenedMessage { plaintext: [redacted], value: [redacted], contentType: "json", kmsKeyArn: "${opened.kmsKeyArn}", encryptionContext: {"q":"orders"} }`,
    )
    await sealer.close()
    await opener.close()
  })
})

describe('the key cache goes by the data key as the body spells it', () => {
  it('a second spelling of one blob (standard base64) opens too, for one more Decrypt, then hits', async () => {
    const kms = fakeKms()
    const sealer = new EnvelopeSealer({ kmsKeyId: 'alias/k', kms: kms.client })
    const opener = new EnvelopeOpener({ kms: kms.client })
    // Seal until the blob's urlsafe base64 has a character that the standard alphabet spells differently.
    let body = (await sealer.seal('job')).body
    while (!/[-_]/.test(parseBody(body).encryptedDataKey.toString('base64url'))) {
      await sealer.close()
      body = (await new EnvelopeSealer({ kmsKeyId: 'alias/k', kms: kms.client }).seal('job')).body
    }
    const { encryptedDataKey, token } = parseBody(body)
    const standard = JSON.stringify({
      encrypted_data_key: encryptedDataKey.toString('base64'),
      encrypted_message: token,
    })
    expect((await opener.open({ Body: body })).value).toBe('job')
    expect((await opener.open({ Body: standard })).value).toBe('job')
    expect(kms.calls.decrypt).toBe(2)
    expect((await opener.open({ Body: body })).value).toBe('job')
    expect((await opener.open({ Body: standard })).value).toBe('job')
    expect(kms.calls.decrypt).toBe(2)
    expect(opener.metrics()).toMatchObject({ cacheHits: 2, cacheMisses: 2 })
    await sealer.close()
    await opener.close()
  })

  it('a data key text that differs from the last one seen is checked again (DATA_KEY_ENCODING)', async () => {
    const kms = fakeKms()
    const sealer = new EnvelopeSealer({ kmsKeyId: 'alias/k', kms: kms.client })
    const opener = new EnvelopeOpener({ kms: kms.client })
    const { body } = await sealer.seal('job')
    await opener.open({ Body: body })
    const { encryptedDataKey, token } = parseBody(body)
    const text = encodeUrlsafeBase64(encryptedDataKey)
    // Same length, one character outside the alphabet; and the urlsafe text with one standard character mixed in.
    for (const bad of [`*${text.slice(1)}`, `+${text.slice(1).replace(/[A-Za-z0-9]/, '-')}`]) {
      const hostile = `{"encrypted_data_key": "${bad}", "encrypted_message": "${token}"}`
      expect(await failureOf(opener.open({ Body: hostile }))).toBe('DATA_KEY_ENCODING')
    }
    expect((await opener.open({ Body: body })).value).toBe('job')
    expect(kms.calls.decrypt).toBe(1)
    await sealer.close()
    await opener.close()
  })
})

describe('the encryption context is read once per run of messages that spell it alike', () => {
  it('messages with one context text share one frozen context and one cache entry; another context is its own', async () => {
    const kms = fakeKms()
    const sealer = new EnvelopeSealer({ kmsKeyId: 'alias/k', kms: kms.client, encryptionContext: { tenant: 'Zürich' } })
    const opener = new EnvelopeOpener({ kms: kms.client })
    const a = await sealer.seal('one')
    const b = await sealer.seal('two')
    // Fresh attribute objects, as each SQS response brings them.
    const copy = (m: typeof a) => ({ Body: m.body, MessageAttributes: structuredClone(m.messageAttributes) })
    const first = await opener.open(copy(a))
    const second = await opener.open(copy(b))
    expect([first.value, second.value]).toEqual(['one', 'two'])
    expect(first.encryptionContext).toEqual({ tenant: 'Zürich' })
    expect(second.encryptionContext).toBe(first.encryptionContext)
    expect(Object.isFrozen(first.encryptionContext)).toBe(true)
    expect(kms.calls.decrypt).toBe(1)
    const other = await sealer.seal('three', { encryptionContext: { tenant: 'Genève' } })
    const third = await opener.open(copy(other))
    expect(third.encryptionContext).toEqual({ tenant: 'Genève' })
    expect(kms.calls.decrypt).toBe(2)
    await sealer.close()
    await opener.close()
  })

  it('a context text that differs from the last one seen is parsed and checked again (ATTRIBUTE_INVALID)', async () => {
    const kms = fakeKms()
    const sealer = new EnvelopeSealer({ kmsKeyId: 'alias/k', kms: kms.client, encryptionContext: { q: 'orders' } })
    const opener = new EnvelopeOpener({ kms: kms.client })
    const sealed = await sealer.seal('job')
    await opener.open({ Body: sealed.body, MessageAttributes: sealed.messageAttributes })
    const withContext = (text: string) => ({
      Body: sealed.body,
      MessageAttributes: {
        ...sealed.messageAttributes,
        'SqsEnvelope.Context': { DataType: 'String', StringValue: text },
      },
    })
    expect(await failureOf(opener.open(withContext('{"q":"orders"')))).toBe('ATTRIBUTE_INVALID')
    expect(await failureOf(opener.open(withContext('{"q":1}')))).toBe('ATTRIBUTE_INVALID')
    expect(await failureOf(opener.open(withContext('{"q":"orders","__proto__":"x"}')))).toBe('ATTRIBUTE_INVALID')
    expect((await opener.open(withContext('{"q":"orders"}'))).value).toBe('job')
    await sealer.close()
    await opener.close()
  })
})

describe('tokens are decoded into a scratch buffer that the next open reuses', () => {
  it('an open waiting for KMS keeps its own token while other opens reuse the scratch buffer', async () => {
    const kms = fakeKms()
    const first = new EnvelopeSealer({ kmsKeyId: 'alias/k', kms: kms.client })
    const second = new EnvelopeSealer({ kmsKeyId: 'alias/k', kms: kms.client })
    const opener = new EnvelopeOpener({ kms: kms.client })
    const cached = await first.seal('cached key, first')
    await opener.open({ Body: cached.body })
    // A second data key: its open waits for a Decrypt while opens under the cached key run meanwhile.
    const waiting = opener.open({ Body: (await second.seal('waited for KMS')).body })
    const meanwhile = await Promise.all(
      ['a', 'bb', 'ccc'.repeat(100)].map(
        async (text) => (await opener.open({ Body: (await first.seal(text)).body })).value,
      ),
    )
    expect(meanwhile).toEqual(['a', 'bb', 'ccc'.repeat(100)])
    expect((await waiting).value).toBe('waited for KMS')
    expect(kms.calls.decrypt).toBe(2)
    // A token larger than the scratch buffer gets a buffer of its own.
    const large = 'x'.repeat(200_000)
    expect((await opener.open({ Body: (await first.seal(large)).body })).value).toBe(large)
    await first.close()
    await second.close()
    await opener.close()
  })
})
