import { JsonRpcCode, jsonRpcErrorBody } from '../errors.js';

/** Each quota is named after the variable that sets it, so a refusal says what to raise. */
export type QuotaName =
  | 'QUOTA_MEMORY_KEYS'
  | 'QUOTA_MEMORY_BYTES'
  | 'QUOTA_SESSIONS_PER_PRINCIPAL'
  | 'QUOTA_STREAMS_PER_PRINCIPAL';

/** Over a quota a caller is refused with 429, like a rate limit, but with no `Retry-After`: waiting alone frees nothing. */
export const QUOTA_EXCEEDED_STATUS = 429;

/** A principal holds as much as it may: nothing was stored or opened. */
export class QuotaExceededError extends Error {
  readonly code = 'QUOTA_EXCEEDED';
  constructor(
    readonly limit: QuotaName,
    readonly max: number,
    message: string,
  ) {
    super(`Quota exceeded (${limit} = ${max}): ${message}`);
    this.name = 'QuotaExceededError';
  }

  /** The JSON-RPC error `data`: what a client or an operator acts on. */
  get data() {
    return { reason: 'quota_exceeded', limit: this.limit, max: this.max };
  }

  toJsonRpcBody() {
    return jsonRpcErrorBody(JsonRpcCode.ServerError, this.message, { data: this.data });
  }

  /** The refusal as a fetch Response, for the Streamable HTTP handlers. */
  toResponse(): Response {
    return Response.json(this.toJsonRpcBody(), { status: QUOTA_EXCEEDED_STATUS });
  }
}
