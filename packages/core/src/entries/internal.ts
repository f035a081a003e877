// `@sqs-envelope/core/internal` (@internal): what the other sqs-envelope packages share (producer,
// consumer, CLI), so that each policy is written once. Not public API: it may change in any
// release, and no README documents it.
export { abortedWaiting, delay, requestSignal, untilAborted } from '../internal/abort.ts'
export { type AwsClientOptions, clientFor, createAwsClient, USER_AGENT } from '../internal/aws-client.ts'
export { type BackoffPolicy, type BackoffSecondsPolicy, backoffMs, backoffSeconds } from '../internal/backoff.ts'
export { channelMetrics, type MetricsOptions } from '../internal/channel-metrics.ts'
export { type OpenVerdict, openFailure, SUSPECT_CODES } from '../internal/open-verdict.ts'
export {
  booleanOption,
  contentTypeOption,
  integerOption,
  invalidOption,
  MAX_TIMER_MS,
  timerOption,
} from '../internal/option-checks.ts'
export { queueUrlOption } from '../internal/queue-url.ts'
export { sqsClientConfig } from '../internal/sqs-client.ts'
export {
  fromTraceparent,
  fromXrayHeader,
  type TraceIds,
  toTraceparent,
  toXrayHeader,
} from '../internal/trace-header.ts'
export {
  AWS_TRACE_HEADER,
  carriedContext,
  type Destination,
  errorType,
  loadOtelApi,
  MessagingTracer,
  messagingTracer,
  type Settlement,
  TRACEPARENT,
  TRACESTATE,
  type TraceSpan,
  type TraceSpanContext,
  type TracingOptions,
} from '../internal/tracing.ts'
export { describeValue } from '../redaction.ts'
