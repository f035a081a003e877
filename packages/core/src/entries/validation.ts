// `@sqs-envelope/core/validation`: the option checks of the core, for the other sqs-envelope packages
// (producer, consumer, CLI), so that every option error reads alike: it names the option, what it
// accepts and what it received, described without echoing bytes or long strings.
export {
  booleanOption,
  contentTypeOption,
  integerOption,
  invalidOption,
  MAX_TIMER_MS,
  timerOption,
} from '../options.ts'
export { describeValue } from '../redaction.ts'
