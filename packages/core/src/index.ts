export {
  isPermanentErrorCode,
  isSqsEnvelopeError,
  isTransientErrorCode,
  PERMANENT_ERROR_CODES,
  type PermanentErrorCode,
  SqsEnvelopeError,
  type SqsEnvelopeErrorCode,
  TRANSIENT_ERROR_CODES,
  type TransientErrorCode,
  USAGE_ERROR_CODES,
  type UsageErrorCode,
} from './errors.ts'
