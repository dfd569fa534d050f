import {
  CreateVmBody,
  DeleteGrantQuery,
  PutGrantBody,
  SetVmPortsBody,
  UuidParam,
  VmIdParam,
  hashSecret,
  newSecret,
  ok,
  type AdminAgentCredential,
  type AdminGrant,
  type AdminVm,
  type IssuedAgentToken,
} from '@airlock/shared';
import {
  grantActive,
  type AgentCredentialRecord,
  type ConsumeRefusal,
  type GrantRecord,
  type VmRecord,
} from '../store/types.js';
import { fail, parseInput, type AdminResult } from './admin-core.js';
import { ClientAdmin } from './client-admin.js';
import { formatAgentCredential } from './credentials.js';

export function toAdminVm(vm: VmRecord, activeCredentials: number): AdminVm {
  return { id: vm.id, ports: vm.ports, createdAt: vm.createdAt, updatedAt: vm.updatedAt, activeCredentials };
}

export function toAdminCredential(c: AgentCredentialRecord): AdminAgentCredential {
  return { id: c.id, vm: c.vm, createdAt: c.createdAt, ...(c.revokedAt ? { revokedAt: c.revokedAt } : {}) };
}

export function toAdminGrant(g: GrantRecord, now: Date): AdminGrant {
  return {
    user: g.user,
    vm: g.vm,
    ...(g.ports ? { ports: g.ports } : {}),
    ...(g.expiresAt ? { expiresAt: g.expiresAt } : {}),
    createdAt: g.createdAt,
    active: grantActive(g, now),
  };
}

/** What the public route /api/v1/agent/enroll gets back: the credential, or why not. */
export type AgentEnrollResult =
  | { ok: true; vm: string; credential: string; credentialId: string; orgChain?: string[] }
  | { ok: false; reason: ConsumeRefusal; message: string };

const ENROLL_REFUSALS: Record<ConsumeRefusal, string> = {
  unknown: 'agent enrollment token is not known to this relay; ask an admin for a new one (airlock-relay vm new-token)',
  used: 'agent enrollment token was already used; ask an admin for a new one (airlock-relay vm new-token)',
  expired: 'agent enrollment token has expired; ask an admin for a new one (airlock-relay vm new-token)',
};

/** VMs, agent enrollment tokens and credentials, grants. */
export abstract class VmAdmin extends ClientAdmin {
  async createVm(
    actor: string,
    id: string,
    ports: number[],
  ): Promise<AdminResult<{ vm: AdminVm; agentEnrollment: IssuedAgentToken }>> {
    return this.audited(
      { actor, type: 'admin.vm.create', data: { vm: id, ports } },
      async () => {
        const vm = await this.insertVm(id, ports);
        if (!vm.ok) return vm;
        const agentEnrollment = await this.issueCode('agent-enrollment', vm.value.id);
        return ok({ vm: vm.value, agentEnrollment });
      },
      (v) => ({ tokenExpiresAt: v.agentEnrollment.expiresAt }),
    );
  }

  /** A VM whose agent token an administrator makes with the organisation root (`org request`). */
  async createVmWithoutToken(actor: string, id: string, ports: number[]): Promise<AdminResult<{ vm: AdminVm }>> {
    return this.audited(
      { actor, type: 'admin.vm.create', data: { vm: id, ports, token: 'organisation root' } },
      async () => {
        const vm = await this.insertVm(id, ports);
        return vm.ok ? ok({ vm: vm.value }) : vm;
      },
    );
  }

  private async insertVm(id: string, ports: number[]): Promise<AdminResult<AdminVm>> {
    const input = parseInput(CreateVmBody, { id, ports });
    if (!input.ok) return input;
    return ok(toAdminVm(await this.store.vms.create(input.value), 0));
  }

  async listVms(): Promise<AdminVm[]> {
    const [vms, credentials] = await Promise.all([this.store.vms.list(), this.store.agentCredentials.list()]);
    const active = new Map<string, number>();
    for (const c of credentials) if (!c.revokedAt) active.set(c.vm, (active.get(c.vm) ?? 0) + 1);
    return vms.map((vm) => toAdminVm(vm, active.get(vm.id) ?? 0));
  }

  async getVm(id: string): Promise<VmRecord | undefined> {
    return VmIdParam.safeParse({ id }).success ? this.store.vms.get(id) : undefined;
  }

  /** Grants keep their port lists; they open only the ports the VM still allows. */
  async setVmPorts(actor: string, id: string, ports: number[]): Promise<AdminResult<{ vm: AdminVm }>> {
    return this.audited({ actor, type: 'admin.vm.set_ports', data: { vm: id, ports } }, async () => {
      const vmId = parseInput(VmIdParam, { id });
      if (!vmId.ok) return vmId;
      const input = parseInput(SetVmPortsBody, { ports });
      if (!input.ok) return input;
      const vm = await this.store.vms.setPorts(id, input.value.ports);
      return ok({ vm: toAdminVm(vm, (await this.store.agentCredentials.listActive(id)).length) });
    });
  }

  /** A new one-time token for the VM's agent (re-install, lost credential); older tokens stay valid until used, expired, or a credential of the VM is revoked. */
  async newAgentToken(actor: string, vm: string): Promise<AdminResult<{ agentEnrollment: IssuedAgentToken }>> {
    return this.audited(
      { actor, type: 'admin.agent_token.create', data: { vm } },
      async () => {
        const known = await this.knownVm(vm);
        if (!known.ok) return known;
        return ok({ agentEnrollment: await this.issueCode('agent-enrollment', vm) });
      },
      (v) => ({ tokenExpiresAt: v.agentEnrollment.expiresAt }),
    );
  }

  async listAgentCredentials(vm: string): Promise<AdminResult<AdminAgentCredential[]>> {
    const known = await this.knownVm(vm);
    if (!known.ok) return known;
    return ok((await this.store.agentCredentials.list(vm)).map(toAdminCredential));
  }

  /** The agent's next connection with it is refused; closing a live control link is the relay's job. */
  async revokeAgentCredential(
    actor: string,
    id: string,
  ): Promise<AdminResult<{ credential: AdminAgentCredential; changed: boolean; tokensVoided: number }>> {
    return this.audited(
      { actor, type: 'admin.agent_credential.revoke', data: { credential: id } },
      async () => {
        const input = parseInput(UuidParam, { id });
        if (!input.ok) return input;
        const before = await this.store.agentCredentials.get(id);
        if (!before) return fail('not_found', `no agent credential "${id}"`);
        const changed = await this.store.agentCredentials.revoke(id);
        // A credential is revoked because its agent is not to be trusted: an unused token for the
        // same VM would let whoever holds it enroll again (up to 24 h). A re-install gets a new one.
        const tokensVoided = await this.store.codes.revokeAllOf('agent-enrollment', before.vm);
        return ok({
          credential: toAdminCredential((await this.store.agentCredentials.get(id)) ?? before),
          changed,
          tokensVoided,
        });
      },
      (v) => ({ tokensVoided: v.tokensVoided }),
    );
  }

  /**
   * An agent's first start: consumes its one-time token (atomically, so two racing agents cannot
   * both win) and returns the long-term credential `<vmId>.<secret>`, shown this once.
   */
  async exchangeAgentToken(secret: string, source?: string): Promise<AgentEnrollResult> {
    const src = source ? { source } : {};
    const refuse = async (reason: ConsumeRefusal, actor = 'agent:unknown'): Promise<AgentEnrollResult> => {
      await this.audit.record({ type: 'agent.enroll', actor, outcome: 'failure', ...src, data: { reason } });
      return { ok: false, reason, message: ENROLL_REFUSALS[reason] };
    };
    // Real secrets are 43 characters; anything far longer is junk not worth hashing.
    if (secret.length === 0 || secret.length > 200) return refuse('unknown');
    const consumed = await this.store.codes.consume('agent-enrollment', hashSecret(secret), this.now());
    if (!consumed.ok) return refuse(consumed.reason);
    const vmId = consumed.code.subject;
    const vm = await this.store.vms.get(vmId);
    if (!vm) return refuse('unknown', `agent:${vmId}`);
    const credentialSecret = newSecret();
    const record = await this.store.agentCredentials.create(vm.id, hashSecret(credentialSecret));
    await this.audit.record({
      type: 'agent.enroll',
      actor: `agent:${vm.id}`,
      outcome: 'success',
      ...src,
      data: { credential: record.id },
    });
    return {
      ok: true,
      vm: vm.id,
      credential: formatAgentCredential(vm.id, credentialSecret),
      credentialId: record.id,
      ...(consumed.code.orgChain ? { orgChain: consumed.code.orgChain } : {}),
    };
  }

  /** Creates or replaces the grant of `user` on `vm`. */
  async putGrant(
    actor: string,
    grant: { user: string; vm: string; ports?: number[]; expiresAt?: string },
  ): Promise<AdminResult<{ grant: AdminGrant }>> {
    return this.audited({ actor, type: 'admin.grant.put', data: { ...grant } }, async () => {
      const input = parseInput(PutGrantBody, grant);
      if (!input.ok) return input;
      const { user, vm: vmId, ports, expiresAt } = input.value;
      if (!(await this.store.users.get(user))) return fail('not_found', `no user "${user}"`);
      const vm = await this.store.vms.get(vmId);
      if (!vm) return fail('not_found', `no VM "${vmId}"`);
      const notAllowed = (ports ?? []).filter((p) => !vm.ports.includes(p));
      if (notAllowed.length > 0)
        return fail(
          'invalid',
          `ports: ${notAllowed.join(', ')} not allowed on VM "${vmId}" (it allows ${vm.ports.join(', ') || 'none'}); ` +
            "grant fewer ports or change the VM's ports first",
        );
      const expires = expiresAt !== undefined ? new Date(expiresAt) : undefined;
      if (expires && expires.getTime() <= this.now().getTime())
        return fail('invalid', `expiresAt: ${expiresAt} is in the past; give a future time`);
      const record = await this.store.grants.put({
        user,
        vm: vmId,
        ...(ports ? { ports } : {}),
        ...(expires ? { expiresAt: expires.toISOString() } : {}),
      });
      return ok({ grant: toAdminGrant(record, this.now()) });
    });
  }

  async listGrants(filter: { user?: string; vm?: string } = {}): Promise<AdminGrant[]> {
    const now = this.now();
    return (await this.store.grants.list(filter)).map((g) => toAdminGrant(g, now));
  }

  /** Removes the grant; the session guard then closes the user's live sessions on that VM. */
  async deleteGrant(actor: string, user: string, vm: string): Promise<AdminResult<{ liveSessions: number }>> {
    return this.audited(
      { actor, type: 'admin.grant.delete', data: { user, vm } },
      async () => {
        const input = parseInput(DeleteGrantQuery, { user, vm });
        if (!input.ok) return input;
        if (!(await this.store.grants.delete(user, vm))) return fail('not_found', `no grant for "${user}" on "${vm}"`);
        return ok({ liveSessions: await this.liveSessions((s) => s.user === user && s.vm === vm) });
      },
      (v) => v,
    );
  }

  protected async knownVm(id: string): Promise<AdminResult<VmRecord>> {
    const input = parseInput(VmIdParam, { id });
    if (!input.ok) return input;
    const vm = await this.store.vms.get(id);
    return vm ? ok(vm) : fail('not_found', `no VM "${id}"`);
  }
}
