import {
  CreateUserBody,
  SourceAddressParam,
  UuidParam,
  ok,
  type AdminDevice,
  type AdminUser,
  type IssuedCode,
} from '@airlock/shared';
import { canonicalAddress, sourceNetwork } from '../control/request-source.js';
import { EVERY_SOURCE, type DeviceRecord, type UserRecord, type UserStatus } from '../store/types.js';
import { fail, parseInput, type AdminResult } from './admin-core.js';
import { VmAdmin } from './vm-admin.js';

export { type AdminFailure, type AdminFailureCode, type AdminResult, type AdminServiceOptions } from './admin-core.js';
export { type ClientAuthFailure } from './client-admin.js';
export { type AgentEnrollResult } from './vm-admin.js';

export function toAdminUser(u: UserRecord, devices: number, lockedUntil?: string): AdminUser {
  return {
    name: u.name,
    status: u.status,
    createdAt: u.createdAt,
    updatedAt: u.updatedAt,
    totpConfirmed: u.totpConfirmed,
    devices,
    ...(lockedUntil ? { lockedUntil } : {}),
  };
}

export function toAdminDevice(d: DeviceRecord): AdminDevice {
  return {
    id: d.id,
    user: d.user,
    name: d.name,
    fingerprint: d.fingerprint,
    createdAt: d.createdAt,
    ...(d.lastLoginAt ? { lastLoginAt: d.lastLoginAt } : {}),
    ...(d.revokedAt ? { revokedAt: d.revokedAt } : {}),
  };
}

/**
 * Everything an admin can do, shared by the admin REST API and the `airlock-relay` CLI. Each
 * change takes the acting `actor` (`client:<id>` or `cli:<os user>`), is recorded in the audit
 * log, and returns a typed failure (exists, not_found, invalid, conflict) for a caller's mistake.
 * The methods are spread over AdminCore → ClientAdmin → VmAdmin → AdminService by topic.
 */
export class AdminService extends VmAdmin {
  async createUser(actor: string, name: string): Promise<AdminResult<{ user: AdminUser; enrollment: IssuedCode }>> {
    return this.audited(
      { actor, type: 'admin.user.create', data: { user: name } },
      async () => {
        const user = await this.insertUser(name);
        if (!user.ok) return user;
        const enrollment = await this.issueCode('user-enrollment', user.value.name);
        return ok({ user: user.value, enrollment });
      },
      (v) => ({ codeExpiresAt: v.enrollment.expiresAt }),
    );
  }

  /** A user whose enrollment code an administrator makes with the organisation root (`org request`). */
  async createUserWithoutCode(actor: string, name: string): Promise<AdminResult<{ user: AdminUser }>> {
    return this.audited(
      { actor, type: 'admin.user.create', data: { user: name, code: 'organisation root' } },
      async () => {
        const user = await this.insertUser(name);
        return user.ok ? ok({ user: user.value }) : user;
      },
    );
  }

  private async insertUser(name: string): Promise<AdminResult<AdminUser>> {
    const input = parseInput(CreateUserBody, { name });
    if (!input.ok) return input;
    return ok(toAdminUser(await this.store.users.create(input.value.name), 0));
  }

  async listUsers(): Promise<AdminUser[]> {
    const [users, devices, locks] = await Promise.all([
      this.store.users.list(),
      this.store.devices.list(),
      this.store.loginLockouts.listLocked(this.now()),
    ]);
    const count = new Map<string, number>();
    for (const d of devices) if (!d.revokedAt) count.set(d.user, (count.get(d.user) ?? 0) + 1);
    const lockedUntil = new Map(locks.map((l) => [l.user, l.lockedUntil]));
    return users.map((u) => toAdminUser(u, count.get(u.name) ?? 0, lockedUntil.get(u.name)));
  }

  async getUser(name: string): Promise<AdminResult<AdminUser>> {
    const known = await this.knownUser(name);
    if (!known.ok) return known;
    const lockedUntil = await this.store.loginLockouts.lockedUntil(name, this.now());
    return ok(toAdminUser(known.value, await this.activeDevices(name), lockedUntil?.toISOString()));
  }

  /**
   * Asks the running relay to forget a source address's lockout, failed attempts and request
   * budgets (`all`: every source's, and those that addresses beyond a full table share). Those
   * live in the relay's memory; it reads the request from the store within a second, so this
   * reaches it from the admin CLI too. An IPv6 address is released with its /64, as it is counted.
   */
  async unlockSource(
    actor: string,
    address: string,
  ): Promise<AdminResult<{ source: string; network: string; every: boolean }>> {
    return this.audited(
      { actor, type: 'admin.source.unlock', data: { source: address } },
      async () => {
        const parsed = parseInput(SourceAddressParam, { address });
        if (!parsed.ok) return parsed;
        const every = parsed.value.address === 'all';
        const typed = parsed.value.address.replace(/\/64$/, ''); // as GET /admin/sources lists an IPv6 /64
        const network = every ? EVERY_SOURCE : sourceNetwork(canonicalAddress(typed));
        await this.store.sourceReleases.request(network);
        return ok({ source: address, network, every });
      },
      ({ network }) => ({ network }),
    );
  }

  /**
   * Lifts a login lockout at once and forgets the user's recent failures. The relay reads
   * lockouts from the store on every login, so this reaches it from the admin CLI too.
   */
  async unlockUser(
    actor: string,
    name: string,
  ): Promise<AdminResult<{ user: AdminUser; wasLocked: boolean; failuresCleared: number }>> {
    return this.audited(
      { actor, type: 'admin.user.unlock', data: { user: name } },
      async () => {
        const known = await this.knownUser(name);
        if (!known.ok) return known;
        const { wasLocked, failures } = await this.store.loginLockouts.clear(name, this.now());
        const user = toAdminUser(known.value, await this.activeDevices(name));
        return ok({ user, wasLocked, failuresCleared: failures });
      },
      ({ wasLocked, failuresCleared }) => ({ wasLocked, failuresCleared }),
    );
  }

  /** A disabled user cannot log in or enroll; the relay's session guard closes their live sessions. */
  async disableUser(actor: string, name: string): Promise<AdminResult<{ user: AdminUser; liveSessions: number }>> {
    return this.audited(
      { actor, type: 'admin.user.disable', data: { user: name } },
      async () => {
        const user = await this.setStatus(name, 'disabled');
        if (!user.ok) return user;
        // An enrollment begun before the disable must not finish into a device later.
        await this.store.pendingEnrollments.deleteAllOf(name);
        const liveSessions = await this.liveSessions((s) => s.user === name);
        return ok({ user: user.value, liveSessions });
      },
      (v) => ({ liveSessions: v.liveSessions }),
    );
  }

  async enableUser(actor: string, name: string): Promise<AdminResult<{ user: AdminUser }>> {
    return this.audited({ actor, type: 'admin.user.enable', data: { user: name } }, async () => {
      const user = await this.setStatus(name, 'active');
      return user.ok ? ok({ user: user.value }) : user;
    });
  }

  /** An enrollment code for another device of the user, or to enroll again after a revoke. */
  async newEnrollmentCode(actor: string, name: string): Promise<AdminResult<{ enrollment: IssuedCode }>> {
    return this.audited(
      { actor, type: 'admin.enrollment_code.create', data: { user: name } },
      async () => {
        const known = await this.knownUser(name);
        if (!known.ok) return known;
        if (known.value.status === 'disabled')
          return fail('invalid', `user "${name}" is disabled; enable the user first`);
        return ok({ enrollment: await this.issueCode('user-enrollment', name) });
      },
      (v) => ({ codeExpiresAt: v.enrollment.expiresAt }),
    );
  }

  /** Disables the user, revokes every device and voids unused enrollment codes; the session guard closes live sessions. */
  async revokeUser(
    actor: string,
    name: string,
  ): Promise<AdminResult<{ user: AdminUser; devicesRevoked: number; codesVoided: number; liveSessions: number }>> {
    return this.audited(
      { actor, type: 'admin.user.revoke', data: { user: name } },
      async () => {
        const user = await this.setStatus(name, 'disabled');
        if (!user.ok) return user;
        const devicesRevoked = await this.store.devices.revokeAllOf(name);
        const codesVoided = await this.store.codes.revokeAllOf('user-enrollment', name);
        await this.store.pendingEnrollments.deleteAllOf(name);
        const liveSessions = await this.liveSessions((s) => s.user === name);
        return ok({ user: { ...user.value, devices: 0 }, devicesRevoked, codesVoided, liveSessions });
      },
      ({ devicesRevoked, codesVoided, liveSessions }) => ({ devicesRevoked, codesVoided, liveSessions }),
    );
  }

  async listDevices(user?: string): Promise<AdminDevice[]> {
    return (await this.store.devices.list(user !== undefined ? { user } : {})).map(toAdminDevice);
  }

  /** The device can no longer log in and the session guard closes its live sessions. Revoking twice is not an error. */
  async revokeDevice(
    actor: string,
    id: string,
  ): Promise<AdminResult<{ device: AdminDevice; changed: boolean; liveSessions: number }>> {
    return this.audited(
      { actor, type: 'admin.device.revoke', data: { device: id } },
      async () => {
        const input = parseInput(UuidParam, { id });
        if (!input.ok) return input;
        const before = await this.store.devices.get(id);
        if (!before) return fail('not_found', `no device "${id}"`);
        const changed = await this.store.devices.revoke(id);
        const liveSessions = await this.liveSessions((s) => s.device === id);
        const device = toAdminDevice((await this.store.devices.get(id)) ?? before);
        return ok({ device, changed, liveSessions });
      },
      (v) => ({ user: v.device.user, changed: v.changed, liveSessions: v.liveSessions }),
    );
  }

  private async knownUser(name: string): Promise<AdminResult<UserRecord>> {
    const input = parseInput(CreateUserBody, { name });
    if (!input.ok) return input;
    const user = await this.store.users.get(name);
    return user ? ok(user) : fail('not_found', `no user "${name}"`);
  }

  private async activeDevices(name: string): Promise<number> {
    return (await this.store.devices.list({ user: name })).filter((d) => !d.revokedAt).length;
  }

  private async setStatus(name: string, status: UserStatus): Promise<AdminResult<AdminUser>> {
    const known = await this.knownUser(name);
    if (!known.ok) return known;
    const user = await this.store.users.setStatus(name, status);
    return ok(toAdminUser(user, await this.activeDevices(name)));
  }
}
