// The `sqs-envelope` command; bin/sqs-envelope.js starts it.
import { CommanderError } from 'commander'
import { CommandFailure, describeError, EXIT } from './common.ts'
import { createProgram, type Outcome } from './program.ts'

// A closed stdout (EPIPE) reaches the writes that failed (see writeLine); it must not crash the process.
process.stdout.on('error', () => {})

const outcome: Outcome = { exitCode: EXIT.ok }
try {
  await createProgram(outcome).parseAsync(process.argv)
  process.exitCode = outcome.exitCode
} catch (error) {
  if (error instanceof CommanderError) {
    // Help and version print and exit 0; every other parser error is a usage error.
    process.exitCode = error.exitCode === 0 ? EXIT.ok : EXIT.usage
  } else if (error instanceof CommandFailure) {
    process.stderr.write(`sqs-envelope: ${error.message}\n`)
    process.exitCode = error.exitCode
  } else {
    process.stderr.write(`sqs-envelope: ${describeError(error)}\n`)
    process.exitCode = EXIT.failed
  }
}
