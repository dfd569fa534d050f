import * as z from 'zod';
import {
  ADMIN_SCOPES,
  ClientId,
  CreateClientBody,
  SessionIdParam,
  err,
  hashSecret,
  newSecret,
  ok,
  parseScopeString,
  secretMatches,
  type AdminClient,
  type Result,
} from '@airlock/shared';
import type { ApiClientRecord, SessionRecord } from '../store/types.js';
import { AdminCore, fail, parseInput, type AdminResult } from './admin-core.js';
import { newClientId } from './credentials.js';

export type ClientAuthFailure =
  { code: 'invalid_client'; message: string } | { code: 'invalid_scope'; message: string };

export function toAdminClient(c: ApiClientRecord): AdminClient {
  return {
    clientId: c.clientId,
    name: c.name,
    scopes: c.scopes,
    createdAt: c.createdAt,
    ...(c.revokedAt ? { revokedAt: c.revokedAt } : {}),
  };
}

const INVALID_CLIENT = 'client authentication failed: unknown client id, wrong secret or revoked client';

/** API clients (client credentials with scopes) and live sessions. */
export abstract class ClientAdmin extends AdminCore {
  async createClient(
    actor: string,
    name: string,
    scopes: string[],
  ): Promise<AdminResult<{ client: AdminClient; clientSecret: string }>> {
    return this.audited(
      { actor, type: 'admin.client.create', data: { name, scopes } },
      async () => {
        const input = parseInput(CreateClientBody, { name, scopes });
        if (!input.ok) return input;
        const clientSecret = newSecret();
        const record = await this.store.apiClients.create({
          clientId: newClientId(),
          name: input.value.name,
          secretSha256: hashSecret(clientSecret),
          scopes: [...new Set(input.value.scopes)],
        });
        return ok({ client: toAdminClient(record), clientSecret });
      },
      (v) => ({ clientId: v.client.clientId }),
    );
  }

  async listClients(): Promise<AdminClient[]> {
    return (await this.store.apiClients.list()).map(toAdminClient);
  }

  /** Takes effect at once: the admin API looks the client up on every request. */
  async revokeClient(actor: string, clientId: string): Promise<AdminResult<{ client: AdminClient; changed: boolean }>> {
    return this.audited({ actor, type: 'admin.client.revoke', data: { clientId } }, async () => {
      const id = parseInput(z.object({ clientId: ClientId }), { clientId });
      if (!id.ok) return id;
      const before = await this.store.apiClients.get(clientId);
      if (!before) return fail('not_found', `no API client "${clientId}"`);
      const changed = await this.store.apiClients.revoke(clientId);
      const after = (await this.store.apiClients.get(clientId)) ?? before;
      return ok({ client: toAdminClient(after), changed });
    });
  }

  /**
   * The client-credentials check of the token endpoint: the secret is compared in constant time
   * (also for an unknown client), and the requested scope must be a subset of the client's.
   * Records `admin.token.issue` either way; the caller signs the token on success.
   */
  async authenticateClient(
    clientId: string,
    clientSecret: string,
    requestedScope: string | undefined,
    source?: string,
  ): Promise<Result<{ clientId: string; scopes: string[] }, ClientAuthFailure>> {
    const wellFormed = ClientId.safeParse(clientId).success;
    const record = wellFormed ? await this.store.apiClients.get(clientId) : undefined;
    const secretOk = secretMatches(clientSecret, record?.secretSha256);
    const actor = `client:${wellFormed ? clientId : 'invalid'}`;
    const refuse = async (failure: ClientAuthFailure, reason: string) => {
      await this.audit.record({
        type: 'admin.token.issue',
        actor,
        outcome: 'failure',
        ...(source ? { source } : {}),
        data: { reason, ...(requestedScope !== undefined ? { requestedScope } : {}) },
      });
      return err(failure);
    };
    if (!record) return refuse({ code: 'invalid_client', message: INVALID_CLIENT }, 'unknown client');
    if (!secretOk) return refuse({ code: 'invalid_client', message: INVALID_CLIENT }, 'wrong secret');
    if (record.revokedAt) return refuse({ code: 'invalid_client', message: INVALID_CLIENT }, 'client revoked');

    let scopes = record.scopes;
    if (requestedScope !== undefined) {
      const wanted = parseScopeString(requestedScope);
      const unknown = wanted.filter((s) => !(ADMIN_SCOPES as readonly string[]).includes(s));
      const notAllowed = wanted.filter((s) => !record.scopes.includes(s));
      if (wanted.length === 0)
        return refuse(
          { code: 'invalid_scope', message: "scope is empty; omit it to get all of the client's scopes" },
          'empty scope',
        );
      if (unknown.length > 0)
        return refuse(
          {
            code: 'invalid_scope',
            message: `unknown scope(s): ${unknown.join(' ')}; known: ${ADMIN_SCOPES.join(' ')}`,
          },
          `unknown scope: ${unknown.join(' ')}`,
        );
      // Only scopes the client holds, literally: `admin` on the client does not mint a narrower
      // token by accident of wording, and a narrower client never gets `admin`.
      if (notAllowed.length > 0)
        return refuse(
          {
            code: 'invalid_scope',
            message: `scope(s) not granted to this client: ${notAllowed.join(' ')}; it has: ${record.scopes.join(' ')}`,
          },
          `scope not granted: ${notAllowed.join(' ')}`,
        );
      scopes = wanted;
    }
    await this.audit.record({
      type: 'admin.token.issue',
      actor,
      outcome: 'success',
      ...(source ? { source } : {}),
      data: { scopes },
    });
    return ok({ clientId: record.clientId, scopes });
  }

  async listSessions(options: { live?: boolean; limit?: number } = {}): Promise<SessionRecord[]> {
    return options.live
      ? this.store.sessions.listLive()
      : this.store.sessions.list(options.limit !== undefined ? { limit: options.limit } : {});
  }

  /** The relay holding the session closes it within about a second of the request. */
  async killSession(actor: string, id: string): Promise<AdminResult<{ session: SessionRecord }>> {
    const input = parseInput(SessionIdParam, { id });
    const sid = input.ok ? { sid: id } : {};
    return this.audited({ actor, type: 'admin.session.kill', data: { session: id }, ...sid }, async () => {
      if (!input.ok) return input;
      if (await this.store.sessions.requestKill(id, actor)) {
        const session = await this.store.sessions.get(id);
        if (session) return ok({ session });
      }
      const session = await this.store.sessions.get(id);
      if (!session) return fail('not_found', `no session "${id}"`);
      return fail('conflict', `session "${id}" already ended (${session.endReason ?? 'closed'})`);
    });
  }
}
