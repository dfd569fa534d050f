import { SshAuthenticationType, SshChannelOpenFailureReason, SshClientSession } from '@microsoft/dev-tunnels-ssh';
import { CloseCode, err, ok, sshFingerprint, type Result, type SessionResponse } from '@airlock/shared';
import {
  clearKeepAliveTimer,
  createSshConfig,
  describeSshEnd,
  publicKeyBlob,
  startSshSession,
  type SshEnd,
} from '@airlock/shared/ssh';
import { closeWithReason, socketEndError, type DataSocket } from './data-socket.js';
import type { UserKey } from '../identity/user-key-store.js';
import type { SessionStep, VmSessionError } from './types.js';

export interface SshHandshakeOptions {
  /** The open data socket to run SSH over. */
  socket: DataSocket;
  session: SessionResponse;
  /** The user name the relay knows (SSH username). */
  user: string;
  userKey: UserKey;
  /** Resolves when the session setup's time is up. */
  deadline: Promise<'timeout'>;
  timeoutError: (phase: 'handshake' | 'auth') => VmSessionError;
  /** Told each step as it is reached (`airlock doctor` times them). */
  onStep?: (step: SessionStep) => void;
}

export interface AuthenticatedSsh {
  client: SshClientSession;
  /** Fingerprint of the VM's host key: the one the relay registered, which the VM presented. */
  hostKey: string;
}

/**
 * SSH over the data socket: the key exchange, with the VM's host key pinned to the one the relay
 * registered for it, then public-key auth with the user's key. On failure the client is disposed
 * (the caller still owns the socket).
 */
export async function sshHandshake(options: SshHandshakeOptions): Promise<Result<AuthenticatedSsh, VmSessionError>> {
  const { session, socket, deadline, timeoutError } = options;
  const step = options.onStep ?? (() => {});
  const sessionId = session.sessionId;
  const registeredBlob = Buffer.from(session.hostKey, 'base64');
  const registered = sshFingerprint(registeredBlob);

  const client = new SshClientSession(createSshConfig());
  client.onClosed(() => clearKeepAliveTimer(client));
  // Connect opens every channel itself; one the VM side tries to open (an agent or relay gone
  // bad pushing data at the workstation) is refused.
  client.onChannelOpening((e) => {
    if (!e.isRemoteRequest) return;
    e.failureReason = SshChannelOpenFailureReason.administrativelyProhibited;
    e.failureDescription = 'Connect accepts no channels opened by the VM';
  });
  let presented: string | undefined;
  client.onAuthenticating((e) => {
    if (e.authenticationType !== SshAuthenticationType.serverPublicKey || !e.publicKey) return;
    const key = e.publicKey;
    e.authenticationPromise = (async () => {
      const blob = await publicKeyBlob(key);
      if (blob.equals(registeredBlob)) {
        step('host_key_verified');
        return { vm: session.vm, hostKey: registered };
      }
      presented = sshFingerprint(blob);
      return null;
    })();
  });
  const fail = (error: VmSessionError): Result<never, VmSessionError> => {
    // The reason must be on the socket before disposing the client closes it without one.
    if (error.code === 'protocol_error') closeWithReason(socket.ws, CloseCode.protocolError, error.message);
    client.dispose();
    return err(error);
  };

  // How the SSH layer ended, if it did: a protocol failure (the VM side sent something that is
  // not valid SSH) is told apart from the socket being closed under it.
  let ended: SshEnd | undefined;
  client.onClosed((e) => (ended ??= describeSshEnd(e)));
  const failedSsh = async (end: SshEnd | undefined, fallback: string): Promise<VmSessionError> => {
    const socketEnd = await socket.endWithin(1000);
    // A refusal or an application close code (the relay's or the agent's reason) explains more
    // than what the SSH layer saw of it; a bare close after bad bytes does not.
    const explained = socketEnd && (socketEnd.kind !== 'closed' || socketEnd.code >= 4000);
    if (end?.failure && !explained) return sshProtocolError(sessionId, session.vm, end.detail);
    return socketEndError(sessionId, socketEnd, fallback);
  };

  const connected = await Promise.race([startSshSession(client, socket.stream), deadline]);
  if (connected === 'timeout') return fail(timeoutError('handshake'));
  if (!connected.ok)
    return fail(
      await failedSsh(
        describeSshEnd({ reason: connected.error.reason, message: connected.error.message }),
        connected.error.message,
      ),
    );
  step('ssh_connected');

  const sshKey = await options.userKey.sshKeyPair();
  const authed = await Promise.race([
    client.authenticate({ username: options.user, publicKeys: [sshKey] }).then(
      (r) => ({ ok: r, message: '' }),
      (e: unknown) => ({ ok: false, message: (e as Error).message }),
    ),
    deadline,
  ]);
  if (authed === 'timeout') return fail(timeoutError('auth'));
  if (presented)
    return fail({
      code: 'host_key_mismatch',
      sessionId,
      presented,
      registered,
      message:
        `the VM presented host key ${presented} but the relay registered ${registered}; ` +
        'someone may be intercepting — refusing',
    });
  if (!authed.ok) {
    if (client.isClosed || socket.end)
      return fail(await failedSsh(ended, authed.message || 'session closed during authentication'));
    return fail({
      code: 'auth_failed',
      sessionId,
      message: `the agent on ${session.vm} refused this login's key ${options.userKey.fingerprint} (it accepts only the key the relay put in the session ticket); log in again`,
    });
  }
  step('authenticated');
  return ok({ client, hostKey: registered });
}

/** The VM side broke the SSH protocol: Connect ends the session and says so. */
export function sshProtocolError(sessionId: string, vm: string, detail: string): VmSessionError {
  return {
    code: 'protocol_error',
    sessionId,
    message: `the session to ${vm} was closed: the other end sent data that is not valid SSH (${detail})`,
  };
}
