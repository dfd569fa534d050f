/** One `<remotePort>[:<localPort>]` argument of `airlock forward`. */
export interface ForwardSpec {
  remotePort: number;
  /** 0 = any free port. */
  localPort: number;
}

export class ForwardSpecError extends Error {}

function port(text: string, what: string, spec: string, allowZero: boolean): number {
  if (!/^\d{1,5}$/.test(text)) throw new ForwardSpecError(`bad forward "${spec}": ${what} "${text}" is not a number`);
  const n = Number(text);
  if (n > 65535 || n < (allowZero ? 0 : 1))
    throw new ForwardSpecError(`bad forward "${spec}": ${what} must be ${allowZero ? '0' : '1'}–65535`);
  return n;
}

/**
 * `8888` → remote 8888 on any free local port; `8888:9000` → remote 8888 on local 9000;
 * `8888:0` → any free local port. The order (remote first) matches what people type most:
 * the VM's service, optionally where to put it.
 */
export function parseForwardSpec(spec: string): ForwardSpec {
  const parts = spec.trim().split(':');
  if (parts.length > 2 || parts.some((p) => p === ''))
    throw new ForwardSpecError(`bad forward "${spec}": expected <remotePort>[:<localPort>], e.g. 8888 or 8888:9000`);
  const remotePort = port(parts[0]!, 'remote port', spec, false);
  const localPort = parts.length === 2 ? port(parts[1]!, 'local port', spec, true) : 0;
  return { remotePort, localPort };
}

export function parseForwardSpecs(specs: string[]): ForwardSpec[] {
  const parsed = specs.map(parseForwardSpec);
  const seenLocal = new Set<number>();
  for (const s of parsed) {
    if (s.localPort === 0) continue;
    if (seenLocal.has(s.localPort))
      throw new ForwardSpecError(`local port ${s.localPort} is used by more than one forward`);
    seenLocal.add(s.localPort);
  }
  return parsed;
}
