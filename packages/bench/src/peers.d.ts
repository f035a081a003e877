// The `fernet` package (0.4) ships no types; only what the crypto suite calls.
declare module 'fernet' {
  export class Secret {
    constructor(base64Key: string)
  }
  export class Token {
    constructor(options: { secret: Secret; token?: string; ttl?: number })
    encode(message: string): string
    decode(): string
  }
}
