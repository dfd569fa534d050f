/**
 * Who exists and who may reach what. The relay's routes and data plane only see this
 * interface; the JSON file (today) and SQLite/PostgreSQL (later) implement it. Methods are
 * async so a networked store fits behind the same shape.
 */
export interface UserRecord {
  name: string;
  /** SPKI public key PEM (ECDSA P-256/384/521 or RSA). */
  publicKeyPem: string;
  createdAt: string;
}

export interface VmRecord {
  id: string;
  /** Hex sha256 of the agent credential's secret; the secret itself is never stored. */
  secretSha256: string;
  /** Ports the VM's owner allows to be forwarded at all. */
  ports: number[];
  createdAt: string;
}

export interface GrantRecord {
  user: string;
  vm: string;
  /** Ports this user may forward on this VM; absent means every port the VM allows. */
  ports?: number[];
  createdAt: string;
}

export type DirectoryErrorCode = 'exists' | 'not_found' | 'invalid';

/** An expected failure of a directory write (duplicate name, unknown user…), with a message for people. */
export class DirectoryError extends Error {
  constructor(
    readonly code: DirectoryErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'DirectoryError';
  }
}

export interface Directory {
  getUser(name: string): Promise<UserRecord | undefined>;
  listUsers(): Promise<UserRecord[]>;
  /** Throws DirectoryError('exists' | 'invalid'). */
  addUser(user: { name: string; publicKeyPem: string }): Promise<UserRecord>;

  getVm(id: string): Promise<VmRecord | undefined>;
  listVms(): Promise<VmRecord[]>;
  /** Throws DirectoryError('exists' | 'invalid'). */
  addVm(vm: { id: string; secretSha256: string; ports: number[] }): Promise<VmRecord>;
  /** Replaces the stored credential hash (credential rotation). Throws DirectoryError('not_found'). */
  setVmSecret(id: string, secretSha256: string): Promise<void>;
  /**
   * Replaces the ports a VM allows. Grants are not rewritten: what they open is always narrowed to
   * the VM's ports at session time (`effectivePorts`). Throws DirectoryError('not_found').
   */
  setVmPorts(id: string, ports: number[]): Promise<void>;

  getGrant(user: string, vm: string): Promise<GrantRecord | undefined>;
  listGrants(filter?: { user?: string; vm?: string }): Promise<GrantRecord[]>;
  /** Creates or replaces the grant. Throws DirectoryError('not_found') for an unknown user or VM. */
  grant(grant: { user: string; vm: string; ports?: number[] }): Promise<GrantRecord>;
  /** Returns whether a grant existed. */
  revoke(user: string, vm: string): Promise<boolean>;
}

/** The ports a grant actually opens: the grant's ports that the VM also allows. */
export function effectivePorts(vm: VmRecord, grant: GrantRecord): number[] {
  const allowed = new Set(vm.ports);
  const wanted = grant.ports ?? vm.ports;
  return [...new Set(wanted.filter((p) => allowed.has(p)))].sort((a, b) => a - b);
}
