import { DecryptCommand, GenerateDataKeyCommand, type KMSClient } from '@aws-sdk/client-kms'
import pLimit, { type LimitFunction } from 'p-limit'
import { SqsEnvelopeError } from '../errors.ts'
import type { MetricsRecorder } from '../metrics.ts'
import { classifyKmsError, kmsError } from './classify.ts'

/** How KMS requests are bounded and retried. */
export interface KmsCallPolicy {
  readonly concurrency: number
  readonly maxAttempts: number
  readonly retryBaseDelayMs: number
  readonly retryMaxDelayMs: number
}

export interface UnwrappedKey {
  /** 32 plaintext bytes; the caller owns them and must zero-fill them. */
  readonly plaintext: Buffer
  /** ARN of the KMS key that KMS used. */
  readonly keyArn: string
}

export interface GeneratedKey extends UnwrappedKey {
  readonly ciphertext: Uint8Array
}

/**
 * The one way to KMS: every request goes through one p-limit limiter and is
 * retried with full-jitter exponential backoff on throttling, 5xx and network
 * errors. Backoff sleeps happen outside the limiter, so a throttled request
 * does not hold a slot.
 */
export class KmsGateway {
  readonly #kms: KMSClient
  readonly #policy: KmsCallPolicy
  readonly #limit: LimitFunction
  readonly #metrics: MetricsRecorder

  constructor(kms: KMSClient, policy: KmsCallPolicy, metrics: MetricsRecorder) {
    this.#kms = kms
    this.#policy = policy
    this.#limit = pLimit(policy.concurrency)
    this.#metrics = metrics
  }

  async generateDataKey(keyId: string, context: Record<string, string> | undefined, signal?: AbortSignal) {
    const out = await this.#send('GenerateDataKey', 'generateDataKeyCalls', signal, (abortSignal) =>
      this.#kms.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256', EncryptionContext: context }), {
        abortSignal,
      }),
    )
    const plaintext = out.Plaintext
    if (plaintext?.length !== 32 || !out.CiphertextBlob || !out.KeyId) {
      plaintext?.fill(0)
      throw new SqsEnvelopeError(
        'KMS_UNAVAILABLE',
        'a GenerateDataKey answer must hold a 32-byte plaintext key, its CiphertextBlob and the KeyId',
      )
    }
    return { plaintext: asBuffer(plaintext), ciphertext: out.CiphertextBlob, keyArn: out.KeyId } satisfies GeneratedKey
  }

  async decrypt(
    ciphertext: Uint8Array,
    context: Record<string, string> | undefined,
    keyId: string | undefined,
    signal?: AbortSignal,
  ): Promise<UnwrappedKey> {
    const out = await this.#send('Decrypt', 'decryptCalls', signal, (abortSignal) =>
      this.#kms.send(new DecryptCommand({ CiphertextBlob: ciphertext, EncryptionContext: context, KeyId: keyId }), {
        abortSignal,
      }),
    )
    const plaintext = out.Plaintext
    if (!plaintext || !out.KeyId) {
      plaintext?.fill(0)
      throw new SqsEnvelopeError('KMS_UNAVAILABLE', 'a Decrypt answer must hold the plaintext and the KeyId')
    }
    if (plaintext.length !== 32) {
      // Our data keys are always AES_256: another length was never a key of this format.
      plaintext.fill(0)
      throw new SqsEnvelopeError('KMS_INVALID_CIPHERTEXT', 'a data key unwrapped by KMS must be 32 bytes')
    }
    return { plaintext: asBuffer(plaintext), keyArn: out.KeyId }
  }

  async #send<T>(
    operation: string,
    counter: 'generateDataKeyCalls' | 'decryptCalls',
    signal: AbortSignal | undefined,
    call: (abortSignal: AbortSignal | undefined) => Promise<T>,
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      if (signal?.aborted) throw aborted(operation, signal)
      try {
        return await this.#limit(() => {
          // Counted when sent, not when queued: the counters are KMS's bill.
          this.#metrics.increment(counter)
          return call(signal)
        })
      } catch (error) {
        const failure = classifyKmsError(error, signal)
        if (failure.throttled) this.#metrics.increment('throttles')
        if (!failure.retryable || attempt >= this.#policy.maxAttempts) {
          throw kmsError(operation, failure, error, attempt)
        }
        this.#metrics.increment('retries')
        await sleep(backoffMs(attempt, this.#policy), signal).catch(() => {
          throw aborted(operation, signal)
        })
      }
    }
  }
}

/** Full jitter: uniform in [0, min(max, base * 2^(attempt-1))]. */
export function backoffMs(attempt: number, policy: Pick<KmsCallPolicy, 'retryBaseDelayMs' | 'retryMaxDelayMs'>) {
  const ceiling = Math.min(policy.retryMaxDelayMs, policy.retryBaseDelayMs * 2 ** (attempt - 1))
  return Math.random() * ceiling
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason)
    const onAbort = () => {
      clearTimeout(timer)
      reject(signal?.reason)
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

function aborted(operation: string, signal: AbortSignal | undefined): SqsEnvelopeError {
  return new SqsEnvelopeError('ABORTED', `KMS ${operation} was aborted`, { cause: signal?.reason })
}

// The SDK hands out Uint8Array views; a Buffer over the same memory lets fill(0) reach them.
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}
