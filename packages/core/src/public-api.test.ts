// Type tests of the public surface: checked by `pnpm run typecheck` (tsc), run as no-ops by vitest.
import { describe, expectTypeOf, it } from 'vitest'
import * as internal from './entries/internal.ts'
import * as wire from './entries/wire.ts'
import * as root from './index.ts'
import {
  type ContentType,
  type EnvelopeMessage,
  EnvelopeOpener,
  EnvelopeSealer,
  Fernet,
  type OpenedMessage,
  type SealedMessage,
  type SealOptions,
  type SqsEnvelopeError,
  type SqsEnvelopeErrorCode,
} from './index.ts'

declare const message: EnvelopeMessage

// The bodies below are checked by tsc and never run: they would construct clients and call KMS.
function typeOnly(_checks: () => void): void {}

describe('public API types', () => {
  it('the root keeps the sealer, opener, Fernet and errors; codecs live in core/wire', () =>
    typeOnly(() => {
      expectTypeOf(root).toHaveProperty('EnvelopeSealer')
      expectTypeOf(root).toHaveProperty('EnvelopeOpener')
      expectTypeOf(root).toHaveProperty('Fernet')
      expectTypeOf(root).toHaveProperty('SqsEnvelopeError')
      expectTypeOf(root).toHaveProperty('isSqsEnvelopeError')
      expectTypeOf(root).not.toHaveProperty('parseBody')
      expectTypeOf(root).not.toHaveProperty('encodeBody')
      expectTypeOf(root).not.toHaveProperty('decodeUrlsafeBase64')
      expectTypeOf(wire).toHaveProperty('parseBody')
      expectTypeOf(wire).toHaveProperty('decodeUrlsafeBase64')
      expectTypeOf(wire.CONTENT_TYPES).toEqualTypeOf<readonly ContentType[]>()
    }))

  it('CORE_DEFAULTS is the defaults constant; DEFAULTS stays as its deprecated alias', () =>
    typeOnly(() => {
      expectTypeOf(root).toHaveProperty('CORE_DEFAULTS')
      expectTypeOf(root).toHaveProperty('DEFAULTS')
      expectTypeOf(root.CORE_DEFAULTS.requestTimeoutMs).toEqualTypeOf<10_000>()
    }))

  it('core/internal holds what the sibling packages share, and the root does not', () =>
    typeOnly(() => {
      expectTypeOf(internal.queueUrlOption).returns.toEqualTypeOf<string>()
      expectTypeOf(internal.backoffMs).parameters.toEqualTypeOf<
        [attempt: number, policy: internal.BackoffPolicy, random?: () => number]
      >()
      expectTypeOf(internal.backoffSeconds).returns.toEqualTypeOf<number>()
      expectTypeOf(internal.delay).returns.toEqualTypeOf<Promise<void>>()
      expectTypeOf(internal.abortedWaiting).returns.toEqualTypeOf<SqsEnvelopeError>()
      expectTypeOf(internal.requestSignal).returns.toEqualTypeOf<AbortSignal>()
      expectTypeOf(internal.createAwsClient).toBeFunction()
      expectTypeOf(internal.openFailure).returns.toEqualTypeOf<{
        readonly verdict: internal.OpenVerdict
        readonly error: SqsEnvelopeError
      }>()
      expectTypeOf<internal.OpenVerdict>().toEqualTypeOf<'poison' | 'suspect' | 'retry'>()
      expectTypeOf(internal.SUSPECT_CODES).toEqualTypeOf<ReadonlySet<SqsEnvelopeErrorCode>>()
      for (const name of ['booleanOption', 'contentTypeOption', 'integerOption', 'invalidOption'] as const) {
        expectTypeOf(internal).toHaveProperty(name)
      }
      expectTypeOf(internal).toHaveProperty('MAX_TIMER_MS')
      expectTypeOf(internal).toHaveProperty('timerOption')
      expectTypeOf(internal).toHaveProperty('describeValue')
      expectTypeOf(root).not.toHaveProperty('backoffMs')
      expectTypeOf(root).not.toHaveProperty('createAwsClient')
    }))

  it('seal() takes the payload its content type carries', () =>
    typeOnly(() => {
      const sealer = new EnvelopeSealer({ kmsKeyId: 'alias/k' })
      expectTypeOf(sealer).toEqualTypeOf<EnvelopeSealer<'text'>>()
      expectTypeOf(sealer.seal).toBeCallableWith('a string')
      expectTypeOf(sealer.seal<'bytes'>)
        .parameter(0)
        .toEqualTypeOf<Uint8Array>()
      expectTypeOf(sealer.seal<'text'>)
        .parameter(0)
        .toEqualTypeOf<string>()
      expectTypeOf(sealer.seal<'json'>)
        .parameter(0)
        .toEqualTypeOf<unknown>()
      expectTypeOf(sealer.seal).returns.resolves.toEqualTypeOf<SealedMessage>()
      // @ts-expect-error a text sealer seals strings unless the seal says otherwise
      void sealer.seal({ orderId: 1 })
      // @ts-expect-error bytes need a Uint8Array
      void sealer.seal('x', { contentType: 'bytes' })
      void sealer.seal(new Uint8Array(1), { contentType: 'bytes' })
      void sealer.seal({ orderId: 1 }, { contentType: 'json' })
      expectTypeOf(sealer.close()).toEqualTypeOf<Promise<void>>()
      expectTypeOf(sealer[Symbol.asyncDispose]()).toEqualTypeOf<Promise<void>>()
    }))

  it("the sealer's own contentType sets what seal() takes by default", () =>
    typeOnly(() => {
      const json = new EnvelopeSealer({ kmsKeyId: 'alias/k', contentType: 'json' })
      expectTypeOf(json).toEqualTypeOf<EnvelopeSealer<'json'>>()
      void json.seal({ orderId: 1 })
      const bytes = new EnvelopeSealer({ kmsKeyId: 'alias/k', contentType: 'bytes' })
      // @ts-expect-error a bytes sealer seals Uint8Arrays
      void bytes.seal('x')
      expectTypeOf<SealOptions<'bytes'>['contentType']>().toEqualTypeOf<'bytes' | undefined>()
      void json.close()
      void bytes.close()
    }))

  it('open<T>() types the value, and nothing else about the opened message changes', () =>
    typeOnly(() => {
      const opener = new EnvelopeOpener()
      expectTypeOf(opener.open<{ id: number }>(message)).resolves.toEqualTypeOf<OpenedMessage<{ id: number }>>()
      expectTypeOf(opener.open(message)).resolves.toEqualTypeOf<OpenedMessage<unknown>>()
      expectTypeOf<OpenedMessage<string>['value']>().toEqualTypeOf<string>()
      expectTypeOf<OpenedMessage['plaintext']>().toEqualTypeOf<Buffer>()
      expectTypeOf<OpenedMessage['contentType']>().toEqualTypeOf<ContentType>()
      expectTypeOf(opener.close()).toEqualTypeOf<Promise<void>>()
      expectTypeOf(opener[Symbol.asyncDispose]()).toEqualTypeOf<Promise<void>>()
    }))

  it('Fernet and errors', () =>
    typeOnly(() => {
      expectTypeOf(Fernet.prototype.decrypt).returns.toEqualTypeOf<Buffer>()
      expectTypeOf(Fernet.prototype.decryptBytes).parameter(0).toEqualTypeOf<Uint8Array>()
      expectTypeOf(Fernet.prototype.encrypt).returns.toEqualTypeOf<string>()
      expectTypeOf<SqsEnvelopeError['code']>().toEqualTypeOf<SqsEnvelopeErrorCode>()
      expectTypeOf<SqsEnvelopeError['kind']>().toEqualTypeOf<'permanent' | 'transient' | 'usage'>()
    }))
})
