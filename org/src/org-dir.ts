import { createPublicKey, type KeyObject } from 'node:crypto';
import { appendFile, chmod, mkdir, readdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import * as z from 'zod';
import { readFileIfExists, writeFileAtomic } from '@airlock/shared';
import { decryptKeyFile, encodeKeyFile, encryptKeyFile, parseKeyFile } from '@airlock/shared/key-file';
import {
  parseAnchor,
  publicKeyFingerprint,
  readCrlFile,
  type CrlClaims,
  type OrgSigner,
  type PinnedAnchor,
} from '@airlock/shared/org';
import { CliError } from './cli-error.js';
import type { PasswordSource } from './passwords.js';

/**
 * The organisation's folder on an admin workstation (default `~/.airlock-org`, 0700):
 *   anchor.json              the anchor (public; its fingerprint goes into every code)
 *   root-primary.key         the primary root, password-encrypted (0600)
 *   root-backup.key          the backup root, password-encrypted (0600): move it offline
 *   approvers/<name>.key     an approver's key (0600), and <name>.cert its root-signed certificate
 *   crl.json                 the newest revocation list, for `airlock-relay org set-crl`
 *   issued.jsonl             every credential this folder issued (kind, subject, id, expiry)
 */
export const ORG_FILES = {
  anchor: 'anchor.json',
  primary: 'root-primary.key',
  backup: 'root-backup.key',
  crl: 'crl.json',
  issued: 'issued.jsonl',
  approvers: 'approvers',
} as const;

export function defaultOrgDir(env: NodeJS.ProcessEnv): string {
  return env.AIRLOCK_ORG_DIR || join(env.HOME || homedir(), '.airlock-org');
}

export const IssuedEntry = z.object({
  at: z.string(),
  kind: z.enum(['user', 'vm']),
  sub: z.string(),
  jti: z.string(),
  expiresAt: z.string(),
  by: z.string(),
});
export type IssuedEntry = z.infer<typeof IssuedEntry>;

export class OrgDir {
  readonly path: string;

  constructor(path: string) {
    this.path = resolve(path);
  }

  file(name: string): string {
    return join(this.path, name);
  }

  async create(): Promise<void> {
    await mkdir(this.file(ORG_FILES.approvers), { recursive: true, mode: 0o700 });
    await chmod(this.path, 0o700);
  }

  async anchor(): Promise<PinnedAnchor> {
    const text = await readFileIfExists(this.file(ORG_FILES.anchor));
    if (text === undefined)
      throw new CliError(
        `no organisation in ${this.path} (no ${ORG_FILES.anchor})`,
        'create one with `airlock-org init --org <name>`, or pass --dir (AIRLOCK_ORG_DIR)',
      );
    const anchor = parseAnchor(text);
    if (!anchor.ok) throw new CliError(`${this.file(ORG_FILES.anchor)}: ${anchor.error.message}`);
    return anchor.value;
  }

  async writeKey(name: string, key: KeyObject, password: string): Promise<string> {
    const { file } = await encryptKeyFile(key, password);
    const path = this.file(name);
    await writeFileAtomic(path, encodeKeyFile(file), 0o600);
    return path;
  }

  async readKey(path: string, passwords: PasswordSource): Promise<KeyObject> {
    const text = await readFileIfExists(path);
    if (text === undefined) throw new CliError(`no key file ${path}`, 'pass the key with --key');
    const file = parseKeyFile(text);
    if (!file.ok) throw new CliError(`${path}: ${file.error.message}`);
    const opened = await decryptKeyFile(file.value, await passwords.ask(basename(path)));
    if (!opened.ok)
      throw new CliError(
        `${path}: ${opened.error.message}`,
        opened.error.code === 'wrong_password' ? 'try again' : undefined,
      );
    return opened.value.privateKey;
  }

  /**
   * Who signs: the key in `keyFile` (default the primary root). A root signs alone; any other
   * key must be an approver with its certificate (`<name>.cert`) beside it.
   */
  async signer(
    anchor: PinnedAnchor,
    keyFile: string | undefined,
    passwords: PasswordSource,
  ): Promise<OrgSigner & { name: string }> {
    const path = resolve(keyFile ?? this.file(ORG_FILES.primary));
    const key = await this.readKey(path, passwords);
    const fp = publicKeyFingerprint(createPublicKey(key));
    if (anchor.roots.some((r) => r.fingerprint === fp)) return { key, chain: [], name: `root ${fp}` };
    const certPath = path.replace(/\.key$/, '') + '.cert';
    const cert = await readFileIfExists(certPath);
    if (cert === undefined)
      throw new CliError(
        `${path} is neither a root of this organisation nor an approver with a certificate (${certPath})`,
      );
    return { key, chain: [cert.trim()], name: `approver ${basename(path, '.key')}` };
  }

  async approvers(): Promise<string[]> {
    const names = await readdir(this.file(ORG_FILES.approvers)).catch(() => []);
    return names
      .filter((n) => n.endsWith('.cert'))
      .map((n) => n.slice(0, -'.cert'.length))
      .sort();
  }

  /** The newest revocation list this folder signed (verified against the anchor). */
  async crl(anchor: PinnedAnchor): Promise<{ chain: string[]; claims: CrlClaims } | undefined> {
    const text = await readFileIfExists(this.file(ORG_FILES.crl));
    if (text === undefined) return undefined;
    const crl = await readCrlFile(anchor, text);
    if (!crl) throw new CliError(`${this.file(ORG_FILES.crl)} is not a valid revocation list of this organisation`);
    return crl;
  }

  async writeCrl(chain: string[]): Promise<string> {
    const path = this.file(ORG_FILES.crl);
    await writeFileAtomic(path, `${JSON.stringify({ chain }, null, 2)}\n`, 0o644);
    return path;
  }

  async record(entry: IssuedEntry): Promise<void> {
    await appendFile(this.file(ORG_FILES.issued), `${JSON.stringify(entry)}\n`, { mode: 0o600 });
  }

  async issued(): Promise<IssuedEntry[]> {
    const text = (await readFileIfExists(this.file(ORG_FILES.issued))) ?? '';
    return text
      .split('\n')
      .filter((l) => l.trim() !== '')
      .flatMap((l) => {
        try {
          const parsed = IssuedEntry.safeParse(JSON.parse(l));
          return parsed.success ? [parsed.data] : [];
        } catch {
          return [];
        }
      });
  }
}
