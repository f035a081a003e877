// Plain `receive` output goes to terminals and line-based tools: a payload must not forge lines
// (newline, CR) nor reach the terminal as control sequences (ESC, C1 such as CSI U+009B).

/** Backslash, C0 controls, DEL and C1 controls: what plain output escapes. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it finds.
const UNSAFE = /[\\\u0000-\u001f\u007f-\u009f]/g
/** DEL and C1 controls, which JSON.stringify leaves raw. */
const UNSAFE_IN_JSON = /[\u007f-\u009f]/g

const SHORT: Readonly<Record<string, string>> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' }

function unicodeEscape(char: string): string {
  return `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`
}

function escapeOne(char: string): string {
  return SHORT[char] ?? unicodeEscape(char)
}

/**
 * Text as one safe line, escaped as inside a JSON string (without the quotes): `\\`, `\n`, `\r`,
 * `\t`, and `\u00XX` for the other C0 controls, DEL and the C1 controls. Reversible; text without
 * any of these is returned as is.
 */
export function escapeControl(text: string): string {
  return text.replace(UNSAFE, escapeOne)
}

/**
 * A line of JSON made terminal-safe: JSON.stringify escapes C0 but not DEL or C1, which can only
 * occur inside strings, where `\u00XX` keeps the JSON valid and its value the same.
 */
export function escapeJsonControl(json: string): string {
  return json.replace(UNSAFE_IN_JSON, unicodeEscape)
}
