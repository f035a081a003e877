import { describe, expect, it } from 'vitest'
import { escapeControl, escapeJsonControl } from './escape.ts'

describe('escapeControl (plain receive output)', () => {
  it('returns text without control characters as it is', () => {
    const text = 'ünïcødé "quoted" 🎉'
    expect(escapeControl(text)).toBe(text)
  })

  it('escapes newline, CR, tab and backslash as a JSON string would, so no line can be forged', () => {
    expect(escapeControl('a\nb\r\nc\td\\n')).toBe('a\\nb\\r\\nc\\td\\\\n')
  })

  it('escapes ESC (ANSI sequences), the other C0 controls, DEL and the C1 controls (CSI U+009B) as \\u00XX', () => {
    expect(escapeControl('\u001b[31mred\u001b[0m')).toBe('\\u001b[31mred\\u001b[0m')
    expect(escapeControl('\u0000\u0007\u0008\u000b\u000c\u001f')).toBe('\\u0000\\u0007\\u0008\\u000b\\u000c\\u001f')
    expect(escapeControl('\u007f\u0080\u009b2J\u009f\u00a0')).toBe('\\u007f\\u0080\\u009b2J\\u009f\u00a0')
  })

  it('every C0, DEL and C1 character is escaped, and the escaping is reversible through JSON.parse', () => {
    let all = ''
    for (let code = 0; code < 0xa0; code++) all += String.fromCharCode(code)
    const escaped = escapeControl(all)
    expect(escaped).not.toMatch(/[^\u0020-\u007e]/)
    expect(JSON.parse(`"${escaped.replaceAll('"', '\\"')}"`)).toBe(all)
  })
})

describe('escapeJsonControl (plain output of JSON payloads)', () => {
  it('escapes DEL and C1, which JSON.stringify leaves raw; the JSON keeps its value', () => {
    const value = { s: 'a\u007fb\u009bc\u001bd' }
    const line = escapeJsonControl(JSON.stringify(value))
    expect(line).toBe('{"s":"a\\u007fb\\u009bc\\u001bd"}')
    expect(JSON.parse(line)).toEqual(value)
  })
})
