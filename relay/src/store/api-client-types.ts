// Admin API clients: a client id, the hash of its secret, and the scopes it may use.

export interface ApiClientRecord {
  clientId: string;
  name: string;
  secretSha256: string;
  scopes: string[];
  createdAt: string;
  revokedAt?: string;
}

export interface ApiClientStore {
  /** Throws StoreError('exists'). */
  create(client: { clientId: string; name: string; secretSha256: string; scopes: string[] }): Promise<ApiClientRecord>;
  get(clientId: string): Promise<ApiClientRecord | undefined>;
  list(): Promise<ApiClientRecord[]>;
  revoke(clientId: string): Promise<boolean>;
}
