/** A request the webhook cannot answer; carries its HTTP status (STYLE: typed errors, one mapping). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export class BadRequestError extends HttpError {
  override readonly name = 'BadRequestError';
  constructor(message: string) {
    super(400, message);
  }
}

export class PayloadTooLargeError extends HttpError {
  override readonly name = 'PayloadTooLargeError';
  constructor(limit: number) {
    super(413, `request body is larger than the ${limit}-byte limit`);
  }
}

/**
 * The body does not fit in what is left of the in-flight budget (server/limits.ts): answered at
 * once with Retry-After, before the body is buffered. The API server does not retry it; the
 * webhook's failurePolicy decides.
 */
export class TooManyRequestsError extends HttpError {
  override readonly name = 'TooManyRequestsError';
  constructor(readonly retryAfterSeconds: number) {
    super(429, 'too many review bytes in flight; retry shortly');
  }
}

/** A compressed body: the API server never compresses a review, and inflating one is a bomb's way in. */
export class UnsupportedEncodingError extends HttpError {
  override readonly name = 'UnsupportedEncodingError';
  constructor(encoding: string) {
    super(415, `content-encoding ${encoding} is not accepted; send the AdmissionReview uncompressed`);
  }
}
