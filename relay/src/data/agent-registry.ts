import { WebSocket } from 'ws';
import { sshFingerprintB64, type RelayToAgent } from '@airlock/shared';

/** A registered agent control link: the VM is online and its host key is known. */
export interface AgentLink {
  vm: string;
  ws: WebSocket;
  /** SSH public key blob, base64, as the agent registered it. */
  hostKey: string;
  hostKeyFingerprint: string;
  version: string;
  registeredAt: Date;
  /** The agent credential this link authenticated with; revoking it closes the link. */
  credentialId?: string;
  /** With an organisation root: the VM chain the agent registered for this host key. */
  vmChain?: string[];
}

/** Which VMs have a live control socket on this relay instance, and their current host keys. */
export class AgentRegistry {
  private readonly links = new Map<string, AgentLink>();

  /** Records the link; returns the link it replaces, if any (the caller closes that one). */
  register(
    vm: string,
    ws: WebSocket,
    hostKey: string,
    version: string,
    credentialId?: string,
    vmChain?: string[],
  ): { link: AgentLink; replaced?: AgentLink } {
    const replaced = this.links.get(vm);
    const link: AgentLink = {
      vm,
      ws,
      hostKey,
      hostKeyFingerprint: sshFingerprintB64(hostKey),
      version,
      registeredAt: new Date(),
      ...(credentialId ? { credentialId } : {}),
      ...(vmChain ? { vmChain } : {}),
    };
    this.links.set(vm, link);
    return replaced && replaced.ws !== ws ? { link, replaced } : { link };
  }

  /** Forgets the link if `ws` is still the VM's current one; returns whether it was. */
  unregister(vm: string, ws: WebSocket): boolean {
    if (this.links.get(vm)?.ws !== ws) return false;
    this.links.delete(vm);
    return true;
  }

  /** The agent re-signed its host key certificate; kept only for the VM's current link. */
  renewVmChain(vm: string, ws: WebSocket, vmChain: string[]): boolean {
    const link = this.links.get(vm);
    if (link?.ws !== ws) return false;
    link.vmChain = vmChain;
    return true;
  }

  list(): AgentLink[] {
    return [...this.links.values()];
  }

  /** Closes a VM's control link from the relay's side (credential revoked). */
  disconnect(vm: string, code: number, reason: string): void {
    const link = this.links.get(vm);
    if (!link) return;
    this.links.delete(vm);
    link.ws.close(code, reason);
  }

  get(vm: string): AgentLink | undefined {
    return this.links.get(vm);
  }

  isOnline(vm: string): boolean {
    return this.links.get(vm)?.ws.readyState === WebSocket.OPEN;
  }

  /** Sends a control message; false if the link is gone or closing. */
  send(vm: string, message: RelayToAgent): boolean {
    const link = this.links.get(vm);
    if (!link || link.ws.readyState !== WebSocket.OPEN) return false;
    link.ws.send(JSON.stringify(message));
    return true;
  }
}
