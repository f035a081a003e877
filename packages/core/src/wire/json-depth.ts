/*
 * A JSON validator that builds nothing: parseBody runs it on any body not in our exact layout, so that
 * deep nesting (a megabyte of `[[[…`) costs a few linear passes instead of a JSON.parse.
 */

const OPEN_OBJECT = 0x7b
const CLOSE_OBJECT = 0x7d
const OPEN_ARRAY = 0x5b
const CLOSE_ARRAY = 0x5d
const QUOTE = 0x22
const BACKSLASH = 0x5c
const COLON = 0x3a
const COMMA = 0x2c

function skipWhitespace(text: string, i: number): number {
  for (;;) {
    const c = text.charCodeAt(i)
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return i
    i++
  }
}

function isHexDigit(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66)
}

/** The index after the JSON string starting at `i`, or -1. */
function skipString(text: string, i: number): number {
  if (text.charCodeAt(i) !== QUOTE) return -1
  for (i++; ; i++) {
    const c = text.charCodeAt(i)
    if (c === QUOTE) return i + 1
    if (Number.isNaN(c) || c < 0x20) return -1
    if (c === BACKSLASH) {
      const escaped = text.charCodeAt(++i)
      if (escaped === 0x75) {
        for (let k = 1; k <= 4; k++) if (!isHexDigit(text.charCodeAt(i + k))) return -1
        i += 4
      } else if ('"\\/bfnrt'.indexOf(String.fromCharCode(escaped)) < 0 || Number.isNaN(escaped)) {
        return -1
      }
    }
  }
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39
}

function skipDigits(text: string, i: number): number {
  while (isDigit(text.charCodeAt(i))) i++
  return i
}

/** The index after the JSON number starting at `i`, or -1. */
function skipNumber(text: string, i: number): number {
  if (text.charCodeAt(i) === 0x2d) i++
  const first = text.charCodeAt(i)
  if (first === 0x30) i++
  else if (isDigit(first)) i = skipDigits(text, i)
  else return -1
  if (text.charCodeAt(i) === 0x2e) {
    if (!isDigit(text.charCodeAt(i + 1))) return -1
    i = skipDigits(text, i + 1)
  }
  const e = text.charCodeAt(i)
  if (e === 0x65 || e === 0x45) {
    i++
    const sign = text.charCodeAt(i)
    if (sign === 0x2b || sign === 0x2d) i++
    if (!isDigit(text.charCodeAt(i))) return -1
    i = skipDigits(text, i)
  }
  return i
}

/** The index after `name: ` of an object member starting at `i`, or -1. */
function skipMemberName(text: string, i: number): number {
  i = skipString(text, skipWhitespace(text, i))
  if (i < 0) return -1
  i = skipWhitespace(text, i)
  return text.charCodeAt(i) === COLON ? i + 1 : -1
}

// Runs of brackets are the costly case (a megabyte of `[[[…`); a sticky regular expression
// measures a run in native code, several times faster than a character loop.
const RUN_OF_OPENERS = /\[+/y
const RUN_OF_CLOSERS = /\]+/y
// The same for objects: a run of one repeated member opener (`{"a":{"a":…`, whitespace allowed, a
// name without escapes; `\1` repeats what the group matched) and a run of `}`. Runs of different
// member names take the character loop.
// biome-ignore lint/suspicious/noControlCharactersInRegex: a JSON string holds no unescaped control character.
const RUN_OF_MEMBER_OPENERS = /(\{[ \t\n\r]*"[^"\\\x00-\x1f]*"[ \t\n\r]*:[ \t\n\r]*)\1*/y
const RUN_OF_OBJECT_CLOSERS = /\}+/y

function runLength(run: RegExp, text: string, i: number): number {
  run.lastIndex = i
  return run.test(text) ? run.lastIndex - i : 0
}

// Above any depth or run length in a text of up to 2^26 characters (parseBody reads at most 2^20),
// with end × RUN_SCALE + length still an exact number.
const RUN_SCALE = 2 ** 26

/** Whether `text` repeats its characters from `start` to `end` right after `end`. */
function isRepeated(text: string, start: number, end: number): boolean {
  for (let k = 0; k < end - start; k++) if (text.charCodeAt(start + k) !== text.charCodeAt(end + k)) return false
  return true
}

/**
 * The deepest nesting of `text` if it is JSON as `JSON.parse` accepts it
 * (RFC 8259), or -1. Builds no values and uses no recursion: only the depths
 * of open objects are kept (as runs of consecutive depths), so a megabyte of
 * `[[[…` or `{"a":{"a":…` costs a few linear passes, not a parse. For texts of
 * up to 2^26 characters.
 */
export function jsonDepth(text: string): number {
  const length = text.length
  // Open objects as runs of consecutive depths: the innermost run ends at depth innermostObject
  // and is innermostRun levels deep; the levels above it are arrays. Enclosing runs are on
  // `runs` as end × RUN_SCALE + length, innermost last (one number each: a stack of doubles).
  const runs: number[] = []
  let innermostObject = 0
  let innermostRun = 0
  let depth = 0
  let maxDepth = 0
  let i = 0
  for (;;) {
    // A value starts here.
    i = skipWhitespace(text, i)
    let c = text.charCodeAt(i)
    let empty = false
    while (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (c === OPEN_ARRAY) {
        const run = runLength(RUN_OF_OPENERS, text, i)
        depth += run
        i = skipWhitespace(text, i + run)
        if (depth > maxDepth) maxDepth = depth
        if (text.charCodeAt(i) === CLOSE_ARRAY) {
          // `[]` is a whole value.
          depth--
          i++
          empty = true
          break
        }
      } else {
        const start = i
        depth++
        if (depth > maxDepth) maxDepth = depth
        i = skipWhitespace(text, i + 1)
        if (text.charCodeAt(i) === CLOSE_OBJECT) {
          // `{}` is a whole value.
          depth--
          i++
          empty = true
          break
        }
        if (innermostRun > 0 && innermostObject === depth - 1) {
          innermostRun++
        } else {
          runs.push(innermostObject * RUN_SCALE + innermostRun)
          innermostRun = 1
        }
        innermostObject = depth
        i = skipMemberName(text, i)
        if (i < 0) return -1
        i = skipWhitespace(text, i)
        if (text.charCodeAt(i) === OPEN_OBJECT && isRepeated(text, start, i)) {
          // Copies of this member opener (`{"a":{"a":…`), all at once. The expression's first
          // copy is the one just read (both take all whitespace), so the run is whole copies of it.
          const unit = i - start
          const more = runLength(RUN_OF_MEMBER_OPENERS, text, start) / unit - 1
          if (more > 0) {
            depth += more
            if (depth > maxDepth) maxDepth = depth
            innermostRun += more
            innermostObject = depth
            i += more * unit
          }
        }
      }
      c = text.charCodeAt(i)
    }
    if (!empty) {
      if (c === QUOTE) i = skipString(text, i)
      else if (c === 0x74) i = text.startsWith('true', i) ? i + 4 : -1
      else if (c === 0x66) i = text.startsWith('false', i) ? i + 5 : -1
      else if (c === 0x6e) i = text.startsWith('null', i) ? i + 4 : -1
      else i = skipNumber(text, i)
      if (i < 0) return -1
    }
    // A value ended: close containers until one continues with a comma, or the text ends.
    for (;;) {
      i = skipWhitespace(text, i)
      if (depth === 0) return i === length ? maxDepth : -1
      const next = text.charCodeAt(i)
      const inObject = depth === innermostObject
      if (next === CLOSE_ARRAY && !inObject) {
        // Close as many arrays as the run has, down to the innermost object at most.
        const run = Math.min(runLength(RUN_OF_CLOSERS, text, i), depth - innermostObject)
        depth -= run
        i += run
        continue
      }
      if (next === CLOSE_OBJECT && inObject) {
        // Close as many objects as the run of `}` has, down to the end of the innermost run of objects.
        const run = Math.min(runLength(RUN_OF_OBJECT_CLOSERS, text, i), innermostRun)
        depth -= run
        i += run
        innermostRun -= run
        innermostObject -= run
        if (innermostRun === 0) {
          const enclosing = runs.pop() ?? 0
          innermostObject = Math.floor(enclosing / RUN_SCALE)
          innermostRun = enclosing % RUN_SCALE
        }
        continue
      }
      if (next !== COMMA) return -1
      i = inObject ? skipMemberName(text, i + 1) : i + 1
      if (i < 0) return -1
      break
    }
  }
}

/** Whether `text`, already accepted by {@link jsonDepth}, is a JSON object. */
export function isJsonObject(text: string): boolean {
  return text.charCodeAt(skipWhitespace(text, 0)) === OPEN_OBJECT
}
