import { ServiceError, isGrpcServiceError } from '@temporalio/client';
import { RequestError } from '../client/request-error';

/**
 * The key of Nova's error body for each HTTP status (nova/api/openstack/wsgi.py, Fault): a body is
 * `{"<key>": {"code": <status>, "message": "..."}}`. 413 is the exception: ferry names it after
 * webob's HTTPRequestEntityTooLarge, which is what answers an oversized body in front of Nova
 * (Nova's own table would say overLimit, its quota error).
 */
const FAULT_KEYS: Record<number, string> = {
  400: 'badRequest',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'itemNotFound',
  405: 'badMethod',
  409: 'conflictingRequest',
  413: 'HTTPRequestEntityTooLarge',
  415: 'badMediaType',
  503: 'serviceUnavailable',
};

/** A request the API answers with an error: its status, Nova's message and extra headers. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** Nova's key for this status; computeFault for the rest (406 and 500 among them). */
  get fault(): string {
    return FAULT_KEYS[this.status] ?? 'computeFault';
  }

  body(): Record<string, { code: number; message: string }> {
    return { [this.fault]: { code: this.status, message: this.message } };
  }
}

/** The error a refused operation (RequestError from the start helpers) is answered with. */
export function asApiError(error: unknown): unknown {
  return error instanceof RequestError ? new ApiError(error.status, error.message) : error;
}

/** gRPC's UNAVAILABLE: the Temporal frontend could not be reached. */
const GRPC_UNAVAILABLE = 14;

/** A Temporal frontend that cannot be reached is Nova's serviceUnavailable (503); else null. */
export function temporalUnavailable(error: unknown, address: string): ApiError | null {
  if (
    error instanceof ServiceError &&
    isGrpcServiceError(error.cause) &&
    error.cause.code === GRPC_UNAVAILABLE
  ) {
    return new ApiError(503, `Temporal at ${address} is not available; nothing was done.`);
  }
  return null;
}

export const badRequest = (message: string) => new ApiError(400, message);
export const notFound = (message: string) => new ApiError(404, message);
export const conflict = (message: string) => new ApiError(409, message);

/** Nova's answer for an id or path that names nothing. */
export const NO_RESOURCE = 'The resource could not be found.';
