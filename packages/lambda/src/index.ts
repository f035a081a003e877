export { createSqsHandler, type LambdaMetrics, type SqsHandler } from './handler.ts'
export type {
  Context,
  SQSBatchItemFailure,
  SQSBatchResponse,
  SQSEvent,
  SQSMessageAttribute,
  SQSRecord,
  SQSRecordAttributes,
} from './lambda-types.ts'
export { LAMBDA_DEFAULTS, type LambdaHandlerOptions } from './options.ts'
export {
  LAMBDA_CHANNELS,
  LAMBDA_MEASURE_CHANNELS,
  type LambdaChannelEvent,
  type LambdaChannelMessage,
  type LambdaEvents,
  type LambdaTransientEvent,
} from './reporting.ts'
