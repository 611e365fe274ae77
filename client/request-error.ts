/**
 * A request ferry refuses before starting anything, with Nova's error type and the HTTP status the
 * API answers it with. The CLI prints the message alone and exits 1.
 */
export class RequestError extends Error {
  constructor(
    readonly type: string,
    readonly status: 400 | 403 | 404 | 409,
    message: string,
  ) {
    super(message);
    this.name = 'RequestError';
  }
}
