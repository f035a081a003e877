/** Counters of KMS traffic and key-cache behaviour. Read them at any time with `metrics()`. */
export interface KmsMetrics {
  /**
   * GenerateDataKey requests sent to KMS (each attempt, retries included, also those an
   * injected client retried itself). Calls released from the limiter's queue by an abort or
   * close() were never sent and are not counted.
   */
  readonly generateDataKeyCalls: number
  /** Decrypt requests sent to KMS, counted like `generateDataKeyCalls`. */
  readonly decryptCalls: number
  /** Seals or opens served by a cached data key. */
  readonly cacheHits: number
  /** Seals or opens that needed a new data key from KMS. */
  readonly cacheMisses: number
  /** Callers that waited on a KMS call another caller had already started for the same key. */
  readonly singleFlightJoins: number
  /** KMS answers that were throttling errors. */
  readonly throttles: number
  /** KMS requests sent again after a transient failure. */
  readonly retries: number
  /** Plaintext data keys zero-filled and dropped (age, use limits, LRU, TTL or close). */
  readonly keysEvicted: number
  /** Opens refused at once, with no Decrypt, because KMS had refused the same data key for good. */
  readonly failedDataKeyCacheHits: number
}

type Counter = keyof KmsMetrics

/** Mutable counters behind a read-only snapshot; one per sealer or opener. */
export class MetricsRecorder {
  readonly #counts: { -readonly [K in Counter]: number } = {
    generateDataKeyCalls: 0,
    decryptCalls: 0,
    cacheHits: 0,
    cacheMisses: 0,
    singleFlightJoins: 0,
    throttles: 0,
    retries: 0,
    keysEvicted: 0,
    failedDataKeyCacheHits: 0,
  }

  increment(counter: Counter, by = 1): void {
    this.#counts[counter] += by
  }

  snapshot(): KmsMetrics {
    return Object.freeze({ ...this.#counts })
  }
}
