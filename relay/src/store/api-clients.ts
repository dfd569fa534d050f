import * as z from 'zod';
import type { Db } from './database.js';
import { type Clock, check, opt, parseJson, sha256HexSchema, storeErrorFrom, textSchema } from './sql-util.js';
import type { ApiClientRecord, ApiClientStore } from './types.js';

interface ApiClientRow {
  client_id: string;
  name: string;
  secret_sha256: string;
  scopes: string;
  created_at: string;
  revoked_at: string | null;
}

function toRecord(r: ApiClientRow): ApiClientRecord {
  return {
    clientId: r.client_id,
    name: r.name,
    secretSha256: r.secret_sha256,
    scopes: parseJson<string[]>(r.scopes),
    createdAt: r.created_at,
    ...opt('revokedAt', r.revoked_at),
  };
}

const newClientSchema = z.object({
  clientId: textSchema,
  name: z.string().max(200),
  secretSha256: sha256HexSchema,
  scopes: z.array(textSchema),
});

export class SqliteApiClientStore implements ApiClientStore {
  constructor(
    private readonly db: Db,
    private readonly now: Clock,
  ) {}

  async create(client: {
    clientId: string;
    name: string;
    secretSha256: string;
    scopes: string[];
  }): Promise<ApiClientRecord> {
    const c = check(newClientSchema, client, 'API client');
    const record: ApiClientRecord = { ...c, createdAt: this.now().toISOString() };
    try {
      this.db
        .prepare('INSERT INTO api_clients (client_id, name, secret_sha256, scopes, created_at) VALUES (?, ?, ?, ?, ?)')
        .run(c.clientId, c.name, c.secretSha256, JSON.stringify(c.scopes), record.createdAt);
    } catch (err) {
      throw storeErrorFrom(err, { exists: `API client ${c.clientId} already exists` });
    }
    return record;
  }

  async get(clientId: string): Promise<ApiClientRecord | undefined> {
    const r = this.db.prepare('SELECT * FROM api_clients WHERE client_id = ?').get(clientId) as
      ApiClientRow | undefined;
    return r && toRecord(r);
  }

  async list(): Promise<ApiClientRecord[]> {
    return (this.db.prepare('SELECT * FROM api_clients ORDER BY client_id').all() as ApiClientRow[]).map(toRecord);
  }

  async revoke(clientId: string): Promise<boolean> {
    const r = this.db
      .prepare('UPDATE api_clients SET revoked_at = ? WHERE client_id = ? AND revoked_at IS NULL')
      .run(this.now().toISOString(), clientId);
    return r.changes === 1;
  }
}
