import type { KMSClient } from '@aws-sdk/client-kms'
import { SqsEnvelopeError } from './errors.ts'
import { kmsClientFor } from './kms/client.ts'
import { KmsGateway } from './kms/gateway.ts'
import { MetricsRecorder } from './metrics.ts'
import type { ResolvedKmsOptions } from './options.ts'

/** Where a sealer or an opener keeps its data keys (the pool, the cache). */
export interface KeyStore {
  /** Zero-fills every key held and refuses further use with {@link closedError}. */
  close(): void
}

/** The CLOSED error of a sealer or an opener used after close(). */
export function closedError(owner: 'sealer' | 'opener'): SqsEnvelopeError {
  return new SqsEnvelopeError('CLOSED', `the ${owner} is closed`)
}

const CLOSED: Promise<void> = Promise.resolve()

/**
 * What EnvelopeSealer and EnvelopeOpener own from construction to close(): the KMS client
 * (built from the options, or injected), the one gateway to it, the metrics and the key
 * store. close() does all its work at once, synchronously (zero-fills the keys, stops KMS
 * traffic, destroys the client if we built it, never an injected one), so a caller that does
 * not await it is safe too; it is idempotent.
 */
export class KmsResources<Keys extends KeyStore> {
  readonly gateway: KmsGateway
  readonly metrics = new MetricsRecorder()
  readonly keys: Keys
  readonly #kms: KMSClient
  readonly #ownsKms: boolean
  #closed = false

  constructor(options: ResolvedKmsOptions, keys: (gateway: KmsGateway, metrics: MetricsRecorder) => Keys) {
    const { kms, owned } = kmsClientFor(options)
    this.#kms = kms
    this.#ownsKms = owned
    this.gateway = new KmsGateway(kms, options, this.metrics, owned)
    this.keys = keys(this.gateway, this.metrics)
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true
      this.keys.close()
      this.gateway.close()
      if (this.#ownsKms) this.#kms.destroy()
    }
    return CLOSED
  }
}
