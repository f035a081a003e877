import { DecryptCommand, GenerateDataKeyCommand, type KMSClient } from '@aws-sdk/client-kms'
import pLimit, { type LimitFunction } from 'p-limit'
import { SqsEnvelopeError } from '../errors.ts'
import { delay, requestSignal } from '../internal/abort.ts'
import { backoffMs } from '../internal/backoff.ts'
import type { MetricsRecorder } from '../metrics.ts'
import type { ResolvedKmsOptions } from '../options.ts'
import { type KmsOperation, kmsRequestsObserved, publishKmsRequest } from './channel.ts'
import { classifyKmsError, kmsError } from './classify.ts'
import { attemptsFor } from './client.ts'

/** How KMS requests are bounded, timed out and retried: the KMS options of the same names. */
export type KmsCallPolicy = Pick<
  ResolvedKmsOptions,
  'kmsConcurrency' | 'kmsMaxAttempts' | 'kmsRetryBaseDelayMs' | 'kmsRetryMaxDelayMs' | 'requestTimeoutMs'
>

/** A data key as KMS hands it out (Decrypt, GenerateDataKey), and the KMS key that wrapped it. */
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
 * The one way to KMS: every request goes through one p-limit limiter, ends after
 * `requestTimeoutMs` (KMS_UNAVAILABLE), and is retried with the shared backoff
 * (`backoffMs`) on throttling, 5xx, network errors and timeouts (when the client is
 * ours: see kmsClientFor). Backoff sleeps happen outside the limiter, so a throttled
 * request does not hold a slot. Every wait (limiter queue, backoff, the request
 * itself) ends at once when the caller's signal aborts (ABORTED) or the gateway
 * closes (CLOSED).
 */
export class KmsGateway {
  readonly #kms: KMSClient
  readonly #policy: KmsCallPolicy
  readonly #backoff: { readonly baseMs: number; readonly maxMs: number }
  readonly #limit: LimitFunction
  readonly #metrics: MetricsRecorder
  readonly #ownsClient: boolean
  #maxAttempts: Promise<number> | undefined
  readonly #closing = new AbortController()
  #closed = false

  /**
   * @param ownsClient whether we built `kms` (SDK retries off): otherwise the client's own
   * retry setting decides whose retries apply (see attemptsFor).
   */
  constructor(kms: KMSClient, policy: KmsCallPolicy, metrics: MetricsRecorder, ownsClient = true) {
    this.#kms = kms
    this.#policy = policy
    this.#ownsClient = ownsClient
    this.#backoff = { baseMs: policy.kmsRetryBaseDelayMs, maxMs: policy.kmsRetryMaxDelayMs }
    this.#limit = pLimit(policy.kmsConcurrency)
    this.#metrics = metrics
  }

  async generateDataKey(keyId: string, context: Record<string, string> | undefined, signal?: AbortSignal) {
    const out = await this.#send('GenerateDataKey', 'generateDataKeyCalls', signal, (abortSignal) =>
      this.#kms.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256', EncryptionContext: context }), {
        abortSignal,
      }),
    )
    const plaintext = out.Plaintext
    this.#zeroIfClosed(plaintext, 'GenerateDataKey')
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
    this.#zeroIfClosed(plaintext, 'Decrypt')
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

  /**
   * Stops all KMS traffic for good: calls queued in the limiter or sleeping in a backoff end
   * at once with CLOSED, requests in flight are aborted, and nothing more is sent.
   */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#closing.abort()
  }

  async #send<T extends { $metadata?: { attempts?: number } }>(
    operation: KmsOperation,
    counter: 'generateDataKeyCalls' | 'decryptCalls',
    signal: AbortSignal | undefined,
    call: (abortSignal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const stop = signal ? AbortSignal.any([signal, this.#closing.signal]) : this.#closing.signal
    for (let attempt = 1; ; attempt++) {
      if (stop.aborted) throw this.#stopped(operation, signal)
      try {
        return await this.#whenSlotFree(stop, operation, signal, async () => {
          // Counted when sent, not when queued: the counters are KMS's bill.
          this.#metrics.increment(counter)
          // The clock is read only while someone listens on sqs-envelope:kms:request.
          const startedAt = kmsRequestsObserved() ? performance.now() : -1
          try {
            const out = await call(requestSignal(stop, this.#policy.requestTimeoutMs))
            this.#countSdkRetries(counter, out.$metadata)
            if (startedAt >= 0) publishKmsRequest(operation, 'ok', undefined, performance.now() - startedAt)
            return out
          } catch (error) {
            this.#countSdkRetries(counter, (error as { $metadata?: { attempts?: number } } | null)?.$metadata)
            if (startedAt >= 0) publishFailedRequest(operation, error, signal, startedAt)
            throw error
          } finally {
            forgetLastMatch()
          }
        })
      } catch (error) {
        if (stop.aborted) throw this.#stopped(operation, signal, error)
        const failure = classifyKmsError(error, signal)
        if (failure.throttled) this.#metrics.increment('throttles')
        // Resolved on the first failure only: the success path never waits on it.
        this.#maxAttempts ??= attemptsFor(this.#kms, this.#ownsClient, this.#policy.kmsMaxAttempts)
        if (!failure.retryable || attempt >= (await this.#maxAttempts)) {
          throw kmsError(operation, failure, error, attempt)
        }
        this.#metrics.increment('retries')
        await delay(backoffMs(attempt, this.#backoff), stop).catch(() => {
          throw this.#stopped(operation, signal)
        })
      }
    }
  }

  /**
   * Runs `send` when the limiter has a free slot. A caller whose signal aborts (or whose
   * gateway closes) is released at once, wherever it is: queued (its request is then never
   * sent) or in flight (the SDK aborts the request; an answer that still arrives is wiped).
   */
  #whenSlotFree<T>(stop: AbortSignal, operation: string, signal: AbortSignal | undefined, send: () => Promise<T>) {
    return new Promise<T>((resolve, reject) => {
      let released = false
      const release = () => {
        released = true
        reject(this.#stopped(operation, signal))
      }
      stop.addEventListener('abort', release, { once: true })
      void this.#limit(async () => {
        if (stop.aborted) return
        try {
          const out = await send()
          if (released) (out as { Plaintext?: Uint8Array }).Plaintext?.fill(0)
          else resolve(out)
        } catch (error) {
          reject(error)
        } finally {
          stop.removeEventListener('abort', release)
        }
      })
    })
  }

  /** An injected client may retry inside `send`; its extra attempts are requests KMS saw too. */
  #countSdkRetries(counter: 'generateDataKeyCalls' | 'decryptCalls', metadata: { attempts?: number } | undefined) {
    const extra = typeof metadata?.attempts === 'number' ? metadata.attempts - 1 : 0
    if (extra > 0) {
      this.#metrics.increment(counter, extra)
      this.#metrics.increment('retries', extra)
    }
  }

  /** An answer that arrives after close() is wiped, not handed out. */
  #zeroIfClosed(plaintext: Uint8Array | undefined, operation: string): void {
    if (!this.#closed) return
    plaintext?.fill(0)
    throw this.#stopped(operation, undefined)
  }

  #stopped(operation: string, signal: AbortSignal | undefined, cause?: unknown): SqsEnvelopeError {
    if (this.#closed) return new SqsEnvelopeError('CLOSED', `KMS ${operation} was cancelled by close()`, { cause })
    return new SqsEnvelopeError('ABORTED', `KMS ${operation} was aborted`, { cause: signal?.reason ?? cause })
  }
}

/** A failed KMS request on the channel: throttled or error, with the code it classifies as. */
function publishFailedRequest(
  operation: KmsOperation,
  error: unknown,
  signal: AbortSignal | undefined,
  startedAt: number,
): void {
  const failure = classifyKmsError(error, signal)
  publishKmsRequest(operation, failure.throttled ? 'throttled' : 'error', failure.code, performance.now() - startedAt)
}

// The SDK checks base64 with a regular expression, which leaves the last string it matched
// (the plaintext data key of a KMS answer) in RegExp.input, $_, lastMatch and the contexts,
// readable by any code in the process long after the key was zero-filled. A match on a
// constant replaces them.
const BLANK = /(?:)/
function forgetLastMatch(): void {
  BLANK.exec('')
}

// The SDK hands out Uint8Array views; a Buffer over the same memory lets fill(0) reach them.
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}
