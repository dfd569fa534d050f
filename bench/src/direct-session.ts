// An SSH session to the bench's relay-less agent (direct-agent-process.ts): the same client code
// as through the relay, with a made-up session response since there is no relay to issue one.
import { randomUUID } from 'node:crypto';
import { connectVmSession, sessionUserKey, type RelayCredentials, type VmSession } from '@airlock/connect';
import { sshFingerprintB64 } from '@airlock/shared';

/** What direct-agent-process.ts prints. */
export interface DirectAgentInfo {
  url: string;
  pin: string;
  hostKey: string;
}

export async function connectDirect(
  direct: DirectAgentInfo,
  credentials: RelayCredentials,
  ports: number[],
): Promise<VmSession> {
  const session = await connectVmSession({
    endpoint: { url: direct.url, pin: direct.pin, clientCert: credentials.endpoint.clientCert },
    session: {
      sessionId: randomUUID(),
      vm: 'bench-vm',
      ticket: 'unused-without-relay',
      hostKey: direct.hostKey,
      hostKeyFingerprint: sshFingerprintB64(direct.hostKey),
      ports,
      expiresAt: new Date(Date.now() + 60_000).toISOString(),
    },
    user: credentials.user,
    // The login's ephemeral key, as through the relay: the direct agent was told its fingerprint.
    userKey: sessionUserKey(credentials),
  });
  if (!session.ok) throw new Error(session.error.message);
  return session.value;
}
