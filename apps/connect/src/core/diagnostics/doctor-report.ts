import * as z from 'zod';

// `airlock doctor`'s answer as data: what `--json` prints, what the Connect API's `doctor.run`
// returns to the desktop app's settings page, and what the support bundle carries. A stable
// interface: fields and codes are only ever added. Browser-safe (zod only): the API contract
// re-exports it for the renderer.

export const DOCTOR_REPORT_VERSION = 1;

/** Every check, in the order they run; the VM checks repeat per VM (and `forward` per port). */
export const DOCTOR_CHECKS = [
  'config',
  'key_file',
  'permissions',
  'keychain',
  'relay_dns',
  'relay_tcp',
  'relay_tls',
  'relay_pin',
  'relay_health',
  'clock',
  'login',
  'grant',
  'agent',
  'port',
  'ticket',
  'data_socket',
  'ssh',
  'host_key',
  'ssh_auth',
  'forward',
] as const;
export const DoctorCheckName = z.enum(DOCTOR_CHECKS);
export type DoctorCheckName = z.infer<typeof DoctorCheckName>;

/** Why a check failed (or warned), one code per cause; a failed check always has one. */
export const DOCTOR_CODES = [
  // config, key file, permissions, keychain
  'not_enrolled',
  'config_unreadable',
  'no_user_key',
  'user_key_unreadable',
  'user_key_unencrypted',
  'too_open',
  'keychain_unavailable',
  // the relay
  'dns_failed',
  'tcp_refused',
  'tcp_timeout',
  'tcp_unreachable',
  'tls_failed',
  'pin_mismatch',
  'not_a_relay',
  'relay_not_ready',
  'clock_skew',
  // the login
  'not_logged_in',
  'login_expired',
  'login_revoked',
  'login_refused',
  'relay_error',
  // a VM
  'no_vms',
  'no_grant',
  'grant_expired',
  'agent_offline',
  'port_not_allowed_by_vm',
  'port_not_in_grant',
  'ticket_refused',
  'ticket_rejected',
  'agent_unavailable',
  'agent_refused',
  'data_socket_failed',
  'ssh_failed',
  'protocol_error',
  'host_key_mismatch',
  'vm_not_certified',
  'auth_failed',
  // a port in the VM
  'service_not_listening',
  'service_timeout',
  'port_refused_by_agent',
  'forward_failed',
  // a check that broke (a bug in Connect)
  'internal',
] as const;
export const DoctorCode = z.enum(DOCTOR_CODES);
export type DoctorCode = z.infer<typeof DoctorCode>;

export const DoctorCheck = z.object({
  check: DoctorCheckName,
  /** `warn`: worth knowing, but Connect works (the keychain, for one); only `fail` fails the run. */
  status: z.enum(['pass', 'warn', 'fail']),
  code: DoctorCode.optional(),
  /** What was found, in one line. */
  message: z.string(),
  /** The next step, for a failed or warned check. */
  hint: z.string().optional(),
  /** The VM (and port) a VM check is about. */
  vm: z.string().optional(),
  port: z.number().int().optional(),
  /** The session the check used (ticket to host key, forwards). */
  sessionId: z.string().optional(),
  /** How long the check took. */
  durationMs: z.number().nonnegative(),
});
export type DoctorCheck = z.infer<typeof DoctorCheck>;

export const PresentedCertificateView = z.object({
  pin: z.string(),
  subject: z.string(),
  issuer: z.string(),
  validTo: z.string(),
});

export const DoctorVm = z.object({
  id: z.string(),
  granted: z.boolean().optional(),
  grantExpiresAt: z.string().optional(),
  /** What a session to it opens: the grant's ports the VM allows. */
  effectivePorts: z.array(z.number().int()).optional(),
  agentOnline: z.boolean().optional(),
  /** Since when the agent is online, or offline. */
  agentSince: z.string().optional(),
  sessionId: z.string().optional(),
  hostKey: z.string().optional(),
  /** Each port probed with a real connection through the VM's agent. */
  ports: z.array(
    z.object({ port: z.number().int(), reachable: z.boolean(), code: DoctorCode.optional(), connectMs: z.number() }),
  ),
});
export type DoctorVm = z.infer<typeof DoctorVm>;

export const DoctorReport = z.object({
  version: z.literal(DOCTOR_REPORT_VERSION),
  /** Every check passed (warnings allowed): `airlock doctor` exits 0. */
  ok: z.boolean(),
  startedAt: z.string(),
  durationMs: z.number().nonnegative(),
  /** What was asked: one VM, one port, or everything. */
  question: z.object({ vm: z.string().optional(), port: z.number().int().optional() }),
  connect: z.object({ version: z.string(), node: z.string(), platform: z.string(), home: z.string() }),
  relay: z
    .object({
      url: z.string(),
      pin: z.string(),
      addresses: z.array(z.string()).optional(),
      presented: PresentedCertificateView.optional(),
      /** The relay's clock minus this machine's, at the middle of the round trip. */
      clockSkewMs: z.number().optional(),
      ready: z.boolean().optional(),
    })
    .optional(),
  login: z
    .object({
      user: z.string(),
      state: z.enum(['valid', 'expired', 'revoked', 'refused', 'absent']),
      expiresAt: z.string().optional(),
      secondsLeft: z.number().int().optional(),
    })
    .optional(),
  vms: z.array(DoctorVm),
  checks: z.array(DoctorCheck),
  /**
   * Where a chain stopped because nothing after the failed check could mean anything: the whole
   * run (no `vm`), or one VM's checks.
   */
  stopped: z.array(z.object({ after: DoctorCheckName, vm: z.string().optional(), reason: z.string() })),
  /** Every session the doctor opened (for `airlock-relay session show` and the relay's logs). */
  sessionIds: z.array(z.string()),
});
export type DoctorReport = z.infer<typeof DoctorReport>;
