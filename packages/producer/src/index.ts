export { PRODUCER_BATCH_CHANNEL, PRODUCER_SEALED_CHANNEL, type ProducerBatchEvent } from './batch.ts'
export { classifyEntryFailure, classifyRequestFailure, type SendFailureInfo } from './classify.ts'
export type { Job, MessageAttributeValue, MessageFields, ProducerMessage } from './jobs.ts'
export {
  PRODUCER_DEFAULTS,
  type ProducerBaseOptions,
  type ProducerOptions,
  type ProducerSealingOptions,
  type ProducerWithSealerOptions,
} from './options.ts'
export { Producer, type SendOptions } from './producer.ts'
export { type ProducerMetrics, type SendFailed, SendFailure, type SendResult, type SendSuccess } from './results.ts'
