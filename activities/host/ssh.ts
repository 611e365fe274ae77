/** SSH to another host: pinned host key, key authentication only, argv-style remote commands. */
import { createHash } from 'node:crypto';
import type { Duplex, Readable } from 'node:stream';
import { Client, type ServerHostKeyAlgorithm, type SFTPWrapper } from 'ssh2';

export interface SshTarget {
  host: string;
  port: number;
  username: string;
  /** OpenSSH or PEM private key. */
  privateKey: Buffer;
  /** The host's stored OpenSSH public key line, e.g. "ssh-ed25519 AAAA...". */
  hostPublicKey: string;
  /** Already connected stream to the peer's sshd, e.g. through a unix socket relay. */
  sock?: Duplex;
  readyTimeoutMs?: number;
}

export class HostKeyMismatchError extends Error {
  override readonly name = 'HostKeyMismatchError';

  constructor(
    readonly host: string,
    readonly expectedFingerprint: string,
    readonly actualFingerprint: string,
  ) {
    super(
      `host key of ${host} is ${actualFingerprint}, expected ${expectedFingerprint}; refusing to connect`,
    );
  }
}

export class InvalidHostPublicKeyError extends Error {
  override readonly name = 'InvalidHostPublicKeyError';

  constructor(
    readonly host: string,
    reason: string,
  ) {
    super(`stored host public key of ${host} is invalid: ${reason}`);
  }
}

export class SshConnectError extends Error {
  override readonly name = 'SshConnectError';

  constructor(
    readonly host: string,
    cause: Error,
  ) {
    super(`ssh to ${host} failed: ${cause.message}`, { cause });
  }
}

export class SshExecError extends Error {
  override readonly name = 'SshExecError';

  constructor(
    readonly argv: readonly string[],
    message: string,
    options?: ErrorOptions,
  ) {
    super(`${argv.join(' ')}: ${message}`, options);
  }
}

export class RemoteCommandError extends Error {
  override readonly name = 'RemoteCommandError';

  constructor(
    readonly argv: readonly string[],
    readonly result: ExecResult,
  ) {
    const status = result.signal === null ? `exit ${result.code}` : `signal ${result.signal}`;
    super(`${argv.join(' ')}: ${status}: ${result.stderr.trim()}`);
  }
}

export interface HostPublicKey {
  type: string;
  blob: Buffer;
}

/** OpenSSH-style fingerprint of a public key blob: "SHA256:" + unpadded base64. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

export function parseHostPublicKey(host: string, line: string): HostPublicKey {
  const [type, base64] = line.trim().split(/\s+/);
  if (type === undefined || base64 === undefined || !/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) {
    throw new InvalidHostPublicKeyError(host, 'expected "<type> <base64>"');
  }
  const blob = Buffer.from(base64, 'base64');
  const typeLength = blob.length >= 4 ? blob.readUInt32BE(0) : -1;
  if (typeLength < 0 || blob.toString('latin1', 4, 4 + typeLength) !== type) {
    throw new InvalidHostPublicKeyError(host, `key blob does not hold a ${type} key`);
  }
  return { type, blob };
}

/** Host key signature algorithms a server holding a key of this type can use. */
function hostKeyAlgorithms(type: string): ServerHostKeyAlgorithm[] {
  return type === 'ssh-rsa'
    ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']
    : [type as ServerHostKeyAlgorithm];
}

/** Opens an authenticated connection; the peer must present exactly the stored host key. */
export function connectSsh(target: SshTarget): Promise<Client> {
  const expected = parseHostPublicKey(target.host, target.hostPublicKey);
  const conn = new Client();
  let mismatch: HostKeyMismatchError | undefined;
  return new Promise<Client>((resolve, reject) => {
    const fail = (error: Error) => {
      conn.removeListener('ready', ready);
      conn.end();
      reject(mismatch ?? new SshConnectError(target.host, error));
    };
    const closed = () => fail(new Error('connection closed during handshake'));
    const ready = () => {
      conn.removeListener('error', fail).removeListener('close', closed);
      // Later connection errors surface as failed channel operations; just drop the connection.
      conn.on('error', () => conn.end());
      resolve(conn);
    };
    conn.once('ready', ready).on('error', fail).once('close', closed);
    conn.connect({
      host: target.host,
      port: target.port,
      username: target.username,
      privateKey: target.privateKey,
      sock: target.sock,
      readyTimeout: target.readyTimeoutMs ?? 20_000,
      authHandler: ['publickey'],
      algorithms: { serverHostKey: hostKeyAlgorithms(expected.type) },
      hostVerifier: (key: Buffer) => {
        if (key.equals(expected.blob)) return true;
        mismatch = new HostKeyMismatchError(
          target.host,
          fingerprint(expected.blob),
          fingerprint(key),
        );
        return false;
      },
    });
  });
}

/** Runs `fn` on a fresh connection and always closes it. */
export async function withSsh<T>(target: SshTarget, fn: (conn: Client) => Promise<T>): Promise<T> {
  const conn = await connectSsh(target);
  try {
    return await fn(conn);
  } finally {
    conn.end();
  }
}

/** Quotes one argument for a POSIX shell (the remote login shell runs the command line). */
export function shellQuote(arg: string): string {
  if (arg.includes('\0')) throw new TypeError('shell argument contains a NUL byte');
  return /^[A-Za-z0-9_@%+:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

export interface ExecOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Piped to the command's stdin; without it, stdin is closed at once. */
  stdin?: Readable;
}

export interface ExecResult {
  /** Exit status, null when the command was killed by a signal or gave none. */
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs argv on the peer and collects its output; a non-zero exit is a result, not an error.
 * A timeout or abort rejects at once and closes the channel, but the remote process may run on:
 * sshd ignores "signal" requests for root sessions.
 */
export function exec(
  conn: Client,
  argv: readonly string[],
  options: ExecOptions = {},
): Promise<ExecResult> {
  if (argv.length === 0) throw new TypeError('exec needs a command');
  const command = argv.map(shellQuote).join(' ');
  const aborted = () => new SshExecError(argv, 'aborted', { cause: options.signal?.reason });
  return new Promise<ExecResult>((resolve, reject) => {
    if (options.signal?.aborted) return reject(aborted());
    conn.exec(command, (err, channel) => {
      if (err) return reject(new SshExecError(argv, err.message, { cause: err }));
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      let code: number | null = null;
      let signal: string | null = null;
      const settle = (error?: Error) => {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        if (error === undefined) {
          const text = (chunks: Buffer[]) => Buffer.concat(chunks).toString('utf8');
          resolve({ code, signal, stdout: text(stdout), stderr: text(stderr) });
        } else {
          reject(error);
          channel.close();
        }
      };
      const onAbort = () => settle(aborted());
      const timer =
        options.timeoutMs === undefined
          ? undefined
          : setTimeout(
              () => settle(new SshExecError(argv, `timed out after ${options.timeoutMs} ms`)),
              options.timeoutMs,
            );
      options.signal?.addEventListener('abort', onAbort, { once: true });
      channel.on('data', (chunk: Buffer) => stdout.push(chunk));
      channel.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
      channel.on('exit', (exitCode: number | null, exitSignal?: string) => {
        code = exitCode;
        signal = exitSignal ?? null;
      });
      channel.on('close', () => settle());
      if (options.stdin === undefined) channel.end();
      else options.stdin.pipe(channel);
    });
  });
}

/** Like `exec`, but a non-zero exit raises RemoteCommandError. */
export async function execChecked(
  conn: Client,
  argv: readonly string[],
  options: ExecOptions = {},
): Promise<ExecResult> {
  const result = await exec(conn, argv, options);
  if (result.code !== 0) throw new RemoteCommandError(argv, result);
  return result;
}

export class SftpError extends Error {
  override readonly name = 'SftpError';

  constructor(
    readonly operation: string,
    readonly path: string,
    cause: Error,
    /** SFTP status code, e.g. 2 for "no such file". */
    readonly status?: number,
  ) {
    super(`sftp ${operation} ${path}: ${cause.message}`, { cause });
  }
}

type Callback<T> = (err: Error | undefined | null, value: T) => void;

/**
 * Promise front of an SFTP session. Requests issued after the session ended would never be
 * answered, so they fail at once instead.
 */
export class SftpSession {
  private ended: Error | undefined;

  constructor(readonly sftp: SFTPWrapper) {
    const end = (error?: Error) => {
      this.ended ??= error ?? new Error('session closed');
    };
    sftp
      .on('error', end)
      .once('end', () => end())
      .once('close', () => end());
  }

  call<T>(operation: string, path: string, request: (cb: Callback<T>) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const fail = (error: Error) => {
        const status = (error as { code?: unknown }).code;
        reject(
          new SftpError(operation, path, error, typeof status === 'number' ? status : undefined),
        );
      };
      if (this.ended !== undefined) return fail(this.ended);
      request((err, value) => (err ? fail(err) : resolve(value)));
    });
  }
}

export function openSftp(conn: Client): Promise<SftpSession> {
  return new Promise((resolve, reject) =>
    conn.sftp((err, sftp) =>
      err ? reject(new SftpError('subsystem', '', err)) : resolve(new SftpSession(sftp)),
    ),
  );
}
