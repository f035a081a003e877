import {
  ChangeMessageVisibilityBatchCommand,
  type Message,
  type MessageSystemAttributeName,
  ReceiveMessageCommand,
  type ReceiveMessageCommandOutput,
  type SQSClient,
} from '@aws-sdk/client-sqs'
import { Consumer } from 'sqs-consumer'

/**
 * What the runner needs from a receive loop. `sqs-consumer` provides it today (see
 * {@link SqsConsumerPoller}); a native loop could replace it without an API change.
 */
export interface PollerHooks {
  /** Awaited before every receive (breaker, receive backoff); rejects when `signal` aborts. */
  beforeReceive(signal: AbortSignal): Promise<void>
  /** A batch to process; resolves with the messages to delete (in one DeleteMessageBatch). */
  processBatch(messages: Message[]): Promise<Message[]>
  /** These messages were deleted. */
  deleted(message: Message): void
  /** The batch handed to `processBatch` is finished, its delete included. */
  batchDone(): void
  /** A receive returned nothing. */
  empty(): void
  /** A receive answered (`error` undefined) or failed. */
  received(error: unknown, messages: number): void
  /** A failure outside one message (receive, delete, visibility). */
  error(error: Error, messages: readonly Message[] | undefined): void
}

export interface PollerOptions {
  readonly queueUrl: string
  readonly sqs: SQSClient
  readonly batchSize: number
  readonly waitTimeSeconds: number
  readonly visibilityTimeout: number | undefined
  readonly heartbeatInterval: number | undefined
  readonly messageSystemAttributeNames: readonly MessageSystemAttributeName[]
  /** Aborts the pending long poll (and only it) on stop. */
  readonly receiveSignal: AbortSignal
  /** True once stop() was called: a receive answering after that hands its messages back to the queue. */
  readonly stopping: () => boolean
  /** Keeps track of a visibility release started after stop, so that stop can wait for it. */
  readonly track: (chore: Promise<unknown>) => void
}

export interface Poller {
  start(): void
  /** Stops receiving; a pending receive is aborted by `receiveSignal`. In-flight work goes on. */
  stop(): void
  readonly isPolling: boolean
}

function isAbort(error: unknown, signal: AbortSignal): boolean {
  return signal.aborted && error instanceof Error
}

/**
 * A poller on one `sqs-consumer` Consumer in batch mode. The Consumer gets a client whose `send`
 * adds our receive-only abort to ReceiveMessage; deletes and visibility changes use sqs-consumer's
 * own signal, which we never abort, so they complete during stop.
 */
export class SqsConsumerPoller implements Poller {
  readonly #consumer: Consumer

  constructor(options: PollerOptions, hooks: PollerHooks) {
    const { sqs, receiveSignal } = options
    const send = async (command: unknown, sendOptions?: { abortSignal?: AbortSignal }) => {
      if (!(command instanceof ReceiveMessageCommand)) {
        return sqs.send(command as ReceiveMessageCommand, sendOptions as never)
      }
      const abortSignal = sendOptions?.abortSignal
        ? AbortSignal.any([sendOptions.abortSignal, receiveSignal])
        : receiveSignal
      let output: ReceiveMessageCommandOutput
      try {
        output = await sqs.send(command, { abortSignal })
      } catch (error) {
        hooks.received(error, 0)
        throw error
      }
      const messages = output.Messages ?? []
      if (options.stopping() && messages.length > 0) {
        // Received after stop(): no handler may see them; make them visible again at once.
        options.track(
          sqs
            .send(
              new ChangeMessageVisibilityBatchCommand({
                QueueUrl: options.queueUrl,
                Entries: messages.map((m, i) => ({
                  Id: String(i),
                  ReceiptHandle: m.ReceiptHandle,
                  VisibilityTimeout: 0,
                })),
              }),
            )
            .catch((error: unknown) => hooks.error(error as Error, messages)),
        )
        hooks.received(undefined, 0)
        return { ...output, Messages: [] }
      }
      hooks.received(undefined, messages.length)
      return output
    }
    this.#consumer = Consumer.create({
      queueUrl: options.queueUrl,
      sqs: { send } as unknown as SQSClient,
      batchSize: options.batchSize,
      waitTimeSeconds: options.waitTimeSeconds,
      ...(options.visibilityTimeout === undefined ? {} : { visibilityTimeout: options.visibilityTimeout }),
      ...(options.heartbeatInterval === undefined ? {} : { heartbeatInterval: options.heartbeatInterval }),
      messageSystemAttributeNames: [...options.messageSystemAttributeNames],
      // Every attribute: ours to open the message, all of them to quarantine it intact.
      messageAttributeNames: ['All'],
      handleMessageBatch: (messages) => hooks.processBatch(messages),
      preReceiveMessageCallback: () => hooks.beforeReceive(receiveSignal),
      // Our own backoff applies (beforeReceive); sqs-consumer's fixed pauses would add to it.
      pollingWaitTimeMs: 0,
      authenticationErrorTimeout: 0,
      suppressFifoWarning: true,
      strictReturn: true,
    })
    this.#consumer.on('message_processed', (message) => hooks.deleted(message))
    this.#consumer.on('response_processed', () => hooks.batchDone())
    this.#consumer.on('empty', () => hooks.empty())
    this.#consumer.on('error', (error, messages) => {
      if (isAbort(error, receiveSignal)) return
      hooks.error(error, messages === undefined ? undefined : Array.isArray(messages) ? messages : [messages])
    })
    // processing_error / timeout_error are never emitted in batch mode with our handler, which does not throw.
  }

  get isPolling(): boolean {
    return this.#consumer.status.isPolling
  }

  start(): void {
    this.#consumer.start()
  }

  stop(): void {
    this.#consumer.stop()
  }
}
