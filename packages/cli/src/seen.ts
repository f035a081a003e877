import type { Message } from '@aws-sdk/client-sqs'

/** What became of a message the first time this call received it: a repeat gets the same. */
export type Fate = 'delete' | 'release'

/**
 * The messages one `receive` call has received, by id. A message can come back within one call
 * (`--visibility-timeout 0`, or a visibility shorter than the call): it is printed once, and its
 * later receipts are deleted or released as its first one was.
 */
export class SeenMessages {
  readonly #fates = new Map<string, Fate>()

  /** Splits a batch into messages new to this call and repeats; the new ones count as seen (released until settled). */
  split(messages: readonly Message[]): { fresh: Message[]; repeats: Message[] } {
    const fresh: Message[] = []
    const repeats: Message[] = []
    for (const message of messages) {
      const id = message.MessageId ?? ''
      if (this.#fates.has(id)) {
        repeats.push(message)
        continue
      }
      this.#fates.set(id, 'release')
      fresh.push(message)
    }
    return { fresh, repeats }
  }

  /** Records what became of a new message. */
  settle(message: Message, fate: Fate): void {
    this.#fates.set(message.MessageId ?? '', fate)
  }

  /** What to do with a repeat: as with its first receipt. */
  fateOf(message: Message): Fate {
    return this.#fates.get(message.MessageId ?? '') ?? 'release'
  }
}
