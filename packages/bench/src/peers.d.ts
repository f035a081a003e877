// The `fernet` package (0.4, CommonJS) ships no types; only what the crypto suite calls.
declare module 'fernet' {
  class Secret {
    constructor(base64Key: string)
  }
  class Token {
    constructor(options: { secret: Secret; token?: string; ttl?: number })
    encode(message: string): string
    decode(): string
  }
  const fernet: { Secret: typeof Secret; Token: typeof Token }
  // biome-ignore lint/style/noDefaultExport: how the CommonJS module.exports of `fernet` is imported
  export default fernet
  export type { Secret, Token }
}
