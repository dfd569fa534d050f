import { z } from 'zod';
import { Port, UserName, VmId, sshFingerprintFromPem } from '@airlock/shared';
import { DirectoryError, type Directory, type GrantRecord, type UserRecord, type VmRecord } from './directory.js';

const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits');

/** The on-disk shape of the directory (version 1). */
export const DirectoryDocument = z.object({
  version: z.literal(1),
  users: z.array(z.object({ name: UserName, publicKeyPem: z.string().min(1), createdAt: z.string() })),
  vms: z.array(z.object({ id: VmId, secretSha256: Sha256Hex, ports: z.array(Port), createdAt: z.string() })),
  grants: z.array(z.object({ user: UserName, vm: VmId, ports: z.array(Port).optional(), createdAt: z.string() })),
});
export type DirectoryDocument = z.infer<typeof DirectoryDocument>;

export function emptyDocument(): DirectoryDocument {
  return { version: 1, users: [], vms: [], grants: [] };
}

function sortedPorts(ports: number[]): number[] {
  return [...new Set(ports)].sort((a, b) => a - b);
}

function check<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new DirectoryError('invalid', `${what} ${r.error.issues[0]?.message ?? 'is invalid'}`);
  return r.data;
}

/**
 * The directory's rules over a plain document, shared by every document-backed store.
 * Subclasses provide `read()` (a fresh document) and `write(doc)` (persist it).
 */
export abstract class DocumentDirectory implements Directory {
  protected abstract read(): Promise<DirectoryDocument>;
  protected abstract write(doc: DirectoryDocument): Promise<void>;
  /** Runs read-modify-write updates one at a time within this process. */
  private queue: Promise<unknown> = Promise.resolve();

  protected update<T>(fn: (doc: DirectoryDocument) => T): Promise<T> {
    const run = this.queue.then(async () => {
      const doc = structuredClone(await this.read());
      const result = fn(doc);
      await this.write(doc);
      return result;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  async getUser(name: string): Promise<UserRecord | undefined> {
    return (await this.read()).users.find((u) => u.name === name);
  }

  async listUsers(): Promise<UserRecord[]> {
    return [...(await this.read()).users];
  }

  async addUser(user: { name: string; publicKeyPem: string }): Promise<UserRecord> {
    const name = check(UserName, user.name, `user name "${user.name}"`);
    try {
      sshFingerprintFromPem(user.publicKeyPem);
    } catch (e) {
      throw new DirectoryError('invalid', `public key of "${name}" is not usable: ${(e as Error).message}`);
    }
    return this.update((doc) => {
      if (doc.users.some((u) => u.name === name)) throw new DirectoryError('exists', `user "${name}" already exists`);
      const record = { name, publicKeyPem: user.publicKeyPem, createdAt: new Date().toISOString() };
      doc.users.push(record);
      return record;
    });
  }

  async getVm(id: string): Promise<VmRecord | undefined> {
    return (await this.read()).vms.find((v) => v.id === id);
  }

  async listVms(): Promise<VmRecord[]> {
    return [...(await this.read()).vms];
  }

  async addVm(vm: { id: string; secretSha256: string; ports: number[] }): Promise<VmRecord> {
    const id = check(VmId, vm.id, `VM id "${vm.id}"`);
    const ports = sortedPorts(check(z.array(Port), vm.ports, 'ports'));
    const secretSha256 = check(Sha256Hex, vm.secretSha256, 'credential hash');
    return this.update((doc) => {
      if (doc.vms.some((v) => v.id === id)) throw new DirectoryError('exists', `VM "${id}" already exists`);
      const record = { id, secretSha256, ports, createdAt: new Date().toISOString() };
      doc.vms.push(record);
      return record;
    });
  }

  async setVmSecret(id: string, secretSha256: string): Promise<void> {
    const hash = check(Sha256Hex, secretSha256, 'credential hash');
    return this.update((doc) => {
      const vm = doc.vms.find((v) => v.id === id);
      if (!vm) throw new DirectoryError('not_found', `no VM "${id}"`);
      vm.secretSha256 = hash;
    });
  }

  async setVmPorts(id: string, ports: number[]): Promise<void> {
    const checked = sortedPorts(check(z.array(Port), ports, 'ports'));
    return this.update((doc) => {
      const vm = doc.vms.find((v) => v.id === id);
      if (!vm) throw new DirectoryError('not_found', `no VM "${id}"`);
      vm.ports = checked;
    });
  }

  async getGrant(user: string, vm: string): Promise<GrantRecord | undefined> {
    return (await this.read()).grants.find((g) => g.user === user && g.vm === vm);
  }

  async listGrants(filter: { user?: string; vm?: string } = {}): Promise<GrantRecord[]> {
    return (await this.read()).grants.filter(
      (g) => (filter.user === undefined || g.user === filter.user) && (filter.vm === undefined || g.vm === filter.vm),
    );
  }

  async grant(grant: { user: string; vm: string; ports?: number[] }): Promise<GrantRecord> {
    const ports = grant.ports === undefined ? undefined : sortedPorts(check(z.array(Port), grant.ports, 'ports'));
    return this.update((doc) => {
      if (!doc.users.some((u) => u.name === grant.user))
        throw new DirectoryError('not_found', `no user "${grant.user}"`);
      const vm = doc.vms.find((v) => v.id === grant.vm);
      if (!vm) throw new DirectoryError('not_found', `no VM "${grant.vm}"`);
      // A grant to a port the VM does not allow would silently open nothing: say so instead.
      const outside = (ports ?? []).filter((p) => !vm.ports.includes(p));
      if (outside.length > 0)
        throw new DirectoryError(
          'invalid',
          `VM "${vm.id}" does not allow port${outside.length > 1 ? 's' : ''} ${outside.join(', ')} ` +
            `(it allows ${vm.ports.join(', ') || 'none'})`,
        );
      const record: GrantRecord = { user: grant.user, vm: grant.vm, createdAt: new Date().toISOString() };
      if (ports !== undefined) record.ports = ports;
      doc.grants = doc.grants.filter((g) => !(g.user === grant.user && g.vm === grant.vm));
      doc.grants.push(record);
      return record;
    });
  }

  async revoke(user: string, vm: string): Promise<boolean> {
    return this.update((doc) => {
      const before = doc.grants.length;
      doc.grants = doc.grants.filter((g) => !(g.user === user && g.vm === vm));
      return doc.grants.length !== before;
    });
  }
}

/** A directory that lives only in memory (tests, benchmarks, a relay started without a data dir). */
export class MemoryDirectory extends DocumentDirectory {
  private doc = emptyDocument();

  protected async read(): Promise<DirectoryDocument> {
    return this.doc;
  }

  protected async write(doc: DirectoryDocument): Promise<void> {
    this.doc = doc;
  }
}
