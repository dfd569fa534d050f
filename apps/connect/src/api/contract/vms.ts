import * as z from 'zod';
import { Port, VmId } from '@airlock/shared/schemas';

export const PortView = z.object({
  port: Port,
  /** "SSH", "RDP", "VNC", "Jupyter"…; null for a port without a well-known name. */
  name: z.string().nullable(),
  /** Speaks HTTP: the app offers "open in browser" for its forward. */
  web: z.boolean(),
});
export type PortView = z.infer<typeof PortView>;

/** What this device can say of a VM's certificates before a session (core: VmCertificate). */
export const VmCertificateView = z.discriminatedUnion('state', [
  z.object({
    state: z.literal('certified'),
    identity: z.string(),
    hostKey: z.string(),
    approver: z.string().optional(),
  }),
  z.object({ state: z.literal('not-certified'), reason: z.string(), message: z.string() }),
  z.object({ state: z.literal('unknown'), message: z.string() }),
  z.object({ state: z.literal('relay-only') }),
]);
export type VmCertificateView = z.infer<typeof VmCertificateView>;

export const VmView = z.object({
  id: VmId,
  online: z.boolean(),
  ports: z.array(PortView),
  /** When the grant ends (ISO), or null when it does not. */
  grantExpiresAt: z.string().nullable(),
  certificate: VmCertificateView,
});
export type VmView = z.infer<typeof VmView>;

/**
 * `trust`: `org-root` when this device pinned an organisation root, `relay-only` when it trusts
 * the relay alone (a `u1` enrollment) — the app shows a notice then.
 */
export const VmList = z.object({ trust: z.enum(['org-root', 'relay-only']), vms: z.array(VmView) });
export type VmList = z.infer<typeof VmList>;

/** Well-known names for ports researchers forward; `web` ports get an "open in browser" link. */
export const KNOWN_PORTS: Readonly<Record<number, { name: string; web: boolean }>> = {
  22: { name: 'SSH', web: false },
  80: { name: 'HTTP', web: true },
  443: { name: 'HTTPS', web: true },
  3000: { name: 'Web app', web: true },
  3306: { name: 'MySQL', web: false },
  3389: { name: 'RDP', web: false },
  5432: { name: 'PostgreSQL', web: false },
  5900: { name: 'VNC', web: false },
  5901: { name: 'VNC', web: false },
  6006: { name: 'TensorBoard', web: true },
  8000: { name: 'Web app', web: true },
  8080: { name: 'Web app', web: true },
  8787: { name: 'RStudio', web: true },
  8888: { name: 'Jupyter', web: true },
};

export function portView(port: number): PortView {
  const known = KNOWN_PORTS[port];
  return { port, name: known?.name ?? null, web: known?.web ?? false };
}
