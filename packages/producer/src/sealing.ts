import type { MessageAttributeValue as SdkAttributeValue } from '@aws-sdk/client-sqs'
import type { EncryptionContext, EnvelopeSealer, SqsEnvelopeErrorCode } from '@sqs-envelope/core'
import {
  type Destination,
  type MessagingTracer,
  TRACEPARENT,
  TRACESTATE,
  type TraceSpan,
} from '@sqs-envelope/core/internal'
import { ATTRIBUTE_CONTENT_TYPE, type ContentType, encodeAttributes } from '@sqs-envelope/core/wire'
import type { DeduplicationIds } from './deduplication.ts'
import { MAX_ATTRIBUTES, type PreparedJob, type QueueFacts } from './jobs.ts'
import type { JobTrace, SealedJob, SendRun } from './run.ts'
import { attributesBytes, dataKeyCharsOf, MAX_DATA_KEY_CHARS, MIN_DATA_KEY_CHARS, sealedBodyBytes } from './size.ts'

/** The first job of a send sealed before the others, while the data key's length is unknown. */
export interface FirstSeal {
  readonly job: PreparedJob
  readonly sealed: SealedJob | undefined
}

/** The producer's tracing, when on. */
export interface ProducerTracing {
  readonly tracer: MessagingTracer
  readonly destination: Destination
  /** Also W3C traceparent / tracestate message attributes, where there is room. */
  readonly w3c: boolean
}

interface Refused {
  readonly refused: SqsEnvelopeErrorCode
  readonly message: string
}

/**
 * Seals prepared jobs and measures them as SQS will: the body is fully determined by the
 * plaintext's length and the data key's, so sizes are known before sealing once a seal has shown
 * the data key's length, and checked again exactly after.
 */
export class JobSealing {
  readonly #sealer: EnvelopeSealer
  // The sealer's own context when the producer built it. An injected sealer's is not known before
  // it seals: sizes before sealing are then lower bounds, and the exact check comes right after.
  readonly #defaultContext: EncryptionContext | undefined
  readonly #deduplication: DeduplicationIds | undefined
  readonly #tracing: ProducerTracing | undefined
  readonly #contentTypeAttributes = new Map<ContentType, SdkAttributeValue>()
  readonly #envelopeBytes = new Map<ContentType, number>()
  // Base64 characters of the current data key's CiphertextBlob, learnt from the first seal.
  #dataKeyChars: number | undefined

  constructor(
    sealer: EnvelopeSealer,
    defaultContext: EncryptionContext | undefined,
    deduplication: DeduplicationIds | undefined,
    tracing?: ProducerTracing,
  ) {
    this.#sealer = sealer
    this.#defaultContext = defaultContext
    this.#deduplication = deduplication
    this.#tracing = tracing
  }

  /** Refuses a job that cannot fit whatever the data key, before any KMS call; true when it may fit. */
  mayFit(job: PreparedJob, run: SendRun): boolean {
    const atLeast = this.#sizeWith(job, this.#dataKeyChars ?? MIN_DATA_KEY_CHARS)
    if (atLeast <= run.queue.maxMessageBytes) return true
    run.refuse(job, 'MESSAGE_TOO_LARGE', tooLarge(atLeast, run.queue, this.#dataKeyChars === undefined))
    return false
  }

  /**
   * Until the data key's length is known, one job that fits whatever KMS returns is sealed first,
   * so the size check of all the others is exact before their seal.
   */
  async sealFirst(ready: readonly PreparedJob[], run: SendRun): Promise<FirstSeal | undefined> {
    if (this.#dataKeyChars !== undefined || ready.length === 0) return undefined
    const max = run.queue.maxMessageBytes
    const job = ready.find((candidate) => this.#sizeWith(candidate, MAX_DATA_KEY_CHARS) <= max) ?? ready[0]
    return { job: job as PreparedJob, sealed: await this.#sealOne(job as PreparedJob, run, false) }
  }

  /** Seals a window's jobs; the ones refused or failed are reported to `run`. Input order is kept (FIFO needs it). */
  async sealWindow(jobs: readonly PreparedJob[], first: FirstSeal | undefined, run: SendRun): Promise<SealedJob[]> {
    const sealed = await Promise.all(
      jobs.map((job) => (job === first?.job ? first.sealed : this.#sealOne(job, run, true))),
    )
    return sealed.filter((out): out is SealedJob => out !== undefined)
  }

  async #sealOne(job: PreparedJob, run: SendRun, checkFirst: boolean): Promise<SealedJob | undefined> {
    if (checkFirst && this.#dataKeyChars !== undefined) {
      const size = this.#sizeWith(job, this.#dataKeyChars)
      if (size > run.queue.maxMessageBytes) {
        run.refuse(job, 'MESSAGE_TOO_LARGE', tooLarge(size, run.queue, false))
        return undefined
      }
    }
    if (this.#tracing !== undefined) return this.#sealTraced(this.#tracing, job, run)
    try {
      const out = await this.#seal(job, run, undefined)
      if (!('refused' in out)) return out
      run.refuse(job, out.refused, out.message)
    } catch (error) {
      run.sealFailed(job, error)
    }
    return undefined
  }

  /** Sealing under a create span, active while the sealer runs (so a KMS call's span is its child). */
  async #sealTraced(tracing: ProducerTracing, job: PreparedJob, run: SendRun): Promise<SealedJob | undefined> {
    const span = tracing.tracer.create(tracing.destination)
    try {
      const out = await tracing.tracer.inSpan(span, () => this.#seal(job, run, span))
      if (!('refused' in out)) return out
      tracing.tracer.failedWith(span, out.refused)
      run.refuse(job, out.refused, out.message)
    } catch (error) {
      tracing.tracer.failed(span, error)
      run.sealFailed(job, error)
    } finally {
      span.end()
    }
    return undefined
  }

  /** Seals one job, and measures it exactly: a refusal when the sealed message breaks a limit. */
  async #seal(job: PreparedJob, run: SendRun, span: TraceSpan | undefined): Promise<SealedJob | Refused> {
    // A json payload is already a JSON string: sealed as text (the same bytes), then labelled json,
    // so it is not stringified twice.
    const { body, messageAttributes } = await this.#sealer.seal(job.plaintext, {
      contentType: job.contentType === 'json' ? 'text' : job.contentType,
      ...(job.encryptionContext === undefined ? {} : { encryptionContext: job.encryptionContext }),
      ...(run.signal === undefined ? {} : { signal: run.signal }),
    })
    this.#dataKeyChars = dataKeyCharsOf(body, job.plaintextBytes)
    const attributes: Record<string, SdkAttributeValue> = messageAttributes
    if (job.contentType === 'json') attributes[ATTRIBUTE_CONTENT_TYPE] = this.#contentTypeAttribute('json')
    if (job.messageAttributes) Object.assign(attributes, job.messageAttributes)
    // The envelope's own attributes (at most 3) stay under the limit: count only when the job adds some.
    if (job.messageAttributes && Object.keys(attributes).length > MAX_ATTRIBUTES) {
      return { refused: 'TOO_MANY_ATTRIBUTES', message: tooManyAttributes() }
    }
    // The body is ASCII (base64 and JSON punctuation): its length is its UTF-8 size.
    let bytes = body.length + attributesBytes(attributes)
    if (bytes > run.queue.maxMessageBytes) {
      return { refused: 'MESSAGE_TOO_LARGE', message: tooLarge(bytes, run.queue, false) }
    }
    const trace = span === undefined ? undefined : this.#traceOf(span)
    if (span !== undefined && this.#tracing?.w3c)
      bytes += this.#addW3c(span, attributes, run.queue.maxMessageBytes - bytes)
    return { job, body, attributes, bytes, deduplicationId: this.#deduplicationId(job, run), trace }
  }

  #traceOf(span: TraceSpan): JobTrace {
    return { context: span.spanContext(), header: this.#tracing?.tracer.xrayHeader(span) }
  }

  /**
   * Adds W3C traceparent (and tracestate) attributes when they fit under the 10 attributes and
   * within `room` bytes, and the job has none of its own; returns the bytes added.
   */
  #addW3c(span: TraceSpan, attributes: Record<string, SdkAttributeValue>, room: number): number {
    const { traceparent, tracestate } = (this.#tracing as ProducerTracing).tracer.w3c(span)
    if (traceparent === undefined || TRACEPARENT in attributes || TRACESTATE in attributes) return 0
    const extra: Record<string, SdkAttributeValue> = { [TRACEPARENT]: { DataType: 'String', StringValue: traceparent } }
    if (tracestate !== undefined) extra[TRACESTATE] = { DataType: 'String', StringValue: tracestate }
    const added = attributesBytes(extra)
    if (Object.keys(attributes).length + Object.keys(extra).length > MAX_ATTRIBUTES || added > room) return 0
    Object.assign(attributes, extra)
    return added
  }

  #deduplicationId(job: PreparedJob, run: SendRun): string | undefined {
    if (job.deduplicationId !== undefined) return job.deduplicationId
    return run.queue.fifo && run.contentBased ? this.#deduplication?.idFor(job.contentType, job.plaintext) : undefined
  }

  /** Exact size of a job once sealed under a data key of `dataKeyChars`; a lower bound when the context is unknown. */
  #sizeWith(job: PreparedJob, dataKeyChars: number): number {
    return sealedBodyBytes(job.plaintextBytes, dataKeyChars) + job.attributeBytes + this.#envelopeAttributeBytes(job)
  }

  /** The envelope's attributes: measured once per job under its own context, once per content type under the producer's. */
  #envelopeAttributeBytes(job: PreparedJob): number {
    if (job.contextAttributeBytes !== undefined) return job.contextAttributeBytes
    let bytes = this.#envelopeBytes.get(job.contentType)
    if (bytes === undefined) {
      const context = this.#defaultContext
      bytes = attributesBytes(
        encodeAttributes(
          context ? { contentType: job.contentType, encryptionContext: context } : { contentType: job.contentType },
        ),
      )
      this.#envelopeBytes.set(job.contentType, bytes)
    }
    return bytes
  }

  #contentTypeAttribute(contentType: ContentType): SdkAttributeValue {
    let attribute = this.#contentTypeAttributes.get(contentType)
    if (attribute === undefined) {
      attribute = encodeAttributes({ contentType })[ATTRIBUTE_CONTENT_TYPE] as SdkAttributeValue
      this.#contentTypeAttributes.set(contentType, attribute)
    }
    return attribute
  }
}

function tooLarge(bytes: number, queue: QueueFacts, lowerBound: boolean): string {
  return `the sealed message would be ${lowerBound ? 'at least ' : ''}${bytes} bytes with its attributes; the queue's MaximumMessageSize is ${queue.maxMessageBytes}`
}

function tooManyAttributes(): string {
  return `a message may have ${MAX_ATTRIBUTES} attributes, counting those the envelope adds (2, or 3 with an encryption context)`
}
