import { createHmac, createSecretKey, type KeyObject } from 'node:crypto'
import type { ContentType } from '@sqs-envelope/core/wire'

/**
 * Derives FIFO `MessageDeduplicationId`s from plaintext with HMAC-SHA256 under a secret key: equal
 * jobs get equal ids, and without the key nobody can tell from an id what the job was, nor test a
 * guess. An unkeyed hash would let anyone who reads the queue's ids test guesses of small payloads.
 */
export class DeduplicationIds {
  readonly #key: KeyObject

  /** `secret` is copied into a KeyObject; the caller may wipe its own bytes. */
  constructor(secret: Uint8Array) {
    this.#key = createSecretKey(secret)
  }

  /** 64 lowercase hex characters (SQS allows up to 128 printable ASCII). */
  idFor(contentType: ContentType, plaintext: string | Uint8Array): string {
    // The content type is hashed too: the text "1" and the JSON 1 are different jobs.
    return createHmac('sha256', this.#key).update(contentType).update('\u0000').update(plaintext).digest('hex')
  }

  toJSON(): { key: '[redacted]' } {
    return { key: '[redacted]' }
  }
}
