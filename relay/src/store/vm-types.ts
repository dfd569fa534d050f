// VMs, their agents (credentials, control link) and the grants that let users reach them.

export interface VmRecord {
  id: string;
  /** Ports the VM allows to be forwarded at all. */
  ports: number[];
  createdAt: string;
  updatedAt: string;
}

export interface AgentCredentialRecord {
  /** UUID. */
  id: string;
  vm: string;
  secretSha256: string;
  createdAt: string;
  revokedAt?: string;
}

export interface GrantRecord {
  user: string;
  vm: string;
  /** Ports this user may forward on this VM; absent means every port the VM allows. */
  ports?: number[];
  /** After this instant the grant no longer opens anything. */
  expiresAt?: string;
  createdAt: string;
}

/** Whether a VM's agent has a control link to the relay, as the relay last recorded it. */
export interface AgentPresenceRecord {
  vm: string;
  online: boolean;
  /** When it came online, or went offline. */
  since: string;
  hostKeyFingerprint?: string;
  version?: string;
  /** Why the control link last went down. */
  lastOfflineReason?: string;
}

export interface VmStore {
  get(id: string): Promise<VmRecord | undefined>;
  list(): Promise<VmRecord[]>;
  /** Throws StoreError('exists'). */
  create(vm: { id: string; ports: number[] }): Promise<VmRecord>;
  /** Throws StoreError('not_found'). */
  setPorts(id: string, ports: number[]): Promise<VmRecord>;
}

export interface AgentCredentialStore {
  /** Throws StoreError('not_found') for an unknown VM. */
  create(vm: string, secretSha256: string): Promise<AgentCredentialRecord>;
  /** Active (not revoked) credentials of a VM. */
  listActive(vm: string): Promise<AgentCredentialRecord[]>;
  list(vm?: string): Promise<AgentCredentialRecord[]>;
  get(id: string): Promise<AgentCredentialRecord | undefined>;
  revoke(id: string): Promise<boolean>;
  revokeAllOf(vm: string): Promise<number>;
}

export interface GrantStore {
  get(user: string, vm: string): Promise<GrantRecord | undefined>;
  list(filter?: { user?: string; vm?: string }): Promise<GrantRecord[]>;
  /** Creates or replaces. Throws StoreError('not_found') for an unknown user or VM. */
  put(grant: { user: string; vm: string; ports?: number[]; expiresAt?: string }): Promise<GrantRecord>;
  delete(user: string, vm: string): Promise<boolean>;
}

export interface AgentPresenceStore {
  /** The agent registered a control link (replacing any earlier one). */
  markOnline(vm: string, link: { hostKeyFingerprint: string; version: string }): Promise<void>;
  /** The VM has no control link any more; a VM already offline keeps its first time and reason. */
  markOffline(vm: string, reason: string): Promise<void>;
  get(vm: string): Promise<AgentPresenceRecord | undefined>;
  list(): Promise<AgentPresenceRecord[]>;
  /** Relay start: links of a previous run are gone. Returns how many were marked. */
  markAllOffline(reason: string): Promise<number>;
}

/** The ports a grant actually opens: the grant's ports that the VM also allows. */
export function effectivePorts(vm: VmRecord, grant: GrantRecord): number[] {
  const allowed = new Set(vm.ports);
  const wanted = grant.ports ?? vm.ports;
  return [...new Set(wanted.filter((p) => allowed.has(p)))].sort((a, b) => a - b);
}

/** Whether a grant is in force at `now`. */
export function grantActive(grant: GrantRecord, now: Date = new Date()): boolean {
  return grant.expiresAt === undefined || Date.parse(grant.expiresAt) > now.getTime();
}
