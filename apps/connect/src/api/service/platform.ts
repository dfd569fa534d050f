import { spawn } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { err, ok, type Result } from '@airlock/shared';

/**
 * What the service needs from the operating system, behind one seam so tests can stand in for
 * another OS: which OS this is, whether a program or file exists, and starting a program that
 * outlives the request (an RDP client).
 */
export interface Platform {
  os: NodeJS.Platform;
  /** The program's path when it is on PATH (and executable), else undefined. */
  which(program: string): Promise<string | undefined>;
  exists(path: string): Promise<boolean>;
  /** Starts `argv` detached from the app; fails only if it could not be started at all. */
  launch(argv: readonly string[]): Promise<Result<void, string>>;
}

export function nodePlatform(env: NodeJS.ProcessEnv = process.env): Platform {
  const exists = (path: string) =>
    access(path, constants.F_OK).then(
      () => true,
      () => false,
    );
  return {
    os: process.platform,
    exists,
    async which(program) {
      const exts = process.platform === 'win32' ? (env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';') : [''];
      for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean))
        for (const ext of exts) {
          const candidate = join(dir, program + ext);
          const runnable = await access(candidate, constants.X_OK).then(
            () => true,
            () => false,
          );
          if (runnable) return candidate;
        }
      return undefined;
    },
    launch(argv) {
      return new Promise((resolve) => {
        const [program, ...args] = argv;
        if (!program) return resolve(err('nothing to run'));
        const child = spawn(program, args, { detached: true, stdio: 'ignore', env });
        child.once('error', (e) => resolve(err(e.message)));
        child.once('spawn', () => {
          child.unref();
          resolve(ok(undefined));
        });
      });
    },
  };
}
