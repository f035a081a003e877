import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { inspect } from 'node:util'
import { CONSUMER_DIAGNOSTICS_CHANNEL, type ConsumerLogger, type EnvelopeConsumer } from '@sqs-envelope/consumer'

/**
 * Everything a run says about itself — log lines, events (with their errors and causes), diagnostics
 * channel messages, metrics — as text, to search for secrets afterwards.
 */
export class Transcript {
  readonly #parts: string[] = []
  readonly #unsubscribe: Array<() => void> = []

  /** A logger that writes into the transcript. */
  readonly logger: ConsumerLogger = {
    debug: (message, details) => this.add('debug', message, details),
    warn: (message, details) => this.add('warn', message, details),
    error: (message, details) => this.add('error', message, details),
  }

  add(...values: unknown[]): void {
    for (const value of values) {
      if (typeof value === 'string') {
        this.#parts.push(value)
        continue
      }
      // Deep enough for errors, their causes and SDK metadata; not the sockets an SDK error points to.
      this.#parts.push(inspect(value, { depth: 8, maxStringLength: null, maxArrayLength: 1000 }))
      try {
        this.#parts.push(JSON.stringify(value) ?? '')
      } catch {
        // Circular: inspect covered it.
      }
      if (value instanceof Error) this.#parts.push(String(value.stack))
    }
  }

  /** Records every event of `consumer` (all arguments, errors with their causes). */
  watch(consumer: EnvelopeConsumer<unknown>): void {
    const emitter = consumer as unknown as { emit: (name: string, ...args: unknown[]) => boolean }
    const emit = emitter.emit.bind(consumer)
    emitter.emit = (name: string, ...args: unknown[]) => {
      this.add(name, ...args)
      return emit(name, ...args)
    }
  }

  /** Records the consumer diagnostics channel until {@link close}. */
  listenDiagnostics(): void {
    const listener = (message: unknown) => this.add(message)
    subscribe(CONSUMER_DIAGNOSTICS_CHANNEL, listener)
    this.#unsubscribe.push(() => unsubscribe(CONSUMER_DIAGNOSTICS_CHANNEL, listener))
  }

  close(): void {
    for (const fn of this.#unsubscribe.splice(0)) fn()
  }

  /** What was recorded, piece by piece (a long run says more than one string can hold). */
  get parts(): readonly string[] {
    return this.#parts
  }

  get size(): number {
    return this.#parts.length
  }
}

/** `secret` in every encoding it could be leaked in: utf8/latin1 text, hex (both cases), base64, base64url. */
export function encodings(secret: Buffer): string[] {
  const base64 = secret.toString('base64')
  return [
    secret.toString('latin1'),
    secret.toString('hex'),
    secret.toString('hex').toUpperCase(),
    base64,
    base64.replace(/=+$/, ''),
    secret.toString('base64url'),
    `${secret.toString('base64url')}${'='.repeat((4 - (secret.toString('base64url').length % 4)) % 4)}`,
    inspect(secret),
  ]
}

const PREFIX = 8

/**
 * Which secrets appear in `text` in any encoding ([] when none): the marker plaintext and every
 * data key captured (see captureDataKeys in test/support.ts). One pass over the text whatever the
 * number of secrets: candidates are looked up by their first 8 characters.
 */
export function findLeaks(text: string | readonly string[], marker: string, dataKeys: readonly Buffer[]): string[] {
  const byPrefix = new Map<string, Array<{ name: string; encoded: string }>>()
  const secrets: Array<[string, Buffer]> = [['marker', Buffer.from(marker)]]
  for (const [i, key] of dataKeys.entries()) secrets.push([`data key #${i}`, key])
  for (const [name, secret] of secrets) {
    for (const encoded of encodings(secret)) {
      if (encoded.length < PREFIX) continue
      const prefix = encoded.slice(0, PREFIX)
      byPrefix.set(prefix, [...(byPrefix.get(prefix) ?? []), { name, encoded }])
    }
  }
  const found = new Set<string>()
  for (const part of typeof text === 'string' ? [text] : text) {
    for (let i = 0; i + PREFIX <= part.length; i++) {
      const candidates = byPrefix.get(part.slice(i, i + PREFIX))
      if (!candidates) continue
      for (const { name, encoded } of candidates) {
        if (part.startsWith(encoded, i)) found.add(`${name} as ${JSON.stringify(encoded.slice(0, 12))}…`)
      }
    }
  }
  return [...found]
}
