import { Buffer } from 'node:buffer'
import { BEYOND_LATIN1 } from './base64.ts'
import { SqsEnvelopeError } from './errors.ts'
import { type AttributeFields, type KnownContext, type ReceivedAttributes, readAttributes } from './wire/attributes.ts'
import { type BodyFields, type KnownDataKey, readBody } from './wire/body.ts'

// Tokens up to this size (a job of about 64 KiB) are decoded into the reader's scratch buffer.
const TOKEN_SCRATCH_BYTES = 65_536 + 1024

/**
 * The opener's per-message reading, with what makes it cheap: messages come in runs sealed
 * under one data key and one encryption context, so the last of each is kept and a message
 * that repeats it is not decoded, parsed or checked again; tokens are decoded into one
 * scratch buffer (no allocation per message). Same checks, order and errors as
 * {@link readBody} and {@link readAttributes}.
 */
export class MessageReader {
  // The data key of the last body read, as text and blob.
  #lastDataKey: KnownDataKey | undefined
  // The encryption context of the last message that had one, as text and frozen object.
  #lastContext: KnownContext | undefined
  // Ciphertext only: nothing in it is secret.
  readonly #scratch = Buffer.allocUnsafeSlow(TOKEN_SCRATCH_BYTES)

  /**
   * The body's fields. `tokenBytes` may be a view of the scratch buffer, valid until the next
   * call: use it before then, or keep {@link ownTokenBytes} of it.
   */
  body(body: string | undefined): BodyFields {
    if (typeof body !== 'string') throw new SqsEnvelopeError('BODY_SHAPE', 'the SQS message has no body')
    return readBody(body, this.#lastDataKey, this.#scratch)
  }

  /** The data key of `body` (just read) as text and blob: the same object for a run of messages. */
  dataKey(body: BodyFields): KnownDataKey {
    const last = this.#lastDataKey
    if (last !== undefined && body.encryptedDataKey === last.blob) return last
    // A copy of the text, since a slice would keep the whole body alive; the cache keeps it too.
    const dataKey = { text: ownCopy(body.dataKeyText), blob: body.encryptedDataKey }
    this.#lastDataKey = dataKey
    return dataKey
  }

  /** Our attributes; the context is frozen, and the same object for a run of messages. */
  attributes(attributes: ReceivedAttributes | undefined): AttributeFields {
    const fields = readAttributes(attributes, this.#lastContext, true)
    const { encryptionContext, contextText } = fields
    if (encryptionContext !== undefined && encryptionContext !== this.#lastContext?.context) {
      // Its cache id is built once too. A copy of the text, since the attribute value may share
      // memory with a larger response.
      this.#lastContext = { text: ownCopy(contextText as string), context: encryptionContext }
    }
    return fields
  }

  /** `tokenBytes` out of the scratch buffer, for a token that waits (for KMS) while others are read. */
  ownTokenBytes(tokenBytes: Buffer): Buffer {
    return tokenBytes.buffer === this.#scratch.buffer ? Buffer.from(tokenBytes) : tokenBytes
  }
}

// A string that shares no memory with a larger one: V8's JSON.parse returns slices of the response
// text, and one kept here would keep a whole response alive. Both encodings copy code units as they are.
function ownCopy(text: string): string {
  const encoding = BEYOND_LATIN1.test(text) ? 'utf16le' : 'latin1'
  return Buffer.from(text, encoding).toString(encoding)
}
