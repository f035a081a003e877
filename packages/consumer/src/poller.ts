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
 * What the runner needs from a receive loop. `sqs-consumer` provides it by default (see
 * {@link SqsConsumerPoller}); another loop plugs in through the `pollerFactory` option.
 */
export interface PollerHooks {
  /** Awaited before every receive (breaker, receive backoff); rejects when `signal` aborts. */
  beforeReceive(signal: AbortSignal): Promise<void>
  /** A batch to process; resolves with the messages the poller must delete (in one DeleteMessageBatch). */
  processBatch(messages: Message[]): Promise<Message[]>
  /** The poller deleted this message. */
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

/** The signals a poller gives its requests (see the consumer's `requestTimeoutMs` and `stop()`). */
export interface PollerSignals {
  /** Aborted when stop() is called: the pending long poll ends, and no receive starts. */
  readonly receive: AbortSignal
  /** For one ReceiveMessage: `receive`, bounded by the long poll plus the request timeout. */
  receiveRequest(): AbortSignal
  /** For any other request: bounded by the request timeout, aborted when stop() gives up. */
  request(): AbortSignal
}

export interface PollerOptions {
  readonly queueUrl: string
  readonly sqs: SQSClient
  readonly batchSize: number
  readonly waitTimeSeconds: number
  readonly visibilityTimeout: number | undefined
  readonly heartbeatInterval: number | undefined
  readonly messageSystemAttributeNames: readonly MessageSystemAttributeName[]
  /** Per request, in ms; a long poll gets `waitTimeSeconds` more. */
  readonly requestTimeoutMs: number
  readonly signals: PollerSignals
  /** True once stop() was called: a receive answering after that hands its messages back to the queue. */
  readonly stopping: () => boolean
  /** Keeps track of a visibility release started after stop, so that stop can wait for it. */
  readonly track: (chore: Promise<unknown>) => void
}

export interface Poller {
  start(): void
  /** Stops receiving; a pending receive is aborted by `signals.receive`. In-flight work goes on. */
  stop(): void
  readonly isPolling: boolean
}

/** Builds one receive loop for one queue (one per poller). */
export type PollerFactory = (options: PollerOptions, hooks: PollerHooks) => Poller

/** The default {@link PollerFactory}: one `sqs-consumer` Consumer per poller. */
export const defaultPollerFactory: PollerFactory = (options, hooks) => new SqsConsumerPoller(options, hooks)

/** Received after stop(): no handler may see them; make them visible again at once. */
function release(options: PollerOptions, hooks: PollerHooks, messages: Message[]): void {
  const entries = messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0 }))
  const command = new ChangeMessageVisibilityBatchCommand({ QueueUrl: options.queueUrl, Entries: entries })
  options.track(
    options.sqs
      .send(command, { abortSignal: options.signals.request() })
      .catch((error: unknown) => hooks.error(error as Error, messages)),
  )
}

/**
 * The client `sqs-consumer` gets: every request carries our signals instead of sqs-consumer's
 * (which we never abort): ReceiveMessage the receive one, the rest (its deletes and heartbeats)
 * the request one, so that stop() bounds them too.
 */
function pollerClient(options: PollerOptions, hooks: PollerHooks): SQSClient {
  const { sqs, signals } = options
  // The HTTP handler's timeout of a client we built is requestTimeoutMs: a long poll needs more.
  const longPoll = { requestTimeout: options.waitTimeSeconds * 1000 + options.requestTimeoutMs }
  const send = async (command: unknown) => {
    if (!(command instanceof ReceiveMessageCommand)) {
      return sqs.send(command as ReceiveMessageCommand, { abortSignal: signals.request() })
    }
    let output: ReceiveMessageCommandOutput
    try {
      output = await sqs.send(command, { ...longPoll, abortSignal: signals.receiveRequest() })
    } catch (error) {
      hooks.received(error, 0)
      throw error
    }
    const messages = output.Messages ?? []
    if (options.stopping() && messages.length > 0) {
      release(options, hooks, messages)
      hooks.received(undefined, 0)
      return { ...output, Messages: [] }
    }
    hooks.received(undefined, messages.length)
    return output
  }
  return { send } as unknown as SQSClient
}

/**
 * A poller on one `sqs-consumer` Consumer in batch mode, its requests made through
 * {@link pollerClient}.
 */
export class SqsConsumerPoller implements Poller {
  readonly #consumer: Consumer

  constructor(options: PollerOptions, hooks: PollerHooks) {
    const receive = options.signals.receive
    this.#consumer = Consumer.create({
      queueUrl: options.queueUrl,
      sqs: pollerClient(options, hooks),
      batchSize: options.batchSize,
      waitTimeSeconds: options.waitTimeSeconds,
      ...(options.visibilityTimeout === undefined ? {} : { visibilityTimeout: options.visibilityTimeout }),
      ...(options.heartbeatInterval === undefined ? {} : { heartbeatInterval: options.heartbeatInterval }),
      messageSystemAttributeNames: [...options.messageSystemAttributeNames],
      // Every attribute: ours to open the message, all of them to quarantine it intact.
      messageAttributeNames: ['All'],
      handleMessageBatch: (messages) => hooks.processBatch(messages),
      preReceiveMessageCallback: () => hooks.beforeReceive(receive),
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
      // A receive aborted by stop() is no failure.
      if (receive.aborted && error instanceof Error && messages === undefined) return
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
