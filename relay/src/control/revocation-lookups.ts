import type { DeviceRecord, GrantRecord, RelayStore, UserRecord, VmRecord } from '../store/types.js';

/**
 * The store reads one revocation pass needs, each made once per pass: thousands of sessions of
 * a few users and VMs share their user, grant and VM rows. Lives for one pass only, so it never
 * serves an answer older than the epoch the pass was started for.
 */
export class RevocationLookups {
  private readonly users = new Map<string, Promise<UserRecord | undefined>>();
  private readonly devices = new Map<string, Promise<DeviceRecord | undefined>>();
  private readonly grants = new Map<string, Promise<GrantRecord | undefined>>();
  private readonly vms = new Map<string, Promise<VmRecord | undefined>>();

  constructor(private readonly store: RelayStore) {}

  user(name: string): Promise<UserRecord | undefined> {
    return once(this.users, name, () => this.store.users.get(name));
  }

  device(id: string): Promise<DeviceRecord | undefined> {
    return once(this.devices, id, () => this.store.devices.get(id));
  }

  grant(user: string, vm: string): Promise<GrantRecord | undefined> {
    return once(this.grants, JSON.stringify([user, vm]), () => this.store.grants.get(user, vm));
  }

  vm(id: string): Promise<VmRecord | undefined> {
    return once(this.vms, id, () => this.store.vms.get(id));
  }
}

function once<T>(cache: Map<string, Promise<T>>, key: string, load: () => Promise<T>): Promise<T> {
  let p = cache.get(key);
  if (!p) {
    p = load();
    cache.set(key, p);
  }
  return p;
}
