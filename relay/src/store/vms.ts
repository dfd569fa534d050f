import { randomUUID } from 'node:crypto';
import type { Db } from './database.js';
import {
  type Clock,
  check,
  opt,
  parseJson,
  portsSchema,
  sha256HexSchema,
  storeErrorFrom,
  textSchema,
} from './sql-util.js';
import {
  StoreError,
  type AgentCredentialRecord,
  type AgentCredentialStore,
  type VmRecord,
  type VmStore,
} from './types.js';

interface VmRow {
  id: string;
  ports: string;
  created_at: string;
  updated_at: string;
}

function vmRecord(r: VmRow): VmRecord {
  return { id: r.id, ports: parseJson<number[]>(r.ports), createdAt: r.created_at, updatedAt: r.updated_at };
}

export class SqliteVmStore implements VmStore {
  constructor(
    private readonly db: Db,
    private readonly now: Clock,
  ) {}

  async get(id: string): Promise<VmRecord | undefined> {
    const r = this.db.prepare('SELECT * FROM vms WHERE id = ?').get(id) as VmRow | undefined;
    return r && vmRecord(r);
  }

  async list(): Promise<VmRecord[]> {
    return (this.db.prepare('SELECT * FROM vms ORDER BY id').all() as VmRow[]).map(vmRecord);
  }

  async create(vm: { id: string; ports: number[] }): Promise<VmRecord> {
    const id = check(textSchema, vm.id, 'VM id');
    const ports = check(portsSchema, vm.ports, 'ports');
    const at = this.now().toISOString();
    try {
      this.db
        .prepare('INSERT INTO vms (id, ports, created_at, updated_at) VALUES (?, ?, ?, ?)')
        .run(id, JSON.stringify(ports), at, at);
    } catch (err) {
      throw storeErrorFrom(err, { exists: `VM ${id} already exists` });
    }
    return { id, ports, createdAt: at, updatedAt: at };
  }

  async setPorts(id: string, ports: number[]): Promise<VmRecord> {
    check(portsSchema, ports, 'ports');
    const r = this.db
      .prepare('UPDATE vms SET ports = ?, updated_at = ? WHERE id = ?')
      .run(JSON.stringify(ports), this.now().toISOString(), id);
    if (r.changes === 0) throw new StoreError('not_found', `no VM ${id}`);
    return (await this.get(id))!;
  }
}

interface CredentialRow {
  id: string;
  vm_id: string;
  secret_sha256: string;
  created_at: string;
  revoked_at: string | null;
}

function credentialRecord(r: CredentialRow): AgentCredentialRecord {
  return {
    id: r.id,
    vm: r.vm_id,
    secretSha256: r.secret_sha256,
    createdAt: r.created_at,
    ...opt('revokedAt', r.revoked_at),
  };
}

export class SqliteAgentCredentialStore implements AgentCredentialStore {
  constructor(
    private readonly db: Db,
    private readonly now: Clock,
  ) {}

  async create(vm: string, secretSha256: string): Promise<AgentCredentialRecord> {
    check(sha256HexSchema, secretSha256, 'secretSha256');
    const record: AgentCredentialRecord = { id: randomUUID(), vm, secretSha256, createdAt: this.now().toISOString() };
    try {
      this.db
        .prepare('INSERT INTO agent_credentials (id, vm_id, secret_sha256, created_at) VALUES (?, ?, ?, ?)')
        .run(record.id, vm, secretSha256, record.createdAt);
    } catch (err) {
      throw storeErrorFrom(err, { notFound: `no VM ${vm}`, exists: 'an agent credential with this secret exists' });
    }
    return record;
  }

  async listActive(vm: string): Promise<AgentCredentialRecord[]> {
    const rows = this.db
      .prepare('SELECT * FROM agent_credentials WHERE vm_id = ? AND revoked_at IS NULL ORDER BY created_at, rowid')
      .all(vm) as CredentialRow[];
    return rows.map(credentialRecord);
  }

  async list(vm?: string): Promise<AgentCredentialRecord[]> {
    const rows =
      vm === undefined
        ? this.db.prepare('SELECT * FROM agent_credentials ORDER BY vm_id, created_at, rowid').all()
        : this.db.prepare('SELECT * FROM agent_credentials WHERE vm_id = ? ORDER BY created_at, rowid').all(vm);
    return (rows as CredentialRow[]).map(credentialRecord);
  }

  async get(id: string): Promise<AgentCredentialRecord | undefined> {
    const r = this.db.prepare('SELECT * FROM agent_credentials WHERE id = ?').get(id) as CredentialRow | undefined;
    return r && credentialRecord(r);
  }

  async revoke(id: string): Promise<boolean> {
    const r = this.db
      .prepare('UPDATE agent_credentials SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL')
      .run(this.now().toISOString(), id);
    return r.changes === 1;
  }

  async revokeAllOf(vm: string): Promise<number> {
    const r = this.db
      .prepare('UPDATE agent_credentials SET revoked_at = ? WHERE vm_id = ? AND revoked_at IS NULL')
      .run(this.now().toISOString(), vm);
    return r.changes;
  }
}
