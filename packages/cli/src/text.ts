import { SqsEnvelopeError } from '@sqs-envelope/core'
import { CommandFailure, EXIT } from './common.ts'

// Fatal: invalid UTF-8 (including encoded lone surrogates) is refused, never replaced by U+FFFD.
// ignoreBOM keeps a leading BOM in the text, as Buffer#toString and readline did.
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

const LF = 0x0a
const CR = 0x0d

/** Input that is not UTF-8 text: refused (exit 2), never sent with U+FFFD in place of what it held. */
export class NotUtf8 extends CommandFailure {
  /** `where` names the input: "stdin", "line 3 of jobs.txt". */
  readonly where: string
  constructor(where: string, consequence = 'nothing was sent') {
    const error = new SqsEnvelopeError('PAYLOAD_INVALID', `${where} is not valid UTF-8 text`)
    super(`${error.code}: ${error.message}; ${consequence}`, EXIT.usage, { cause: error })
    this.name = 'NotUtf8'
    this.where = where
  }
}

/** Decodes UTF-8 strictly; `where` names the input in the error. */
export function decodeUtf8(bytes: Uint8Array, where: string): string {
  try {
    return decoder.decode(bytes)
  } catch {
    throw new NotUtf8(where)
  }
}

/** All of a stream's bytes. */
export async function readBytes(stream: AsyncIterable<Buffer | string>): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk)
  return Buffer.concat(chunks)
}

/**
 * The lines of a stream, each decoded strictly; line breaks are LF, CRLF or a lone CR (as
 * readline's). `name` names the input in the error ("line 3 of jobs.txt is not valid UTF-8 text").
 */
export async function* utf8Lines(stream: AsyncIterable<Buffer | string>, name: string): AsyncGenerator<string> {
  let pending: Buffer[] = []
  let number = 0
  let afterCr = false
  const line = (last: Buffer) => {
    number++
    const bytes = pending.length === 0 ? last : Buffer.concat([...pending, last])
    pending = []
    return decodeUtf8(bytes, `line ${number} of ${name}`)
  }
  for await (const chunk of stream) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
    // A CRLF split across two chunks is one break.
    let start = afterCr && bytes[0] === LF ? 1 : 0
    afterCr = false
    for (let i = start; i < bytes.length; i++) {
      const byte = bytes[i]
      if (byte !== LF && byte !== CR) continue
      yield line(bytes.subarray(start, i))
      if (byte === CR) {
        if (i + 1 === bytes.length) afterCr = true
        else if (bytes[i + 1] === LF) i++
      }
      start = i + 1
    }
    if (start < bytes.length) pending.push(bytes.subarray(start))
  }
  if (pending.length > 0) yield line(Buffer.alloc(0))
}
