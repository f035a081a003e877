// `@sqs-envelope/core/validation` (@internal, @deprecated): the option checks, now exported by
// `@sqs-envelope/core/internal` (import them from there). This subpath is removed once the
// sibling packages have switched.
export {
  booleanOption,
  contentTypeOption,
  integerOption,
  invalidOption,
  MAX_TIMER_MS,
  timerOption,
} from '../internal/option-checks.ts'
export { describeValue } from '../redaction.ts'
