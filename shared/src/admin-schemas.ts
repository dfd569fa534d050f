import * as z from 'zod';
import { lazySchema } from './lazy-schema.js';
import { Port, SessionId, UserName, VmId } from './schemas.js';

/**
 * The admin REST API (`/api/v1/admin`) and the `airlock-relay` admin CLI share these shapes:
 * every body, query and path parameter is parsed with one of them, so bad input is refused
 * with a message naming the field before anything touches the store.
 */

/**
 * `admin` implies every other scope. Grants have scopes of their own: who may reach which VM is
 * a separate power from registering VMs (a provisioning system that adds VMs must not be able to
 * grant itself, or anyone, access to them).
 */
export const ADMIN_SCOPES = [
  'admin',
  'users.read',
  'users.write',
  'vms.read',
  'vms.write',
  'grants.read',
  'grants.write',
  'sessions.read',
  'sessions.write',
  'audit.read',
] as const;
export const AdminScope = lazySchema(() => z.enum(ADMIN_SCOPES));
export type AdminScope = z.infer<typeof AdminScope>;

/** Whether a set of granted scopes allows `needed` (`admin` allows everything). */
export function scopeAllows(granted: readonly string[], needed: AdminScope): boolean {
  return granted.includes('admin') || granted.includes(needed);
}

/** OAuth 2.0 scope strings are space-separated (RFC 6749 §3.3). */
export function parseScopeString(scope: string): string[] {
  return [...new Set(scope.split(' ').filter((s) => s.length > 0))];
}

/** `ac_` plus 16 random bytes in base64url: safe in URLs, Basic auth and logs (it is not a secret). */
export const ClientId = lazySchema(() => z.string().regex(/^ac_[A-Za-z0-9_-]{22}$/, 'must be a client id like ac_…'));
/** A 32-byte base64url secret; the length check keeps hashing cheap for junk input. */
export const ClientSecret = lazySchema(() => z.string().min(1).max(200));
/** Ports a VM or grant opens to forwarding; empty means shell and file transfer only. */
export const PortList = lazySchema(() =>
  z
    .array(Port)
    .max(64)
    .transform((ports) => [...new Set(ports)].sort((a, b) => a - b)),
);
/**
 * An ISO-8601 instant with a time zone (`2025-01-31T12:00:00Z`), in years 0000–9999 once in UTC:
 * the store compares instants as text, and one that an offset moves past 9999
 * (`9999-12-31T23:59:59-23:59`) becomes `+010000-…`, which sorts before every ordinary year.
 */
export const IsoInstant = lazySchema(() =>
  z.iso
    .datetime({
      offset: true,
      message: 'must be an ISO-8601 time such as 2025-01-31T12:00:00Z',
    })
    // Zod runs a refinement even after the format check failed: a value that is no date at all
    // is left to that check's message (toISOString would throw on it).
    .refine((value) => Number.isNaN(Date.parse(value)) || /^\d{4}-/.test(new Date(value).toISOString()), {
      message: 'must be a time in the years 0000 to 9999 (in UTC)',
    }),
);

// --- Token endpoint (RFC 6749 §4.4) ------------------------------------------------------
export const AdminTokenRequest = lazySchema(() =>
  z
    .object({
      grant_type: z.literal('client_credentials', { message: 'must be "client_credentials"' }),
      client_id: z.string().min(1).max(200).optional(),
      client_secret: ClientSecret.optional(),
      scope: z.string().max(1000).optional(),
    })
    // RFC 6749 §3.2: unknown request parameters are ignored, not refused.
    .strip(),
);
export type AdminTokenRequest = z.infer<typeof AdminTokenRequest>;
export interface AdminTokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
}

// --- Path parameters ---------------------------------------------------------------------
export const UserNameParam = lazySchema(() => z.object({ name: UserName }));
export const VmIdParam = lazySchema(() => z.object({ id: VmId }));
export const UuidParam = lazySchema(() => z.object({ id: z.string().uuid('must be a UUID') }));
export const SessionIdParam = lazySchema(() => z.object({ id: SessionId }));
export const ClientIdParam = lazySchema(() => z.object({ id: ClientId }));
/**
 * A source address as the audit log names it (a link-local IPv6 one with its zone, `fe80::1%eth0`),
 * an IPv6 /64 as `GET /admin/sources` lists it (`2001:db8:0:1::/64`), or `all` (see
 * `airlock-relay source unlock`).
 */
export const SourceAddress = lazySchema(() =>
  z
    .string()
    .max(64)
    .refine(
      (v) =>
        v === 'all' ||
        z.ipv4().safeParse(v).success ||
        z.ipv6().safeParse(v.replace(/%[\w.-]+$/, '').replace(/\/64$/, '')).success,
      { error: 'must be an IP address, as the audit log names the source, or "all"' },
    ),
);
export const SourceAddressParam = lazySchema(() => z.object({ address: SourceAddress }));

/**
 * A source address the running relay refuses now (`GET /admin/sources`): locked out after failed
 * logins or enrollments, or out of its budget of requests or of refused WebSocket upgrades.
 * `source` is the address as it is counted (an IPv6 /64), or `shared` for the count that
 * addresses beyond a full table share.
 */
export interface HeldSource {
  source: string;
  limit: 'failed-attempts' | 'requests' | 'refused-upgrades';
  retryAfterSeconds: number;
}

// --- Bodies ------------------------------------------------------------------------------
export const CreateUserBody = lazySchema(() => z.object({ name: UserName }).strict());
export const CreateVmBody = lazySchema(() => z.object({ id: VmId, ports: PortList }).strict());
export const SetVmPortsBody = lazySchema(() => z.object({ ports: PortList }).strict());
export const PutGrantBody = lazySchema(() =>
  z.object({ user: UserName, vm: VmId, ports: PortList.optional(), expiresAt: IsoInstant.optional() }).strict(),
);
export type PutGrantBody = z.infer<typeof PutGrantBody>;
export const CreateClientBody = lazySchema(() =>
  z
    .object({
      name: z.string().trim().min(1, 'must not be empty').max(100),
      scopes: z.array(AdminScope).min(1, 'must list at least one scope'),
    })
    .strict(),
);

// --- Queries -----------------------------------------------------------------------------
/** Query strings carry text only: booleans arrive as "true"/"false". */
const QueryBool = lazySchema(() =>
  z.enum(['true', 'false'], { message: 'must be true or false' }).transform((v) => v === 'true'),
);
export const DevicesQuery = lazySchema(() => z.object({ user: UserName.optional() }).strict());
export const GrantsQuery = lazySchema(() => z.object({ user: UserName.optional(), vm: VmId.optional() }).strict());
export const DeleteGrantQuery = lazySchema(() => z.object({ user: UserName, vm: VmId }).strict());
export const SessionsQuery = lazySchema(() => z.object({ live: QueryBool.optional() }).strict());
export const AuditQueryParams = lazySchema(() =>
  z
    .object({
      type: z.string().min(1).max(100).optional(),
      actor: z.string().min(1).max(200).optional(),
      sid: SessionId.optional(),
      since: IsoInstant.optional(),
      until: IsoInstant.optional(),
      after: z.coerce.number().int().min(0).optional(),
      limit: z.coerce.number().int().min(1).max(1000).default(100),
      order: z.enum(['asc', 'desc']).default('asc'),
    })
    .strict(),
);
export type AuditQueryParams = z.infer<typeof AuditQueryParams>;

// --- Responses (what the relay sends; never a secret hash) --------------------------------
export interface AdminUser {
  name: string;
  status: 'active' | 'disabled';
  createdAt: string;
  updatedAt: string;
  totpConfirmed: boolean;
  /** Devices not revoked. */
  devices: number;
  /** Present while too many failed logins lock the user out (`airlock-relay user unlock` lifts it). */
  lockedUntil?: string;
}
export interface AdminDevice {
  id: string;
  user: string;
  name: string;
  fingerprint: string;
  createdAt: string;
  lastLoginAt?: string;
  revokedAt?: string;
}
export interface AdminVm {
  id: string;
  ports: number[];
  createdAt: string;
  updatedAt: string;
  /** Agent credentials not revoked. */
  activeCredentials: number;
}
export interface AdminAgentCredential {
  id: string;
  vm: string;
  createdAt: string;
  revokedAt?: string;
}
export interface AdminGrant {
  user: string;
  vm: string;
  ports?: number[];
  expiresAt?: string;
  createdAt: string;
  /** False once expired. */
  active: boolean;
}
export interface AdminClient {
  clientId: string;
  name: string;
  scopes: string[];
  createdAt: string;
  revokedAt?: string;
}
/** A user enrollment code as handed to a person: shown once. */
export interface IssuedCode {
  code: string;
  /** The command the user runs (`airlock enroll <relay-url> <code>`). */
  command: string;
  expiresAt: string;
}
/** An agent enrollment token as handed to a VM: shown once. */
export interface IssuedAgentToken {
  token: string;
  /** The command to run on the VM (`airlock-agent enroll <relay-url> <token>`). */
  command: string;
  expiresAt: string;
}
