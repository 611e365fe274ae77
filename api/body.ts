import type { IncomingMessage } from 'node:http';
import { ApiError, badRequest } from './errors';

/** The largest request body the API reads (Nova's osapi_max_request_body_size is 112 KiB). */
export const MAX_BODY_BYTES = 64 * 1024;

const tooLarge = () =>
  new ApiError(413, `Request is too large: the body must be at most ${MAX_BODY_BYTES} bytes.`);

function readText(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (outcome: () => void) => {
      if (!settled) {
        settled = true;
        outcome();
      }
    };
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) settle(() => reject(tooLarge()));
      else chunks.push(chunk);
    });
    request.on('end', () => settle(() => resolve(Buffer.concat(chunks).toString('utf8'))));
    request.on('error', (error) => settle(() => reject(error)));
  });
}

/**
 * A request's JSON body. Refused: over MAX_BODY_BYTES (413, by Content-Length before reading, or
 * while reading), a Content-Type other than application/json (415; none is taken as JSON), and
 * an empty or unparsable body (400, "Malformed request body").
 */
export async function readJsonBody(request: IncomingMessage): Promise<unknown> {
  if (Number(request.headers['content-length'] ?? 0) > MAX_BODY_BYTES) throw tooLarge();
  const type = request.headers['content-type']?.split(';')[0].trim().toLowerCase();
  if (type !== undefined && type !== '' && type !== 'application/json') {
    throw new ApiError(415, `Unsupported Content-Type ${type}: send application/json.`);
  }
  const text = await readText(request);
  if (text.trim() === '') throw new ApiError(400, 'Malformed request body: the body is empty.');
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new ApiError(400, `Malformed request body: ${(error as Error).message}.`);
  }
}

/**
 * The action an action body names: its one key (Nova's action_peek); 400 "Malformed request
 * body" for anything but an object with exactly one key.
 */
export function actionName(body: unknown): string {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw badRequest('Malformed request body: an action body is a JSON object.');
  }
  const keys = Object.keys(body);
  if (keys.length !== 1) {
    throw badRequest(
      `Malformed request body: an action body has exactly one key, the action (got ${keys.length}).`,
    );
  }
  return keys[0];
}
