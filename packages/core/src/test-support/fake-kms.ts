// A stand-in KMS for unit tests of pure logic (limits, single-flight, retries,
// timers). Integration tests use LocalStack's real KMS.
import { randomBytes } from 'node:crypto'
import { DecryptCommand, GenerateDataKeyCommand, type KMSClient } from '@aws-sdk/client-kms'

export interface FakeKms {
  readonly client: KMSClient
  /** Every plaintext key handed out, to check that they were zero-filled. */
  readonly handedOut: Buffer[]
  readonly calls: { generate: number; decrypt: number; maxInFlight: number }
  /** Errors to throw, in order, before answering normally. */
  readonly failures: unknown[]
  delayMs: number
  /** Length of the plaintext keys handed out (KMS's AES_256 is 32). */
  keyBytes: number
}

export const FAKE_KEY_ARN = 'arn:aws:kms:us-east-1:000000000000:key/11111111-2222-3333-4444-555555555555'

/** A KmsGateway policy for unit tests: a few slots, a few attempts, 1 ms backoffs. */
export const FAST_KMS_POLICY = {
  kmsConcurrency: 4,
  kmsMaxAttempts: 3,
  kmsRetryBaseDelayMs: 1,
  kmsRetryMaxDelayMs: 1,
  requestTimeoutMs: 10_000,
} as const

export function awsError(name: string, httpStatusCode = 400): Error {
  return Object.assign(new Error(`${name} from fake KMS`), { name, $metadata: { httpStatusCode } })
}

export function fakeKms(): FakeKms {
  const keys = new Map<string, Buffer>()
  let inFlight = 0
  const fake: FakeKms = {
    handedOut: [],
    calls: { generate: 0, decrypt: 0, maxInFlight: 0 },
    failures: [],
    delayMs: 1,
    keyBytes: 32,
    client: {
      send: async (command: unknown, options?: { abortSignal?: AbortSignal }) => {
        inFlight++
        fake.calls.maxInFlight = Math.max(fake.calls.maxInFlight, inFlight)
        try {
          await new Promise((resolve) => setTimeout(resolve, fake.delayMs))
          if (options?.abortSignal?.aborted) throw Object.assign(new Error('aborted'), { name: 'AbortError' })
          if (command instanceof GenerateDataKeyCommand) fake.calls.generate++
          if (command instanceof DecryptCommand) fake.calls.decrypt++
          const failure = fake.failures.shift()
          if (failure) throw failure
          if (command instanceof GenerateDataKeyCommand) {
            const plaintext = randomBytes(fake.keyBytes)
            const blob = randomBytes(48)
            keys.set(blob.toString('hex'), Buffer.from(plaintext))
            fake.handedOut.push(plaintext)
            return { Plaintext: plaintext, CiphertextBlob: blob, KeyId: FAKE_KEY_ARN }
          }
          if (command instanceof DecryptCommand) {
            const known = keys.get(Buffer.from(command.input.CiphertextBlob ?? []).toString('hex'))
            if (!known) throw awsError('InvalidCiphertextException')
            const plaintext = Buffer.from(known)
            fake.handedOut.push(plaintext)
            return { Plaintext: plaintext, KeyId: FAKE_KEY_ARN }
          }
          throw new Error('unexpected command')
        } finally {
          inFlight--
        }
      },
      destroy: () => {},
    } as unknown as KMSClient,
  }
  return fake
}
